using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace RlRig.Remote.Loopback;

/// <summary>
/// The loopback server's scripted answers, in the exact wire formats: chat completions for the four JSON schemas the
/// VLM backends ask for (Checker, Actor, scene-graph judge, spatial judge) and images for generations and edits.
/// Answers are deterministic functions of the request (its prompt and a hash of its image), so a rerun gets the same
/// reply and an edited image gets a new verdict; they are NOT a model's judgement and their figures mean nothing.
/// It reads the data the shipped prompt templates put in the prompt; edited templates may leave it less to go on.
/// </summary>
public static partial class LoopbackModel
{
    public static LoopbackReply Reply(LoopbackRequest request)
    {
        if (request.Path.EndsWith("/chat/completions", StringComparison.Ordinal)) return Chat(request);
        if (request.Path.EndsWith("/images/generations", StringComparison.Ordinal)) return ImageReply(request.Body, Hash(request.Body)[0] % 2 == 0);
        if (request.Path.EndsWith("/images/edits", StringComparison.Ordinal)) return ImageReply(request.Body, false);
        return LoopbackReply.Json("{\"error\":{\"message\":\"no such route\"}}", 404);
    }

    static LoopbackReply Chat(LoopbackRequest request)
    {
        var body = JsonNode.Parse(request.Body)!.AsObject();
        var model = body["model"]?.GetValue<string>() ?? "loopback";
        var content = body["messages"]![0]!["content"];
        var text = content is JsonArray parts ? string.Concat(parts.Where(p => p?["type"]?.GetValue<string>() == "text").Select(p => p!["text"]!.GetValue<string>())) : content?.GetValue<string>() ?? "";
        var image = content is JsonArray ps ? ps.FirstOrDefault(p => p?["type"]?.GetValue<string>() == "image_url")?["image_url"]?["url"]?.GetValue<string>() ?? "" : "";
        var schema = body["response_format"]?["json_schema"]?["name"]?.GetValue<string>() ?? Guess(text);
        var seed = Hash(Encoding.UTF8.GetBytes(image));
        var answer = schema switch
        {
            VlmChecker.SchemaName => Checker(text, seed),
            VlmActor.SchemaName => Actor(text),
            SceneGraphJudge.SchemaName => SceneGraph(text, seed),
            SpatialJudge.SchemaName => Spatial(text, seed),
            _ => "{}",
        };
        var reply = new JsonObject
        {
            ["id"] = "chatcmpl-loopback", ["object"] = "chat.completion", ["created"] = 0, ["model"] = model,
            ["choices"] = new JsonArray(new JsonObject
            {
                ["index"] = 0, ["finish_reason"] = "stop",
                ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = answer },
            }),
            ["usage"] = new JsonObject { ["prompt_tokens"] = text.Length / 4 + 85, ["completion_tokens"] = answer.Length / 4, ["total_tokens"] = text.Length / 4 + 85 + answer.Length / 4 },
        };
        return LoopbackReply.Json(reply.ToJsonString());
    }

    // Without a schema name (json_object or prompt-only requests), the prompt's first words tell the role.
    static string Guess(string text) =>
        text.Contains("You are the Checker", StringComparison.Ordinal) ? VlmChecker.SchemaName
        : text.Contains("You are the Actor", StringComparison.Ordinal) ? VlmActor.SchemaName
        : text.Contains("spatial consistency", StringComparison.Ordinal) ? SpatialJudge.SchemaName
        : SceneGraphJudge.SchemaName;

    static string Checker(string prompt, byte[] seed)
    {
        var objects = ObjectLine().Matches(Section(prompt, "Objects", "Relations")).Select(m => (Id: int.Parse(m.Groups[1].Value), Words: m.Groups[2].Value.Trim().Split(' '))).ToList();
        var relations = RelationLine().Matches(Section(prompt, "Relations", "Look at")).Count;
        var found = new JsonArray(objects.Select((o, k) => (JsonNode)new JsonObject
        {
            ["id"] = k, ["label"] = o.Words[^1], ["attributes"] = new JsonArray(o.Words[..^1].Select(w => (JsonNode)w).ToArray()),
            ["box"] = new JsonArray(0.1 + 0.8 * k / Math.Max(1, objects.Count), 0.3, 0.1 + 0.8 * (k + 0.8) / Math.Max(1, objects.Count), 0.7),
            ["target_id"] = o.Id,
        }).ToArray());
        var verdicts = new JsonArray(Enumerable.Range(0, relations).Select(k => (JsonNode)new JsonObject
        {
            ["index"] = k, ["holds"] = seed[k % seed.Length] % 3 != 0, ["observed"] = "next to",
        }).ToArray());
        return new JsonObject { ["objects"] = found, ["relations"] = verdicts, ["reflection"] = "Scripted by the loopback server." }.ToJsonString();
    }

    static string Actor(string prompt)
    {
        var instruction = prompt.Contains("The image matches the prompt.", StringComparison.Ordinal) ? "done"
            : prompt.Contains("move the [size] [colour] shape", StringComparison.Ordinal) ? "done"
            : "make the scene match: " + Regex.Match(prompt, "this scene: \"(.*?)\"").Groups[1].Value;
        return new JsonObject { ["instruction"] = instruction }.ToJsonString();
    }

    static string SceneGraph(string prompt, byte[] seed)
    {
        var labels = Quoted(Regex.Match(prompt, "object names: (.*)").Groups[1].Value);
        var predicates = Quoted(Regex.Match(prompt, "relation names: (.*)").Groups[1].Value);
        var triples = new JsonArray();
        for (var k = 0; k < labels.Count && predicates.Count > 0 && labels.Count > 1; k++)
            if (seed[k % seed.Length] % 2 == 0)
                triples.Add(new JsonArray(labels[k], predicates[k % predicates.Count], labels[(k + 1) % labels.Count]));
        return new JsonObject
        {
            ["triples"] = triples,
            ["object_list"] = new JsonArray(labels.Where((_, k) => seed[(k + 7) % seed.Length] % 4 != 0).Select(l => (JsonNode)l).ToArray()),
            ["predicate_list"] = new JsonArray(predicates.Where((_, k) => seed[(k + 11) % seed.Length] % 3 != 0).Select(p => (JsonNode)p).ToArray()),
        }.ToJsonString();
    }

    static string Spatial(string prompt, byte[] seed)
    {
        var count = SpatialLine().Matches(prompt).Count;
        string[] words = ["holds", "partial", "violated", "holds"];
        return new JsonObject
        {
            ["relations"] = new JsonArray(Enumerable.Range(0, count).Select(k => (JsonNode)new JsonObject { ["index"] = k, ["verdict"] = words[seed[k % seed.Length] % 4], ["reason"] = "scripted" }).ToArray()),
            ["overall"] = "Scripted by the loopback server.",
        }.ToJsonString();
    }

    static LoopbackReply ImageReply(byte[] request, bool warm)
    {
        var h = Hash(request);
        using var image = new Image<Rgb24>(64, 64, new Rgb24(240, 240, 240));
        var colour = warm ? new Rgb24((byte)(160 + h[1] % 96), (byte)(h[2] % 96), (byte)(h[3] % 96)) : new Rgb24((byte)(h[1] % 96), (byte)(h[2] % 160), (byte)(160 + h[3] % 96));
        var (x0, y0) = (h[4] % 40, h[5] % 40);
        for (var y = y0; y < y0 + 20; y++)
            for (var x = x0; x < x0 + 20; x++) image[x, y] = colour;
        using var png = new MemoryStream();
        image.SaveAsPng(png);
        var reply = new JsonObject
        {
            ["created"] = 0,
            ["data"] = new JsonArray(new JsonObject { ["b64_json"] = Convert.ToBase64String(png.ToArray()) }),
            ["usage"] = new JsonObject { ["input_tokens"] = 50, ["output_tokens"] = 272, ["total_tokens"] = 322 },
        };
        return LoopbackReply.Json(reply.ToJsonString());
    }

    static string Section(string text, string from, string to)
    {
        var start = text.IndexOf(from, StringComparison.Ordinal);
        if (start < 0) return "";
        var end = text.IndexOf(to, start + from.Length, StringComparison.Ordinal);
        return end < 0 ? text[start..] : text[start..end];
    }

    static List<string> Quoted(string list) => Regex.Matches(list, "\"([^\"]*)\"").Select(m => m.Groups[1].Value).ToList();

    static byte[] Hash(byte[] bytes) => SHA256.HashData(bytes);

    [GeneratedRegex(@"^(\d+): ([^\n(]+)$", RegexOptions.Multiline)]
    private static partial Regex ObjectLine();

    [GeneratedRegex(@"^(\d+): .*\(id \d+\).*\(id \d+\)$", RegexOptions.Multiline)]
    private static partial Regex RelationLine();

    [GeneratedRegex(@"^\d+: the .* is .* the .*$", RegexOptions.Multiline)]
    private static partial Regex SpatialLine();
}
