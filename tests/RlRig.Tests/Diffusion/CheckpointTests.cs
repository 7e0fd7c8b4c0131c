using RlRig.Diffusion;
using Xunit;

namespace RlRig.Tests.Diffusion;

public sealed class CheckpointTests : TorchTestBase
{
    static string Saved(DiffuserConfig config)
    {
        var path = Path.Combine(TempDir(), "diffuser.ckpt");
        using var model = new TextToImageDiffuser(config);
        DiffuserCheckpoint.Save(path, model, 17);
        return path;
    }

    [Fact]
    public void RoundTripsWeightsConfigAndStep()
    {
        var path = Path.Combine(TempDir(), "diffuser.ckpt");
        using var model = new TextToImageDiffuser(TinyConfig());
        DiffuserCheckpoint.Save(path, model, 17);
        using var loaded = DiffuserCheckpoint.Load(path, TinyConfig());
        Assert.Equal(17, loaded.Step);
        Assert.Equal(TinyConfig(), loaded.Config);
        TrainerTests.AssertSameWeights(model, loaded.Model, storedAsHalf: true);
    }

    [Fact]
    public void DefaultModelCheckpointIsAFewMegabytes()
    {
        using var model = new TextToImageDiffuser(DiffuserBenchmarks.DefaultConfig());
        var path = Saved(DiffuserBenchmarks.DefaultConfig());
        // Two bytes a weight plus a small header: float16 storage.
        Assert.InRange(new FileInfo(path).Length, 2 * model.ParameterCount, 2 * model.ParameterCount + 200_000);
    }

    [Fact]
    public void CheckpointsFromBeforeTheConditioningOptionsLoadWithoutThem()
    {
        // Old files have none of these fields: each must default to what those files were trained with.
        var path = Saved(TinyConfig());
        var (header, payload) = DiffuserCheckpoint.ReadFile(path, DiffuserCheckpoint.InferenceMagic);
        foreach (var field in new[] { nameof(DiffuserConfig.MaskPadding), nameof(DiffuserConfig.TextConvWidth), nameof(DiffuserConfig.PooledText) })
            Assert.True(header["config"]!.AsObject().Remove(field), field);
        DiffuserCheckpoint.WriteFile(path, DiffuserCheckpoint.InferenceMagic, header, s => s.Write(payload));
        File.Delete(DiffuserCheckpoint.ManifestPath(path));  // it describes the file before the edit
        using var old = DiffuserCheckpoint.Load(path);
        Assert.Equal(TinyConfig(), old.Config);
        var conditioned = TinyConfig() with { MaskPadding = true, TextConvWidth = 3, PooledText = true };
        using var current = DiffuserCheckpoint.Load(Saved(conditioned));
        Assert.Equal(conditioned, current.Config);
    }

    [Fact]
    public void UnknownWeightTypeIsNamed()
    {
        var path = Saved(TinyConfig());
        // Rewritten whole (hash included), as a future version would write it; the manifest described the old file.
        var (header, payload) = DiffuserCheckpoint.ReadFile(path, DiffuserCheckpoint.InferenceMagic);
        header["weights_dtype"] = "float64";
        DiffuserCheckpoint.WriteFile(path, DiffuserCheckpoint.InferenceMagic, header, s => s.Write(payload));
        File.Delete(DiffuserCheckpoint.ManifestPath(path));
        var e = Assert.Throws<DiffuserCheckpointException>(() => DiffuserCheckpoint.Load(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("float64", e.Message);
    }

    [Fact]
    public void TruncatedFileIsNamedAsTruncated()
    {
        var path = Saved(TinyConfig());
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
        var e = Assert.Throws<DiffuserCheckpointException>(() => DiffuserCheckpoint.Load(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("truncated", e.Message);
    }

    [Fact]
    public void OtherArchitectureListsTheDifferences()
    {
        var path = Saved(TinyConfig() with { Channels = [16, 48] });
        var e = Assert.Throws<DiffuserCheckpointException>(() => DiffuserCheckpoint.Load(path, TinyConfig()));
        Assert.Contains(path, e.Message);
        Assert.Contains("architecture", e.Message);
        Assert.Contains("Channels: [16, 48] vs [16, 32]", e.Message);
    }

    [Fact]
    public void OtherVocabularyNamesTheFirstDifferentWord()
    {
        var words = SyntheticSquaresDataset.Vocabulary.Select(w => w == "yellow" ? "purple" : w).ToList();
        var path = Saved(TinyConfig(words));
        var e = Assert.Throws<DiffuserCheckpointException>(() => DiffuserCheckpoint.Load(path, TinyConfig()));
        Assert.Contains(path, e.Message);
        Assert.Contains("vocabulary", e.Message);
        Assert.Contains("\"purple\" vs \"yellow\"", e.Message);
    }

    [Fact]
    public void DamagedWeightsFailTheHashCheck()
    {
        var path = Saved(TinyConfig());
        var bytes = File.ReadAllBytes(path);
        bytes[^10] ^= 0xFF;
        File.WriteAllBytes(path, bytes);
        Assert.Contains("SHA-256", Assert.Throws<DiffuserCheckpointException>(() => DiffuserCheckpoint.Load(path)).Message);
    }

    /// <summary>Replaces the first <paramref name="from"/> in a checkpoint's bytes (read as Latin-1, so the header's bytes are edited as they are).</summary>
    internal static void EditHeaderBytes(string path, string from, string to)
    {
        var text = System.Text.Encoding.Latin1.GetString(File.ReadAllBytes(path));
        var at = text.IndexOf(from, StringComparison.Ordinal);
        Assert.True(at >= 0, $"{from} not in {path}");
        File.WriteAllBytes(path, System.Text.Encoding.Latin1.GetBytes(text[..at] + to + text[(at + from.Length)..]));
    }

    /// <summary>Rewrites a checkpoint in format 1, whose hash covers the weights only, as files written before format 2 are.</summary>
    static void WriteFormat1(string path)
    {
        var (header, payload) = DiffuserCheckpoint.ReadFile(path, DiffuserCheckpoint.InferenceMagic);
        var json = System.Text.Encoding.UTF8.GetBytes(header.ToJsonString());
        using var w = new BinaryWriter(File.Create(path));
        w.Write("RLRIGDF1"u8);
        w.Write(json.Length);
        w.Write(json);
        w.Write((long)payload.Length);
        w.Write(System.Security.Cryptography.SHA256.HashData(payload));
        w.Write(payload);
    }

    // The header says which step and which architecture the weights are: a change must not load silently.
    [Theory]
    [InlineData("\"step\":17", "\"step\":18")]
    [InlineData("\"step\":17", "\"step\":99")]
    [InlineData("\"TextDim\":32", "\"TextDim\":33")]
    public void AChangedHeaderFailsTheHashCheck(string from, string to)
    {
        var path = Saved(TinyConfig());
        File.Delete(DiffuserCheckpoint.ManifestPath(path));  // the file's own hash must catch it, manifest or not
        EditHeaderBytes(path, from, to);
        var e = Assert.Throws<DiffuserCheckpointException>(() => DiffuserCheckpoint.Load(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("SHA-256 of its header and weights", e.Message);
    }

    [Theory]
    [InlineData("\"format\"", "\"f\u00ffrmat\"")]  // a lone 0xFF byte
    [InlineData("\"step\"", "\"st\u00c3p\"")]      // a truncated two-byte sequence
    public void InvalidUtf8InTheHeaderIsRefused(string from, string to)
    {
        foreach (var format1 in new[] { false, true })
        {
            var path = Saved(TinyConfig());
            File.Delete(DiffuserCheckpoint.ManifestPath(path));
            if (format1) WriteFormat1(path);
            EditHeaderBytes(path, from, to);
            var e = Assert.Throws<DiffuserCheckpointException>(() => DiffuserCheckpoint.Load(path));
            Assert.Contains(path, e.Message);
        }
    }

    [Fact]
    public void Format1FilesStillLoadAndTheirManifestCoversTheHeader()
    {
        var path = Saved(TinyConfig());
        using (var model = DiffuserCheckpoint.Load(path)) { }
        WriteFormat1(path);
        File.Delete(DiffuserCheckpoint.ManifestPath(path));
        using (var old = DiffuserCheckpoint.Load(path)) Assert.Equal(17, old.Step);

        // With a manifest, its sha256 of the whole file is what notices a changed format 1 header.
        var manifest = DiffuserCheckpoint.ManifestPath(path);
        File.WriteAllText(manifest, $"{{\"sha256\": \"{Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(path)))}\"}}");
        using (var old = DiffuserCheckpoint.Load(path)) Assert.Equal(17, old.Step);
        EditHeaderBytes(path, "\"step\":17", "\"step\":71");
        var e = Assert.Throws<DiffuserCheckpointException>(() => DiffuserCheckpoint.Load(path));
        Assert.Contains($"checkpoint {path} does not match its manifest {manifest}", e.Message);
    }

    [Fact]
    public void TheCommittedCheckpointLoadsAndAgreesWithItsManifest()
    {
        var committed = RlRig.Tests.Support.Repo.PathOf("data", "shapes-world", "diffuser", "diffuser.ckpt");
        using (var model = DiffuserCheckpoint.Load(committed)) Assert.Equal(3400, model.Step);

        var dir = TempDir();
        var copy = Path.Combine(dir, "diffuser.ckpt");
        File.Copy(committed, copy);
        File.Copy(DiffuserCheckpoint.ManifestPath(committed), DiffuserCheckpoint.ManifestPath(copy));
        EditHeaderBytes(copy, "\"step\":3400", "\"step\":3401");
        var e = Assert.Throws<DiffuserCheckpointException>(() => DiffuserCheckpoint.Load(copy));
        Assert.Contains(DiffuserCheckpoint.ManifestPath(copy), e.Message);
        Assert.Contains("e728aa31ac2169024b916587498c3d350834c65b8008babe7c29bb5896b20e66", e.Message);
    }

    [Theory]
    [InlineData("{\"sha256\": \"0000000000000000000000000000000000000000000000000000000000000000\"}", "does not match its manifest")]
    [InlineData("{\"sha256\": 42}", "does not match its manifest")]
    [InlineData("{\"sha256\": ", "is unreadable")]
    [InlineData("[1, 2]", "is unreadable")]
    public void AManifestThatDisagreesOrCannotBeReadIsNamed(string manifestText, string message)
    {
        var path = Saved(TinyConfig());
        var manifest = DiffuserCheckpoint.ManifestPath(path);
        File.WriteAllText(manifest, manifestText);
        var e = Assert.Throws<DiffuserCheckpointException>(() => DiffuserCheckpoint.Load(path));
        Assert.Contains(manifest, e.Message);
        Assert.Contains(message, e.Message);
    }
}
