using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using RlRig.IO;
using TorchSharp;
using static TorchSharp.torch;

namespace RlRig.Diffusion;

/// <summary>A checkpoint cannot be read or does not fit; the message names the file and what is wrong or differs.</summary>
public sealed class DiffuserCheckpointException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// The small inference checkpoint: configuration (vocabulary included), step, and the EMA weights stored as float16, in
/// one file written atomically, with a human-readable manifest beside it (<c>&lt;file&gt;.manifest.json</c>).
/// </summary>
/// <remarks>
/// File layout (shared with the training state): 8-byte magic, int32 header length, UTF-8 JSON header, int64 payload
/// length, SHA-256, payload. The length and hash let a truncated or damaged file fail with a clear message before any
/// weight is read. Format 2 (magic ending in 2) hashes the header's bytes and then the payload, so a changed step or
/// option is caught like a changed weight; format 1 files (the committed checkpoint among them) hashed the payload only
/// and still load, their header then covered by the manifest's sha256 of the whole file, which <see cref="Load(string)"/>
/// compares whenever a manifest is present.
/// </remarks>
public sealed class DiffuserCheckpoint : IDisposable
{
    internal const string InferenceMagic = "RLRIGDF2";
    internal const string TrainingMagic = "RLRIGTS2";

    // Format 1 differs only in what its hash covers (the remarks); its magic is format 2's with a 1 at the end.
    static string LegacyMagic(string magic) => magic[..^1] + "1";

    // Encoding.UTF8 turns invalid bytes into U+FFFD without a word: a damaged header must fail instead.
    static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    DiffuserCheckpoint(string path, DiffuserConfig config, int step, TextToImageDiffuser model)
    {
        (Path, Config, Step, Model) = (path, config, step, model);
    }

    /// <summary>The file this was read from.</summary>
    public string Path { get; }
    public DiffuserConfig Config { get; }
    /// <summary>Training steps behind the weights.</summary>
    public int Step { get; }
    /// <summary>The denoiser with the EMA weights, in eval mode.</summary>
    public TextToImageDiffuser Model { get; }

    /// <summary>A pipeline over <see cref="Model"/>.</summary>
    public DiffusionPipeline CreatePipeline() => new(Model);

    public void Dispose() => Model.Dispose();

    /// <summary>Writes <paramref name="model"/>'s weights as an inference checkpoint at <paramref name="path"/>, and its manifest.</summary>
    public static void Save(string path, TextToImageDiffuser model, int step, DiffuserTrainerOptions? options = null)
    {
        var header = new JsonObject
        {
            ["format"] = "rlrig-diffuser-inference",
            ["step"] = step,
            ["parameters"] = model.ParameterCount,
            ["weights_dtype"] = StoredDtype,
            ["config"] = JsonNode.Parse(model.Config.ToJson()),
        };
        WriteFile(path, InferenceMagic, header, payload => WriteHalfWeights(model, payload));
        var manifest = new JsonObject
        {
            ["file"] = System.IO.Path.GetFileName(path),
            ["bytes"] = new FileInfo(path).Length,
            ["sha256"] = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path))),
            ["step"] = step,
            ["parameters"] = model.ParameterCount,
            ["weights"] = $"EMA, stored as {StoredDtype}, computed in float32",
            ["written_utc"] = DateTime.UtcNow.ToString("O"),
            ["config"] = JsonNode.Parse(model.Config.ToJson()),
            ["options"] = options is null ? null : JsonNode.Parse(options.ToJson()),
        };
        AtomicFile.WriteAllText(ManifestPath(path), manifest.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

    /// <summary>The manifest written beside <paramref name="checkpointPath"/>.</summary>
    public static string ManifestPath(string checkpointPath) => checkpointPath + ".manifest.json";

    /// <summary>Reads an inference checkpoint with whatever configuration it holds. The caller disposes the result.</summary>
    /// <exception cref="DiffuserCheckpointException">Missing, truncated, damaged, or not a diffuser checkpoint.</exception>
    public static DiffuserCheckpoint Load(string path) => Load(path, expected: null);

    /// <summary>
    /// Reads an inference checkpoint and requires its configuration (architecture, noise process, vocabulary) to equal
    /// <paramref name="expected"/>. The caller disposes the result.
    /// </summary>
    /// <exception cref="DiffuserCheckpointException">As <see cref="Load(string)"/>, or the configuration differs; the message lists every difference.</exception>
    public static DiffuserCheckpoint Load(string path, DiffuserConfig? expected)
    {
        var (header, payload) = ReadFile(path, InferenceMagic);
        RequireManifestAgrees(path);
        var config = ConfigFrom(path, header);
        RequireSameConfig(path, config, expected);
        var step = header["step"]?.GetValue<int>() ?? 0;
        var dtype = header["weights_dtype"]?.GetValue<string>() ?? "float32";
        if (dtype is not ("float32" or StoredDtype))
            throw new DiffuserCheckpointException($"checkpoint {path} stores its weights as \"{Sanitize(dtype)}\"; this version reads float32 and {StoredDtype}");
        var model = new TextToImageDiffuser(config);
        try
        {
            using var reader = new BinaryReader(new MemoryStream(payload));
            // Module.load copies into the existing tensors and wants their dtype: load half into half, then widen.
            if (dtype == StoredDtype) model.half();
            LoadWeights(path, model, reader, "EMA weights");
            model.to(ScalarType.Float32);
        }
        catch { model.Dispose(); throw; }
        model.eval();
        return new DiffuserCheckpoint(System.IO.Path.GetFullPath(path), config, step, model);
    }

    /// <summary>
    /// Compares the file with the sha256 its manifest records, when there is a manifest: the only check that covers a
    /// format 1 file's header, and a check that the manifest describes this file and not an earlier one.
    /// </summary>
    /// <exception cref="DiffuserCheckpointException">The manifest is unreadable, or it and the file disagree; the message names both files.</exception>
    public static void RequireManifestAgrees(string path)
    {
        var manifestPath = ManifestPath(path);
        if (!File.Exists(manifestPath)) return;
        JsonNode? recorded;
        try { recorded = JsonNode.Parse(StrictUtf8.GetString(File.ReadAllBytes(manifestPath)))?.AsObject()["sha256"]; }
        catch (Exception e) when (e is JsonException or InvalidOperationException or DecoderFallbackException)
        {
            throw new DiffuserCheckpointException($"manifest {manifestPath} of checkpoint {path} is unreadable ({Sanitize(e.Message)}); restore it or delete it", e);
        }
        // A manifest written before the checkpoint had one (Manifest.Update on a bare file) records no hash: nothing to compare.
        if (recorded is null) return;
        var expected = recorded is JsonValue v && v.TryGetValue<string>(out var text) ? text : recorded.ToJsonString();
        string actual;
        using (var stream = File.OpenRead(path)) actual = Convert.ToHexStringLower(SHA256.HashData(stream));
        if (!string.Equals(expected, actual, StringComparison.OrdinalIgnoreCase))
            throw new DiffuserCheckpointException(
                $"checkpoint {path} does not match its manifest {manifestPath}: the manifest records sha256 {Sanitize(expected)}, the checkpoint's is {actual}; one of the two was changed or replaced");
    }

    internal static void RequireSameConfig(string path, DiffuserConfig found, DiffuserConfig? expected)
    {
        if (expected is null) return;
        var diffs = found.DifferencesFrom(expected);
        if (diffs.Count == 0) return;
        var what = diffs.Any(d => d.StartsWith(nameof(DiffuserConfig.Vocabulary), StringComparison.Ordinal))
            ? diffs.Count == 1 ? "a different vocabulary" : "a different architecture and vocabulary" : "a different architecture";
        throw new DiffuserCheckpointException(
            $"checkpoint {path} was written for {what} than expected (file vs expected):\n  {string.Join("\n  ", diffs)}");
    }

    internal static DiffuserConfig ConfigFrom(string path, JsonObject header)
    {
        // A file from before MaskPadding existed has no such field and loads with the default, false: as it was trained.
        try { return DiffuserConfig.FromJson(header["config"]!.ToJsonString()).Validate(); }
        catch (Exception e) when (e is JsonException or ArgumentException or NullReferenceException or InvalidOperationException)
        {
            throw new DiffuserCheckpointException($"checkpoint {path} has an unreadable configuration: {e.Message}", e);
        }
    }

    // float16 halves the file (the issue asks for a few MB). EMA weights need no more than fp16's 3 significant digits for
    // sampling, and the published evaluation figures are measured on the stored checkpoint, rounding included.
    const string StoredDtype = "float16";

    static void WriteHalfWeights(nn.Module module, Stream stream)
    {
        using var scope = NewDisposeScope();
        var half = module.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().to(ScalarType.Float16));
        using var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
        nn.Module.save_state_dict(writer, half, null);
    }

    internal static void LoadWeights(string path, nn.Module module, BinaryReader reader, string what)
    {
        try { module.load(reader, strict: true); }
        catch (Exception e) when (e is not DiffuserCheckpointException)
        {
            throw new DiffuserCheckpointException($"checkpoint {path}: the {what} do not fit the model its configuration describes: {e.Message}", e);
        }
    }

    /// <summary>
    /// Writes the file atomically, the payload streamed straight to disk by <paramref name="writePayload"/>: its length
    /// and hash are filled in afterwards, so the training state (tens of MB) never sits in managed buffers, whose
    /// every-checkpoint allocation showed as a sawtooth in the training run's memory.
    /// </summary>
    internal static void WriteFile(string path, string magic, JsonObject header, Action<Stream> writePayload)
    {
        var json = StrictUtf8.GetBytes(header.ToJsonString());
        AtomicFile.Write(path, stream =>
        {
            using var w = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
            w.Write(Encoding.ASCII.GetBytes(magic));
            w.Write(json.Length);
            w.Write(json);
            w.Flush();
            var lengthAt = stream.Position;
            w.Write(0L);
            w.Write(new byte[32]);
            w.Flush();
            using var payload = new HashingWriteStream(stream);
            payload.Cover(json);
            writePayload(payload);
            payload.Flush();
            var end = stream.Position;
            stream.Position = lengthAt;
            w.Write(payload.BytesWritten);
            w.Write(payload.Hash());
            w.Flush();
            stream.Position = end;
        });
    }

    /// <summary>Reads and checks a file's header and payload, and the hash over both (format 1: over the payload).</summary>
    internal static (JsonObject Header, byte[] Payload) ReadFile(string path, string magic)
    {
        using var stream = OpenFile(path);
        var layout = ReadLayout(path, magic, stream);
        var payload = new byte[layout.PayloadLength];
        stream.ReadExactly(payload);
        using var sha = layout.StartHash();
        sha.AppendData(payload);
        layout.RequireHash(path, sha);
        return (layout.Header, payload);
    }

    /// <summary>
    /// Reads and checks a file's header alone, without holding tens of MB of weights: what it says about the run. The
    /// hash is still checked (streamed), because a run resumed or described from a changed header goes wrong silently.
    /// </summary>
    internal static JsonObject ReadHeader(string path, string magic)
    {
        using var stream = OpenFile(path);
        var layout = ReadLayout(path, magic, stream);
        using var sha = layout.StartHash();
        var buffer = new byte[1 << 20];
        for (var left = layout.PayloadLength; left > 0;)
        {
            var n = stream.Read(buffer, 0, (int)Math.Min(buffer.Length, left));
            if (n == 0) break;
            sha.AppendData(buffer, 0, n);
            left -= n;
        }
        layout.RequireHash(path, sha);
        return layout.Header;
    }

    static FileStream OpenFile(string path)
    {
        if (!File.Exists(path)) throw new DiffuserCheckpointException($"checkpoint {path} does not exist");
        return File.OpenRead(path);
    }

    sealed record Layout(JsonObject Header, byte[] HeaderBytes, bool HeaderCovered, long PayloadLength, byte[] Hash)
    {
        /// <summary>A hash that has taken in what precedes the payload in the hashed sequence.</summary>
        public IncrementalHash StartHash()
        {
            var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            if (HeaderCovered) sha.AppendData(HeaderBytes);
            return sha;
        }

        public void RequireHash(string path, IncrementalHash sha)
        {
            if (sha.GetCurrentHash().AsSpan().SequenceEqual(Hash)) return;
            throw new DiffuserCheckpointException(HeaderCovered
                ? $"checkpoint {path} is damaged: the SHA-256 of its header and weights does not match the one stored in it"
                : $"checkpoint {path} is damaged: the weights' SHA-256 does not match the header");
        }
    }

    // Leaves the stream at the payload's first byte.
    static Layout ReadLayout(string path, string magic, FileStream stream)
    {
        var length = stream.Length;
        var kind = magic == InferenceMagic ? "an inference checkpoint" : "a training state";
        DiffuserCheckpointException Truncated(string detail) =>
            new($"checkpoint {path} is truncated ({length} bytes): {detail}; the write was interrupted or the copy is incomplete");
        if (length < 12) throw Truncated("shorter than the header");
        using var r = new BinaryReader(stream, Encoding.UTF8, leaveOpen: true);
        var found = Encoding.ASCII.GetString(r.ReadBytes(8));
        if (found != magic && found != LegacyMagic(magic))
            throw new DiffuserCheckpointException($"checkpoint {path} is not {kind} (starts with \"{Sanitize(found)}\", expected \"{magic}\")");
        var jsonLength = r.ReadInt32();
        if (jsonLength < 0 || 12L + jsonLength + 8 + 32 > length) throw Truncated($"the header needs {12L + jsonLength + 40} bytes");
        JsonObject header;
        var headerBytes = r.ReadBytes(jsonLength);
        try { header = JsonNode.Parse(StrictUtf8.GetString(headerBytes))!.AsObject(); }
        catch (Exception e) when (e is JsonException or InvalidOperationException or NullReferenceException or DecoderFallbackException)
        {
            throw new DiffuserCheckpointException($"checkpoint {path} has a damaged header: {e.Message}", e);
        }
        var payloadLength = r.ReadInt64();
        var hash = r.ReadBytes(32);
        var start = 12L + jsonLength + 40;
        if (payloadLength < 0 || start + payloadLength > length)
            throw Truncated($"the header promises {payloadLength} bytes of weights, only {length - start} are there");
        if (start + payloadLength != length)
            throw new DiffuserCheckpointException($"checkpoint {path} has {length - start - payloadLength} unexpected bytes after its weights");
        if (payloadLength > Array.MaxLength)
            throw new DiffuserCheckpointException($"checkpoint {path} promises {payloadLength} bytes of weights, more than this reader can hold");
        return new Layout(header, headerBytes, found == magic, payloadLength, hash);
    }

    static string Sanitize(string s) => TerminalText.Escape(s);
}
