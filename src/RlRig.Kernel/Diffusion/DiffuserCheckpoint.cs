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
/// length, SHA-256 of the payload, payload. The length and hash let a truncated or damaged file fail with a clear
/// message before any weight is read.
/// </remarks>
public sealed class DiffuserCheckpoint : IDisposable
{
    internal const string InferenceMagic = "RLRIGDF1";
    internal const string TrainingMagic = "RLRIGTS1";

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
        var json = Encoding.UTF8.GetBytes(header.ToJsonString());
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

    /// <summary>Reads and checks a file's header and payload, and the payload's hash.</summary>
    internal static (JsonObject Header, byte[] Payload) ReadFile(string path, string magic)
    {
        using var stream = OpenFile(path);
        var layout = ReadLayout(path, magic, stream);
        var payload = new byte[layout.PayloadLength];
        stream.ReadExactly(payload);
        if (!SHA256.HashData(payload).AsSpan().SequenceEqual(layout.Hash))
            throw new DiffuserCheckpointException($"checkpoint {path} is damaged: the weights' SHA-256 does not match the header");
        return (layout.Header, payload);
    }

    /// <summary>
    /// Reads and checks a file's header alone: what it says about the run, without reading (or hashing) tens of MB of
    /// weights that a caller about to load them with <see cref="ReadFile"/> would read again.
    /// </summary>
    internal static JsonObject ReadHeader(string path, string magic)
    {
        using var stream = OpenFile(path);
        return ReadLayout(path, magic, stream).Header;
    }

    static FileStream OpenFile(string path)
    {
        if (!File.Exists(path)) throw new DiffuserCheckpointException($"checkpoint {path} does not exist");
        return File.OpenRead(path);
    }

    sealed record Layout(JsonObject Header, long PayloadLength, byte[] Hash);

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
        if (found != magic)
            throw new DiffuserCheckpointException($"checkpoint {path} is not {kind} (starts with \"{Sanitize(found)}\", expected \"{magic}\")");
        var jsonLength = r.ReadInt32();
        if (jsonLength < 0 || 12L + jsonLength + 8 + 32 > length) throw Truncated($"the header needs {12L + jsonLength + 40} bytes");
        JsonObject header;
        try { header = JsonNode.Parse(Encoding.UTF8.GetString(r.ReadBytes(jsonLength)))!.AsObject(); }
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
        return new Layout(header, payloadLength, hash);
    }

    static string Sanitize(string s) => new(s.Select(c => char.IsControl(c) || c > 126 ? '?' : c).ToArray());
}
