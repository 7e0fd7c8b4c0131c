using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using RlRig.IO;
using RlRig.SceneGraphs;
using RlRig.World;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace RlRig.Loop;

/// <summary>A trace folder cannot be read; the message names the file and what is wrong.</summary>
public sealed class LoopTraceFormatException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// Saves a <see cref="LoopTrace"/> as <c>trace.json</c> and one PNG per round (<c>round-0.png</c>, ...), and reads it back.
/// The JSON keeps what the Checker detected in each image (objects with boxes), so the reflection is rebuilt exactly
/// by <see cref="Reflection.Compare"/> (or, for an image the Checker could not read, <see cref="Reflection.Unread"/> from
/// the failure kept beside it); it is written last and atomically, so a folder with a trace.json is complete.
/// </summary>
public static class LoopTraceFile
{
    public const string FileName = "trace.json";
    const string Format = "rlrig-trace/1";

    public static string ImageName(int round) => $"round-{round}.png";

    public static JsonObject ToJson(LoopTrace trace) => new()
    {
        ["format"] = Format,
        ["prompt"] = trace.Target.ToPromptText(),
        ["seed"] = trace.Seed,
        ["best_round"] = trace.BestRound,
        ["total_nfe"] = trace.TotalNfe,
        ["rounds"] = new JsonArray(trace.Rounds.Select(r => (JsonNode)new JsonObject
        {
            ["round"] = r.Round,
            ["image"] = ImageName(r.Round),
            ["nfe"] = r.Nfe,
            ["instruction"] = r.Proposal?.Text,
            ["instruction_parsed"] = r.Proposal is null ? null : r.Proposal.Instruction is InvalidEdit bad ? $"invalid: {bad.Reason}" : r.Proposal.Instruction.ToText(),
            ["token_log_probs"] = r.Proposal?.TokenLogProbs is { } lp ? new JsonArray(lp.Select(v => (JsonNode)v).ToArray()) : null,
            ["edit_failure"] = r.EditFailure,
            ["score"] = r.Score,
            ["satisfied"] = r.Reflection.IsSatisfied,
            ["reflection"] = r.Reflection.Text,
            ["reflection_failure"] = r.Reflection.Failure is { } failure ? new JsonObject { ["reason"] = failure.Reason, ["raw_text"] = failure.RawText } : null,
            ["detected"] = new JsonArray(r.Reflection.Detected.Items.Select(i => (JsonNode)new JsonObject
            {
                ["id"] = i.Id,
                ["text"] = i.Text,
                ["box"] = new JsonArray(i.Box!.X, i.Box.Y, i.Box.Width, i.Box.Height),
            }).ToArray()),
        }).ToArray()),
    };

    /// <summary>Writes the trace into <paramref name="folder"/> (created if needed): the PNGs, then trace.json.</summary>
    public static void Save(LoopTrace trace, string folder)
    {
        Directory.CreateDirectory(folder);
        foreach (var r in trace.Rounds)
            AtomicFile.Write(Path.Combine(folder, ImageName(r.Round)), s => r.Image.SaveAsPng(s));
        AtomicFile.WriteAllText(Path.Combine(folder, FileName), ToJson(trace).ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }

    /// <summary>Reads a trace saved by <see cref="Save"/>. The caller disposes it.</summary>
    /// <exception cref="LoopTraceFormatException">A file is missing or malformed; the message names it.</exception>
    public static LoopTrace Load(string folder)
    {
        var path = Path.Combine(folder, FileName);
        JsonObject json;
        try { json = JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new LoopTraceFormatException($"{path}: not a JSON object"); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
        { throw new LoopTraceFormatException($"{path}: {e.Message}", e); }
        if (json["format"]?.GetValue<string>() != Format) throw new LoopTraceFormatException($"{path}: not an RlRig trace (format is not \"{Format}\")");
        var rounds = new List<TraceRound>();
        try
        {
            var target = SceneGraph.ParsePrompt(Get<string>(json, "prompt", path), WorldVocabulary.Prompt);
            var seed = Get<int>(json, "seed", path);
            var array = json["rounds"] as JsonArray ?? throw new LoopTraceFormatException($"{path}: \"rounds\" is missing");
            for (var index = 0; index < array.Count; index++)
            {
                var where = $"{path}: rounds[{index}]";
                var node = array[index] as JsonObject ?? throw new LoopTraceFormatException($"{where} is not an object");
                var detected = (node["detected"] as JsonArray ?? throw new LoopTraceFormatException($"{where}.detected is missing")).Select(d => Item(d, where)).ToList();
                var reflection = node["reflection_failure"] is { } failure
                    ? Reflection.Unread(target, new ReplyFailure(Get<string>(failure, "reason", where), Get<string>(failure, "raw_text", where)))
                    : Reflection.Compare(target, detected);
                var text = node["instruction"]?.GetValue<string>();
                var logProbs = (node["token_log_probs"] as JsonArray)?.Select(v => v!.GetValue<double>()).ToList();
                var image = LoadImage(folder, index, where);
                rounds.Add(new TraceRound(index, image, reflection, text is null ? null : ActorProposal.FromText(text, logProbs),
                    node["edit_failure"]?.GetValue<string>(), Get<int>(node, "nfe", where)));
            }
            if (rounds.Count == 0) throw new LoopTraceFormatException($"{path}: the trace has no rounds");
            return new LoopTrace(target, seed, rounds);
        }
        catch (Exception e) when (e is not LoopTraceFormatException)
        {
            foreach (var r in rounds) r.Image.Dispose();
            throw new LoopTraceFormatException($"{path}: {e.Message}", e);
        }
        catch
        {
            foreach (var r in rounds) r.Image.Dispose();
            throw;
        }
    }

    static T Get<T>(JsonNode node, string key, string where) =>
        node[key] is { } value ? value.GetValue<T>() : throw new LoopTraceFormatException($"{where}: \"{key}\" is missing");

    static SceneItem Item(JsonNode? node, string where)
    {
        var id = Get<int>(node!, "id", where);
        var words = Get<string>(node!, "text", where).Split(' ');
        var box = (node!["box"] as JsonArray)?.Select(v => v!.GetValue<double>()).ToArray();
        if (words.Length != 3 || box is not { Length: 4 }) throw new LoopTraceFormatException($"{where}: detected object {id} needs \"text\" (size colour shape) and \"box\" [x, y, w, h]");
        var item = new SceneItem(id, words[2], [words[0], words[1]], new Box(box[0], box[1], box[2], box[3]));
        WorldObject.From(item);  // refuses words outside the world's vocabulary
        return item;
    }

    // Only the file name the format prescribes is read, so a trace.json cannot point outside its folder.
    static Image<Rgb24> LoadImage(string folder, int round, string where)
    {
        var file = Path.Combine(folder, ImageName(round));
        try { return Image.Load<Rgb24>(file); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or UnknownImageFormatException or InvalidImageContentException)
        { throw new LoopTraceFormatException($"{where}: image {file}: {e.Message}", e); }
    }
}
