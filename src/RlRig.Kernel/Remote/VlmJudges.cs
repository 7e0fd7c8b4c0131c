using System.Text.Json.Nodes;
using RlRig.Loop;
using RlRig.Metrics;
using RlRig.SceneGraphs;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace RlRig.Remote;

/// <summary>
/// What the scene-graph judge read in an image, restricted to the ground truth's vocabularies, and its three LAION-SG
/// scores against the ground truth. <see cref="Dropped"/> counts triples and names outside the vocabularies, which
/// are left out as the official evaluation's prompt forbids them. <see cref="Failure"/> is set (and every score 0) when
/// the reply did not parse.
/// </summary>
public sealed record JudgedSceneGraph(IReadOnlyList<LabelTriple> Triples, IReadOnlyList<string> Objects, IReadOnlyList<string> Predicates, int Dropped,
    SceneGraphScores Scores, ReplyFailure? Failure)
{
    public JsonObject ToJson() => new()
    {
        ["sg_iou"] = Scores.SgIou, ["entity_iou"] = Scores.EntityIou, ["relation_iou"] = Scores.RelationIou,
        ["triples"] = new JsonArray(Triples.Select(t => (JsonNode)new JsonArray(t.Subject, t.Predicate, t.Object)).ToArray()),
        ["object_list"] = new JsonArray(Objects.Select(o => (JsonNode)o).ToArray()),
        ["predicate_list"] = new JsonArray(Predicates.Select(p => (JsonNode)p).ToArray()),
        ["dropped_out_of_vocabulary"] = Dropped,
        ["failure"] = Failure?.Reason, ["raw_reply"] = Failure?.RawText,
    };
}

/// <summary>
/// LAION-SG's judge protocol for real images: a VLM is shown the image and the ground truth's unique item labels and
/// relation names (<c>judge-scene-graph.txt</c>) and answers with <c>triples</c>, <c>object_list</c> and
/// <c>predicate_list</c> in JSON, sampled at a fixed temperature and seed (<see cref="VlmOptions.LaionSgJudge"/>). Names
/// outside the vocabularies are dropped and counted; SG-IoU, Entity-IoU and Relation-IoU follow from
/// <see cref="SceneGraphIou"/>, the metrics <c>rlrig eval-sg</c> uses.
/// </summary>
public sealed class SceneGraphJudge(VlmClient client)
{
    public const string SchemaName = "rlrig_scene_graph";

    public const string Schema = """
        {"type":"object","properties":{
          "triples":{"type":"array","items":{"type":"array","items":{"type":"string"},"minItems":3,"maxItems":3}},
          "object_list":{"type":"array","items":{"type":"string"}},
          "predicate_list":{"type":"array","items":{"type":"string"}}},
         "required":["triples","object_list","predicate_list"]}
        """;

    static readonly string[] Placeholders = ["labels", "predicates"];

    readonly PromptTemplate template = client.Template(PromptTemplate.SceneGraphJudge, Placeholders);

    public VlmClient Client => client;

    /// <exception cref="RemoteBackendException">The server failed after every retry; a reply that does not parse is a <see cref="JudgedSceneGraph.Failure"/>.</exception>
    public async Task<JudgedSceneGraph> JudgeAsync(Image<Rgb24> image, SceneGraph truth, CancellationToken cancellationToken = default)
    {
        var labels = truth.Labels().ToList();
        var predicates = truth.Predicates().ToList();
        var prompt = template.Fill(new Dictionary<string, string>
        {
            ["labels"] = string.Join(", ", labels.Select(Quote)),
            ["predicates"] = predicates.Count == 0 ? "(none)" : string.Join(", ", predicates.Select(Quote)),
        });
        var reply = await client.AskAsync(prompt, [image], SchemaName, Schema, cancellationToken);
        if (reply.Json is null) return Failed(reply.Failure());
        try { return Read(truth, reply.Json); }
        catch (ReplyShapeException e)
        {
            client.CountUnparsed();
            return Failed(reply.Failure(e.Message));
        }
    }

    static JudgedSceneGraph Failed(ReplyFailure failure) => new([], [], [], 0, new SceneGraphScores(0, 0, 0), failure);

    /// <summary>Scores a reply against the ground truth, dropping names outside its vocabularies.</summary>
    /// <exception cref="ReplyShapeException">The JSON does not have the asked shape.</exception>
    public static JudgedSceneGraph Read(SceneGraph truth, JsonObject reply)
    {
        var labels = truth.Labels().ToHashSet(StringComparer.Ordinal);
        var predicates = truth.Predicates().ToHashSet(StringComparer.Ordinal);
        var dropped = 0;
        var triples = new List<LabelTriple>();
        foreach (var (node, k) in List(reply, "triples").Select((n, k) => (n, k)))
        {
            var parts = (node as JsonArray)?.Select(Str).ToList();
            if (parts is not { Count: 3 } || parts.Any(p => p is null)) throw new ReplyShapeException($"triples[{k}] is not three names");
            if (labels.Contains(parts[0]!) && predicates.Contains(parts[1]!) && labels.Contains(parts[2]!)) triples.Add(new LabelTriple(parts[0]!, parts[1]!, parts[2]!));
            else dropped++;
        }
        List<string> Names(string field, HashSet<string> vocabulary)
        {
            var names = List(reply, field).Select((n, k) => Str(n) ?? throw new ReplyShapeException($"{field}[{k}] is not a name")).ToList();
            dropped += names.Count(n => !vocabulary.Contains(n));
            return names.Where(vocabulary.Contains).ToList();
        }
        var objects = Names("object_list", labels);
        var predicateList = Names("predicate_list", predicates);
        var scores = new SceneGraphScores(
            SceneGraphIou.SgIou(truth.LabelTriples(), triples),
            SceneGraphIou.EntityIou(truth.Labels(), objects),
            SceneGraphIou.RelationIou(truth.Predicates(), predicateList));
        return new JudgedSceneGraph(triples, objects, predicateList, dropped, scores, null);
    }

    static JsonArray List(JsonObject o, string name) => o[name] as JsonArray ?? throw new ReplyShapeException($"\"{name}\" is missing or not a list");

    // Exact strings, as the official scorer compares them; only surrounding white space is forgiven.
    static string? Str(JsonNode? n) => n is JsonValue v && v.TryGetValue<string>(out var s) ? s.Trim() : null;

    static string Quote(string s) => "\"" + s.Replace("\"", "'") + "\"";
}

/// <summary>A relation's verdict under the spatial rubric (<c>judge-spatial.txt</c>).</summary>
public enum SpatialVerdict { Holds, Partial, Violated, Missing }

/// <summary>
/// The VLM-as-a-Judge spatial-consistency score of one image: each target relation's verdict under the rubric, and the
/// score, the mean credit (holds 1, partial 0.5, violated or missing 0); null when the scene has no relation or the
/// reply did not parse (<see cref="Failure"/>).
/// </summary>
public sealed record SpatialJudgement(IReadOnlyList<SpatialVerdict> Verdicts, double? Score, string Overall, ReplyFailure? Failure)
{
    public static double Credit(SpatialVerdict v) => v switch { SpatialVerdict.Holds => 1, SpatialVerdict.Partial => 0.5, _ => 0 };

    public JsonObject ToJson() => new()
    {
        ["score"] = Score,
        ["verdicts"] = new JsonArray(Verdicts.Select(v => (JsonNode)v.ToString().ToLowerInvariant()).ToArray()),
        ["overall"] = Overall, ["failure"] = Failure?.Reason, ["raw_reply"] = Failure?.RawText,
    };
}

/// <summary>
/// VLM-as-a-Judge for spatial consistency, RL-RIG's second measure: the judge sees the image and the target's
/// relations and gives each a verdict under the rubric in <c>judge-spatial.txt</c> (published with RlRig, README
/// "Real models over HTTP"); the score is the mean credit.
/// </summary>
public sealed class SpatialJudge(VlmClient client)
{
    public const string SchemaName = "rlrig_spatial_judgement";

    public const string Schema = """
        {"type":"object","properties":{
          "relations":{"type":"array","items":{"type":"object","properties":{
            "index":{"type":"integer"},"verdict":{"type":"string","enum":["holds","partial","violated","missing"]},"reason":{"type":"string"}},
            "required":["index","verdict"]}},
          "overall":{"type":"string"}},
         "required":["relations"]}
        """;

    static readonly string[] Placeholders = ["target_prompt", "relations"];

    readonly PromptTemplate template = client.Template(PromptTemplate.SpatialJudge, Placeholders);

    public VlmClient Client => client;

    /// <exception cref="RemoteBackendException">The server failed after every retry.</exception>
    public async Task<SpatialJudgement> JudgeAsync(Image<Rgb24> image, SceneGraph target, CancellationToken cancellationToken = default)
    {
        if (target.Relations.Count == 0) return new SpatialJudgement([], null, "the scene has no relation", null);
        var prompt = template.Fill(new Dictionary<string, string>
        {
            ["target_prompt"] = target.ToPromptText(),
            ["relations"] = string.Join("\n", target.Relations.Select((r, k) => $"{k}: the {target.Item(r.SubjectId).Text} is {r.Predicate} the {target.Item(r.ObjectId).Text}")),
        });
        var reply = await client.AskAsync(prompt, [image], SchemaName, Schema, cancellationToken);
        if (reply.Json is null) return new SpatialJudgement([], null, "", reply.Failure());
        try { return Read(target, reply.Json); }
        catch (ReplyShapeException e)
        {
            client.CountUnparsed();
            return new SpatialJudgement([], null, "", reply.Failure(e.Message));
        }
    }

    /// <exception cref="ReplyShapeException">Not one known verdict for every relation index.</exception>
    public static SpatialJudgement Read(SceneGraph target, JsonObject reply)
    {
        var list = reply["relations"] as JsonArray ?? throw new ReplyShapeException("\"relations\" is missing or not a list");
        var verdicts = new SpatialVerdict?[target.Relations.Count];
        foreach (var (node, k) in list.Select((n, k) => (n, k)))
        {
            var o = node as JsonObject ?? throw new ReplyShapeException($"relations[{k}] is not an object");
            if (o["index"] is not JsonValue iv || !iv.TryGetValue<int>(out var index) || index < 0 || index >= verdicts.Length)
                throw new ReplyShapeException($"relations[{k}].index is not a relation index (0 to {verdicts.Length - 1})");
            var word = o["verdict"] is JsonValue vv && vv.TryGetValue<string>(out var s) ? s.Trim().ToLowerInvariant() : "";
            verdicts[index] = word switch
            {
                "holds" => SpatialVerdict.Holds, "partial" => SpatialVerdict.Partial, "violated" => SpatialVerdict.Violated, "missing" => SpatialVerdict.Missing,
                _ => throw new ReplyShapeException($"relations[{k}].verdict '{IO.TerminalText.Escape(word.Length > 40 ? word[..40] : word)}' is not holds, partial, violated or missing"),
            };
        }
        if (Array.IndexOf(verdicts, null) is var gap and >= 0) throw new ReplyShapeException($"no verdict for relation {gap}");
        var all = verdicts.Select(v => v!.Value).ToList();
        var overall = reply["overall"] is JsonValue ov && ov.TryGetValue<string>(out var text) ? text : "";
        return new SpatialJudgement(all, all.Average(SpatialJudgement.Credit), overall, null);
    }
}
