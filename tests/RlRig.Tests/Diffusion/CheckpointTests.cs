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
        var bytes = File.ReadAllBytes(path);
        var text = System.Text.Encoding.Latin1.GetString(bytes).Replace("\"weights_dtype\":\"float16\"", "\"weights_dtype\":\"float64\"");
        File.WriteAllBytes(path, System.Text.Encoding.Latin1.GetBytes(text));
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
}
