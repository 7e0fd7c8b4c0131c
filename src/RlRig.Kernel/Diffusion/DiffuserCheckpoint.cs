using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using RlRig.IO;
using TorchSharp;
using static TorchSharp.torch;

namespace RlRig.Diffusion;

/// <summary>A checkpoint cannot be read or does not fit; the message names the file and what is wrong or differs.</summary>
public sealed class DiffuserCheckpointException(string message, Exception? inner = null) : CheckpointException(message, inner);

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
        CheckpointFile.WriteManifest(path, step, model.ParameterCount, $"EMA, stored as {StoredDtype}, computed in float32",
            JsonNode.Parse(model.Config.ToJson())!, options is null ? null : JsonNode.Parse(options.ToJson()));
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
    public static void RequireManifestAgrees(string path) => CheckpointFile.RequireManifestAgrees(path, ManifestPath(path), Error);

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

    static void WriteHalfWeights(nn.Module module, Stream stream) => CheckpointFile.WriteHalfWeights(module, stream);

    internal static void LoadWeights(string path, nn.Module module, BinaryReader reader, string what) =>
        CheckpointFile.LoadWeights(path, module, reader, what, Error);

    // The diffuser's files share the project's checkpoint format (CheckpointFile); their errors keep their own type.
    static DiffuserCheckpointException Error(string message, Exception? inner) => new(message, inner);

    static string Kind(string magic) => magic == InferenceMagic ? "an inference checkpoint" : "a training state";

    /// <summary>Writes the file atomically (<see cref="CheckpointFile.Write"/>).</summary>
    internal static void WriteFile(string path, string magic, JsonObject header, Action<Stream> writePayload) =>
        CheckpointFile.Write(path, magic, header, writePayload);

    /// <summary>Reads and checks a file's header and payload, and the payload's hash.</summary>
    internal static (JsonObject Header, byte[] Payload) ReadFile(string path, string magic) => CheckpointFile.Read(path, magic, Kind(magic), Error);

    /// <summary>Reads and checks a file's header alone (<see cref="CheckpointFile.ReadHeader"/>).</summary>
    internal static JsonObject ReadHeader(string path, string magic) => CheckpointFile.ReadHeader(path, magic, Kind(magic), Error);

    static string Sanitize(string s) => CheckpointFile.Sanitize(s);
}
