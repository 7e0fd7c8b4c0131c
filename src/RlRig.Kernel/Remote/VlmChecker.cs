using System.Text.Json.Nodes;
using RlRig.Loop;
using RlRig.SceneGraphs;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace RlRig.Remote;

/// <summary>
/// The Checker as a VLM: it is shown the image and the target scene graph (<c>checker.txt</c>) and answers in JSON with
/// the objects it sees (label, attributes, box, which target object each is) and whether each target relation holds.
/// That answer becomes the same <see cref="Reflection"/> the shapes world's Checker writes. A reply that does not parse
/// or has the wrong shape is counted and becomes a reflection that detects nothing, with <see cref="Reflection.Failure"/>
/// holding the reason and the raw reply: never an exception.
/// </summary>
public sealed class VlmChecker(VlmClient client) : IChecker
{
    public const string SchemaName = "rlrig_checker_reply";

    public const string Schema = """
        {"type":"object","properties":{
          "objects":{"type":"array","items":{"type":"object","properties":{
            "id":{"type":"integer"},"label":{"type":"string"},"attributes":{"type":"array","items":{"type":"string"}},
            "box":{"type":"array","items":{"type":"number"},"minItems":4,"maxItems":4},"target_id":{"type":["integer","null"]}},
            "required":["id","label","attributes","box","target_id"]}},
          "relations":{"type":"array","items":{"type":"object","properties":{
            "index":{"type":"integer"},"holds":{"type":"boolean"},"observed":{"type":"string"}},"required":["index","holds"]}},
          "reflection":{"type":"string"}},
         "required":["objects","relations","reflection"]}
        """;

    static readonly string[] Placeholders = ["target_prompt", "objects", "relations"];

    readonly PromptTemplate template = client.Template(PromptTemplate.Checker, Placeholders);

    public VlmClient Client => client;

    public async Task<IReadOnlyList<Reflection>> ReflectAsync(IReadOnlyList<Image<Rgb24>> images, IReadOnlyList<SceneGraph> targets, CancellationToken cancellationToken = default)
    {
        if (images.Count != targets.Count) throw new ArgumentException($"{images.Count} images but {targets.Count} targets");
        return await Task.WhenAll(images.Select((image, i) => ReflectOne(image, targets[i], cancellationToken)));
    }

    async Task<Reflection> ReflectOne(Image<Rgb24> image, SceneGraph target, CancellationToken cancellationToken)
    {
        var prompt = template.Fill(new Dictionary<string, string>
        {
            ["target_prompt"] = target.ToPromptText(),
            ["objects"] = string.Join("\n", target.Items.Select(i => $"{i.Id}: {i.Text}")),
            ["relations"] = target.Relations.Count == 0 ? "(none)" : string.Join("\n", target.Relations.Select((r, k) =>
                $"{k}: {target.Item(r.SubjectId).Text} (id {r.SubjectId}), {r.Predicate}, {target.Item(r.ObjectId).Text} (id {r.ObjectId})")),
        });
        var reply = await client.AskAsync(prompt, [image], SchemaName, Schema, cancellationToken);
        if (reply.Json is null) return Reflection.Unread(target, reply.Failure());
        try { return Read(target, reply.Json, image.Width, image.Height); }
        catch (ReplyShapeException e)
        {
            client.CountUnparsed();
            return Reflection.Unread(target, reply.Failure(e.Message));
        }
    }


    /// <summary>Builds the reflection from a reply; the reply's boxes are fractions of a <paramref name="width"/> x <paramref name="height"/> image.</summary>
    /// <exception cref="ReplyShapeException">The JSON does not have the asked shape (named field).</exception>
    public static Reflection Read(SceneGraph target, JsonObject reply, int width, int height)
    {
        var objects = Array(reply, "objects");
        var detected = new List<SceneItem>();
        var claimedBy = new Dictionary<int, int>();  // target id -> detected id
        foreach (var (node, k) in objects.Select((n, k) => (n, k)))
        {
            var o = node as JsonObject ?? throw new ReplyShapeException($"objects[{k}] is not an object");
            var id = detected.Count;  // the reply's own ids are not trusted to be unique
            var label = Text(o, "label", $"objects[{k}]");
            var attributes = (o["attributes"] as JsonArray ?? []).Select(a => a?.GetValueKind() == System.Text.Json.JsonValueKind.String ? a.GetValue<string>() : null).OfType<string>().ToList();
            var box = BoxOf(o["box"], width, height, $"objects[{k}].box");
            detected.Add(new SceneItem(id, label, attributes, box));
            if (o["target_id"] is JsonValue t && t.TryGetValue<int>(out var targetId))
            {
                if (!target.Items.Any(i => i.Id == targetId)) throw new ReplyShapeException($"objects[{k}].target_id {targetId} is not an id of the scene");
                claimedBy.TryAdd(targetId, id);  // a second claim on the same target object leaves this one extra
            }
        }
        var holds = new HashSet<int>();
        var observed = new Dictionary<int, string>();
        foreach (var (node, k) in Array(reply, "relations").Select((n, k) => (n, k)))
        {
            var r = node as JsonObject ?? throw new ReplyShapeException($"relations[{k}] is not an object");
            if (r["index"] is not JsonValue iv || !iv.TryGetValue<int>(out var index) || index < 0 || index >= target.Relations.Count)
                throw new ReplyShapeException($"relations[{k}].index is not a relation index of the scene (0 to {target.Relations.Count - 1})");
            if (r["holds"] is not JsonValue hv || !hv.TryGetValue<bool>(out var h)) throw new ReplyShapeException($"relations[{k}].holds is not true or false");
            if (h) holds.Add(index);
            if (r["observed"] is JsonValue ov && ov.TryGetValue<string>(out var seen) && !string.IsNullOrWhiteSpace(seen)) observed[index] = seen.Trim();
        }
        var words = reply["reflection"] is JsonValue w && w.TryGetValue<string>(out var s) ? s.Trim() : "";
        return Build(target, detected, claimedBy, holds, words, observed);
    }

    static Reflection Build(SceneGraph target, List<SceneItem> detectedItems, Dictionary<int, int> claimedBy, ICollection<int> holds, string words,
        IReadOnlyDictionary<int, string>? observed = null)
    {
        var (satisfied, violated, unplaceable, relations) = (new List<SceneRelation>(), new List<ViolatedRelation>(), new List<SceneRelation>(), new List<SceneRelation>());
        foreach (var (r, k) in target.Relations.Select((r, k) => (r, k)))
        {
            if (!claimedBy.TryGetValue(r.SubjectId, out var s) || !claimedBy.TryGetValue(r.ObjectId, out var o)) { unplaceable.Add(r); continue; }
            if (holds.Contains(k)) { satisfied.Add(r); relations.Add(new SceneRelation(s, r.Predicate, o)); }
            else violated.Add(new ViolatedRelation(r, observed?.GetValueOrDefault(k) is { } seen ? [seen] : []));
        }
        var detected = new SceneGraph(detectedItems, relations);
        var matches = target.Items.Select(t => new ObjectMatch(t.Id, claimedBy.TryGetValue(t.Id, out var d) ? d : null)).ToList();
        var missing = target.Items.Where(t => !claimedBy.ContainsKey(t.Id)).Select(t => t.Id).ToList();
        var claimed = claimedBy.Values.ToHashSet();
        var extra = detectedItems.Where(d => !claimed.Contains(d.Id)).Select(d => d.Id).ToList();
        var wrong = new List<AttributeError>();
        var errorsPerObject = new List<int>();
        foreach (var (targetId, detectedId) in claimedBy.OrderBy(c => c.Key))
        {
            var found = detected.Item(detectedId).Attributes;
            var absent = target.Item(targetId).Attributes.Where(a => !found.Contains(a, StringComparer.OrdinalIgnoreCase)).ToList();
            foreach (var a in absent)
                wrong.Add(new AttributeError(targetId, detectedId, "attribute", a, found.Count == 0 ? "no such attribute" : string.Join(" ", found)));
            errorsPerObject.Add(absent.Count);
        }
        var score = ReflectionScore.Compute(target, errorsPerObject, satisfied.Count, extra.Count);
        var reflection = new Reflection(target, detected, matches, satisfied, violated, unplaceable, missing, extra, wrong, score, "");
        var text = ReflectionText.Describe(reflection);
        if (words.Length > 0) text += (text.Length > 0 ? " " : "") + "The Checker adds: " + words;
        return reflection with { Text = text };
    }

    static JsonArray Array(JsonObject o, string name) => o[name] as JsonArray ?? throw new ReplyShapeException($"\"{name}\" is missing or not a list");

    static string Text(JsonObject o, string name, string where) =>
        o[name] is JsonValue v && v.TryGetValue<string>(out var s) && !string.IsNullOrWhiteSpace(s) ? s.Trim() : throw new ReplyShapeException($"{where}.{name} is missing or empty");

    // [x0, y0, x1, y1] as fractions; a box given in pixels (any value above 1) is read as pixels of this image.
    static Box BoxOf(JsonNode? node, int width, int height, string where)
    {
        var values = (node as JsonArray)?.Select(v => v is JsonValue j && j.TryGetValue<double>(out var d) && double.IsFinite(d) ? d : double.NaN).ToArray();
        if (values is not { Length: 4 } || values.Any(double.IsNaN)) throw new ReplyShapeException($"{where} is not four numbers [x0, y0, x1, y1]");
        var pixels = values.Any(v => v > 1);
        var (sx, sy) = pixels ? (1.0, 1.0) : (width, height);
        var (x0, y0, x1, y1) = (Math.Clamp(values[0] * sx, 0, width), Math.Clamp(values[1] * sy, 0, height), Math.Clamp(values[2] * sx, 0, width), Math.Clamp(values[3] * sy, 0, height));
        if (x1 < x0) (x0, x1) = (x1, x0);
        if (y1 < y0) (y0, y1) = (y1, y0);
        return new Box(x0, y0, x1 - x0, y1 - y0);
    }
}

/// <summary>A reply that is JSON but not of the asked shape; the message names the field.</summary>
public sealed class ReplyShapeException(string message) : Exception(message);
