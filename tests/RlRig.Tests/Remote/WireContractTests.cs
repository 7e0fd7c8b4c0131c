using System.Text;
using System.Text.Json.Nodes;
using RlRig.Loop;
using RlRig.Remote;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace RlRig.Tests.Remote;

/// <summary>
/// Each backend's request, byte for byte where it matters, against the published API shapes: OpenAI chat completions
/// (a user message of text and image_url parts with a PNG data URI, response_format json_schema, temperature, seed,
/// a token limit) and the images API (generations as JSON, edits as multipart with image and mask, b64_json replies).
/// </summary>
public sealed class WireContractTests : IDisposable
{
    readonly RemoteRig rig = new();

    public void Dispose() => rig.Dispose();

    JsonObject LastBody() => JsonNode.Parse(rig.Server.Requests[^1].Body)!.AsObject();

    static void AssertChatShape(JsonObject body, string model, string schemaName, double temperature)
    {
        Assert.Equal(model, (string?)body["model"]);
        var message = Assert.Single(body["messages"]!.AsArray())!;
        Assert.Equal("user", (string?)message["role"]);
        var parts = message["content"]!.AsArray();
        Assert.Equal("text", (string?)parts[0]!["type"]);
        Assert.False(string.IsNullOrWhiteSpace((string?)parts[0]!["text"]));
        Assert.Equal("image_url", (string?)parts[1]!["type"]);
        var url = (string)parts[1]!["image_url"]!["url"]!;
        Assert.StartsWith("data:image/png;base64,", url);
        using (var decoded = Image.Load<Rgb24>(Convert.FromBase64String(url["data:image/png;base64,".Length..]))) Assert.True(decoded.Width > 0);
        var format = body["response_format"]!;
        Assert.Equal("json_schema", (string?)format["type"]);
        Assert.Equal(schemaName, (string?)format["json_schema"]!["name"]);
        Assert.Equal("object", (string?)format["json_schema"]!["schema"]!["type"]);
        Assert.Equal(temperature, (double)body["temperature"]!, 3);
        Assert.NotNull(body["seed"]);
        Assert.True(body["max_completion_tokens"] is not null || body["max_tokens"] is not null, body.ToJsonString());
        Assert.Null(body["stream"]);
    }

    void AssertSentToWithKey(string path)
    {
        var request = rig.Server.Requests[^1];
        Assert.Equal("POST", request.Method);
        Assert.Equal(path, request.Path);
        Assert.Equal("Bearer " + RemoteRig.Key, request.Headers["Authorization"]);
    }

    [Fact]
    public async Task Checker_posts_a_chat_completion_with_the_image_and_the_scene_and_reads_the_reply_into_a_reflection()
    {
        using var client = rig.Vlm();
        using var image = RemoteRig.Picture();
        var reflection = Assert.Single(await new VlmChecker(client).ReflectAsync([image], [RemoteRig.Scene]));

        AssertSentToWithKey("/v1/chat/completions");
        var body = LastBody();
        AssertChatShape(body, "test-vlm", VlmChecker.SchemaName, 0);
        var prompt = (string)body["messages"]![0]!["content"]![0]!["text"]!;
        Assert.Contains("stone tall tower attached to stone arched bridge; stone arched bridge above calm river", prompt);
        Assert.Contains("1: stone arched bridge", prompt);
        Assert.Null(reflection.Failure);
        Assert.Equal(3, reflection.Detected.Items.Count);
        Assert.Empty(reflection.Missing);
        Assert.Equal(2, reflection.Satisfied.Count + reflection.Violated.Count);
    }

    [Fact]
    public async Task Actor_posts_the_reflection_and_parses_the_instruction_in_either_language()
    {
        using var client = rig.Vlm();
        using var image = RemoteRig.Picture();
        var reflection = Reflection.Unread(RemoteRig.Scene, new ReplyFailure("test", "raw"));
        var proposal = Assert.Single(await new VlmActor(client, ActorLanguage.Open).ActAsync([new ActorState(RemoteRig.Scene, reflection, image)]));

        AssertSentToWithKey("/v1/chat/completions");
        AssertChatShape(LastBody(), "test-vlm", VlmActor.SchemaName, 0);
        Assert.Contains(reflection.Text, (string)LastBody()["messages"]![0]!["content"]![0]!["text"]!);
        Assert.IsType<OpenEdit>(proposal.Instruction);

        Assert.IsType<RecolourEdit>(VlmActor.Parse("recolour the small red circle blue", ActorLanguage.Shapes));
        Assert.IsType<InvalidEdit>(VlmActor.Parse("paint it blue", ActorLanguage.Shapes));
        Assert.IsType<NoEdit>(VlmActor.Parse("Done.", ActorLanguage.Open));
        Assert.IsType<InvalidEdit>(VlmActor.Parse("  ", ActorLanguage.Open));
    }

    [Fact]
    public async Task Judges_ask_with_the_ground_truth_vocabularies_at_the_fixed_temperature_and_score_with_the_LAION_SG_metrics()
    {
        using var client = rig.Vlm(VlmOptions.LaionSgJudge);
        using var image = RemoteRig.Picture();
        var judged = await new SceneGraphJudge(client).JudgeAsync(image, RemoteRig.Scene);
        AssertChatShape(LastBody(), "test-vlm", SceneGraphJudge.SchemaName, 0.7);
        var prompt = (string)LastBody()["messages"]![0]!["content"]![0]!["text"]!;
        Assert.Contains("\"tower\", \"bridge\", \"river\"", prompt);
        Assert.Contains("\"attached to\", \"above\"", prompt);
        Assert.Null(judged.Failure);

        var spatial = await new SpatialJudge(client).JudgeAsync(image, RemoteRig.Scene);
        AssertChatShape(LastBody(), "test-vlm", SpatialJudge.SchemaName, 0.7);
        Assert.Equal(2, spatial.Verdicts.Count);
        Assert.InRange(spatial.Score!.Value, 0, 1);
    }

    [Fact]
    public void Scene_graph_replies_are_restricted_to_the_vocabularies_and_scored_as_the_official_evaluation_does()
    {
        var reply = JsonNode.Parse("""
            {"triples":[["tower","attached to","bridge"],["tower","near","bridge"],["castle","above","river"],["bridge","above","river"]],
             "object_list":["tower","bridge","castle"],"predicate_list":["above"]}
            """)!.AsObject();
        var judged = SceneGraphJudge.Read(RemoteRig.Scene, reply);
        Assert.Equal(2, judged.Triples.Count);
        Assert.Equal(3, judged.Dropped);                 // two triples and one object outside the vocabularies
        Assert.Equal(1.0, judged.Scores.SgIou);          // {(tower, attached to, bridge), (bridge, above, river)} both found
        Assert.Equal(2.0 / 3, judged.Scores.EntityIou, 6); // {tower, bridge} of {tower, bridge, river}
        Assert.Equal(0.5, judged.Scores.RelationIou);
        Assert.Throws<ReplyShapeException>(() => SceneGraphJudge.Read(RemoteRig.Scene, JsonNode.Parse("""{"triples":[["a","b"]],"object_list":[],"predicate_list":[]}""")!.AsObject()));
    }

    [Fact]
    public async Task Image_generator_posts_the_generations_json_and_decodes_b64_json()
    {
        using var client = rig.Images(new ImageApiOptions { NfePerImage = 56 });
        var image = Assert.Single(await new HttpImageGenerator(client).GenerateAsync([new GenerationRequest(RemoteRig.Scene, 7)]));
        using (image.Image) Assert.Equal(64, image.Image.Width);
        Assert.Equal(56, image.Nfe);
        AssertSentToWithKey("/v1/images/generations");
        Assert.Equal("""{"model":"test-image","prompt":"stone tall tower attached to stone arched bridge; stone arched bridge above calm river","n":1,"size":"1024x1024","response_format":"b64_json"}""",
            rig.Server.Requests[^1].BodyText);
        Assert.StartsWith("application/json", rig.Server.Requests[^1].Headers["Content-Type"]);
    }

    [Fact]
    public async Task Image_editor_posts_multipart_with_image_mask_and_prompt_and_masks_only_the_object_it_changes()
    {
        using var client = rig.Images(new ImageApiOptions { ResponseFormat = null, Size = null });
        using var picture = new Image<Rgb24>(32, 32, new Rgb24(0, 0, 0));
        var target = new RlRig.SceneGraphs.SceneGraph([new RlRig.SceneGraphs.SceneItem(0, "circle", ["small", "red"])], []);
        var detected = new RlRig.SceneGraphs.SceneItem(0, "circle", ["small", "red"], new RlRig.SceneGraphs.Box(4, 6, 8, 8));
        var reflection = Reflection.Compare(target, [detected]);
        var instruction = EditLanguage.Parse("recolour the small red circle blue");
        var outcome = Assert.Single(await new HttpImageEditor(client).EditAsync([new EditRequest(picture, instruction, reflection, 3)]));
        using (outcome.Image) Assert.True(outcome.Applied, outcome.Failure);

        AssertSentToWithKey("/v1/images/edits");
        var request = rig.Server.Requests[^1];
        Assert.StartsWith("multipart/form-data; boundary=", request.Headers["Content-Type"]);
        var text = Encoding.Latin1.GetString(request.Body);
        Assert.Contains("name=\"model\"\r\n\r\ntest-image\r\n", text);
        Assert.Contains("name=\"image\"; filename=\"image.png\"", text);
        Assert.Contains("name=\"mask\"; filename=\"mask.png\"", text);
        Assert.Contains("name=\"prompt\"\r\n\r\nrecolour the small red circle blue\r\n", text);
        Assert.Contains("name=\"n\"\r\n\r\n1\r\n", text);
        Assert.DoesNotContain("response_format", text);
        Assert.DoesNotContain("name=\"size\"", text);

        using var mask = HttpImageEditor.Mask(new EditRequest(picture, instruction, reflection, 3))!;
        Assert.Equal(0, mask[8, 10].A);    // inside the circle's box: the model may paint
        Assert.Equal(255, mask[25, 25].A); // elsewhere: kept
        Assert.Null(HttpImageEditor.Mask(new EditRequest(picture, EditLanguage.Parse("move the small red circle to (0.8, 0.8)"), reflection, 3)));
    }
}
