using System.Text;
using System.Text.Json.Nodes;
using RlRig.IO;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace RlRig.Torch;

/// <summary>
/// A run folder's full training state, as the trainers write and resume it: a <see cref="CheckpointFile"/> whose header
/// holds the format, step, configuration and options, and whose payload holds the weights, the optimizer's moments and
/// the data generator's state (for a trainer that draws its data from one), in that order; so a resumed run continues
/// bit-exactly.
/// </summary>
internal static class TrainingState
{
    /// <summary>The training state path of a run folder.</summary>
    public static string PathIn(string outputDir) => Path.Combine(outputDir, "training-state.bin");

    /// <summary>Writes the state atomically; <paramref name="extra"/> adds fields to the header.</summary>
    public static void Write(string outputDir, string magic, string format, int step, JsonNode config, JsonNode options, nn.Module model,
        OptimizerHelper optimizer, Generator? data, JsonObject? extra = null)
    {
        Directory.CreateDirectory(outputDir);
        var header = new JsonObject { ["format"] = format, ["step"] = step, ["config"] = config, ["options"] = options };
        foreach (var (key, value) in extra ?? []) header[key] = value?.DeepClone();
        CheckpointFile.Write(PathIn(outputDir), magic, header, payload =>
        {
            using var w = new BinaryWriter(payload, Encoding.UTF8, leaveOpen: true);
            model.save(w);
            optimizer.save_state_dict(w);
            if (data is null) return;
            using var state = data.get_state();
            state.Save(w);
        });
    }

    /// <summary>The path of a run folder's training state, which must exist.</summary>
    public static string Require(string outputDir, CheckpointFile.ErrorFactory error)
    {
        var path = PathIn(outputDir);
        if (!File.Exists(path))
            throw error($"nothing to resume: {path} does not exist (train without Resume first, or point OutputDir at the run folder)", null);
        return path;
    }

    /// <summary>
    /// The header's options (read by <paramref name="readOptions"/> from their JSON) and step, for a run to continue as
    /// it was started.
    /// </summary>
    public static (JsonObject Header, TOptions Options, int Step) ReadRun<TOptions>(string outputDir, string magic, string kind, CheckpointFile.ErrorFactory error,
        Func<string, TOptions> readOptions)
    {
        var path = Require(outputDir, error);
        var header = CheckpointFile.ReadHeader(path, magic, kind, error);
        try
        {
            return (header, readOptions(header["options"]!.ToJsonString()), header["step"]!.GetValue<int>());
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or NullReferenceException or InvalidOperationException or FormatException)
        {
            throw error($"checkpoint {path} has unreadable training options or step: {e.Message}", e);
        }
    }

    /// <summary>
    /// Loads a run folder's state into the model, optimizer and generator after <paramref name="checkHeader"/> has
    /// accepted its header (the architecture); returns the step, which may not exceed <paramref name="totalSteps"/>.
    /// </summary>
    public static int Load(string outputDir, string magic, string kind, CheckpointFile.ErrorFactory error, Action<string, JsonObject> checkHeader,
        nn.Module model, OptimizerHelper optimizer, Generator? data, int totalSteps)
    {
        var path = Require(outputDir, error);
        var (header, payload) = CheckpointFile.Read(path, magic, kind, error);
        checkHeader(path, header);
        using var r = new BinaryReader(new MemoryStream(payload));
        CheckpointFile.LoadWeights(path, model, r, "weights", error);
        try
        {
            optimizer.load_state_dict(r);
            if (data is not null)
            {
                using var state = TensorExtensionMethods.Load(r);
                data.set_state(state);
            }
        }
        catch (Exception e) when (e is not CheckpointException)
        {
            throw error($"checkpoint {path}: the optimizer or generator state is unreadable: {e.Message}", e);
        }
        var step = header["step"]!.GetValue<int>();
        if (step > totalSteps)
            throw error($"checkpoint {path} is at step {step}, beyond TotalSteps = {totalSteps}; raise TotalSteps to continue", null);
        return step;
    }
}
