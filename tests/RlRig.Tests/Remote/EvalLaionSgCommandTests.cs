using System.Text.Json.Nodes;
using RlRig.Remote.Loopback;
using RlRig.Tests.Support;

namespace RlRig.Tests.Remote;

/// <summary><c>rlrig eval laion-sg</c> end to end against the loopback server, as a separate process configured by environment variables.</summary>
public sealed class EvalLaionSgCommandTests : IDisposable
{
    static readonly TimeSpan Limit = TimeSpan.FromMinutes(3);
    readonly RemoteRig rig = new();
    readonly TempDir temp = new();

    public void Dispose()
    {
        rig.Dispose();
        temp.Dispose();
    }

    Dictionary<string, string> Environment(string? cache = null) => new()
    {
        ["RLRIG_VLM_ENDPOINT"] = rig.Server.BaseUrl.AbsoluteUri, ["RLRIG_VLM_MODEL"] = "loopback-vlm", ["RLRIG_VLM_API_KEY"] = RemoteRig.Key,
        ["RLRIG_JUDGE_ENDPOINT"] = "", ["RLRIG_JUDGE_MODEL"] = "loopback-judge", ["RLRIG_JUDGE_API_KEY"] = "",
        ["RLRIG_IMAGE_ENDPOINT"] = rig.Server.BaseUrl.AbsoluteUri, ["RLRIG_IMAGE_MODEL"] = "loopback-image", ["RLRIG_IMAGE_API_KEY"] = RemoteRig.Key,
        ["RLRIG_CACHE"] = cache ?? rig.Cache.Path,
    };

    ProcessResult Eval(string outFolder, Dictionary<string, string> environment, params string[] more) =>
        Processes.Rlrig(Repo.Root, Limit, environment, ["eval", "laion-sg", "--records", "data/laion-sg/sample.json", "--limit", "3", "--rounds", "2", "--out", outFolder, "--retries", "1", .. more]);

    string AllText(string folder) => string.Concat(Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories).Select(f => f + File.ReadAllText(f)));

    [Fact]
    public void Runs_the_sample_end_to_end_resumes_and_a_fresh_folder_is_served_from_the_cache()
    {
        var run = Eval(temp.File("a"), Environment());
        Assert.True(run.ExitCode == 0, run.ToString());
        var lines = File.ReadAllLines(temp.File("a/results.jsonl")).Select(l => JsonNode.Parse(l)!).ToList();
        Assert.Equal(3, lines.Count);
        foreach (var line in lines)
        {
            Assert.True(File.Exists(Path.Combine(temp.File("a"), (string)line["image"]!)));
            Assert.InRange((double)line["judge"]!["scene_graph"]!["sg_iou"]!, 0, 1);
            Assert.Equal("loopback-judge at " + rig.Server.BaseUrl.AbsoluteUri, (string?)line["judge_model"]);
            Assert.True((long)line["usage"]!["requests"]! > 0);
        }
        Assert.Contains("Records judged: **3**", File.ReadAllText(temp.File("a/summary.md")));
        Assert.Contains("<img src=\"data:image/png;base64,", File.ReadAllText(temp.File("a/report.html")));
        var run1 = JsonNode.Parse(File.ReadAllText(temp.File("a/run.json")))!;
        Assert.Equal("loopback-vlm at " + rig.Server.BaseUrl.AbsoluteUri, (string?)run1["vlm"]);
        var asked = rig.Server.Requests.Count;

        // The same command resumes: nothing to do, nothing asked.
        var again = Eval(temp.File("a"), Environment());
        Assert.True(again.ExitCode == 0, again.ToString());
        Assert.Contains("0 records judged now (3 before)", again.StdErr);
        Assert.Equal(asked, rig.Server.Requests.Count);

        // A new folder recomputes everything, from the cache.
        var cached = Eval(temp.File("b"), Environment());
        Assert.True(cached.ExitCode == 0, cached.ToString());
        Assert.Equal(asked, rig.Server.Requests.Count);
        Assert.Contains("0 requests answered by servers", File.ReadAllText(temp.File("b/summary.md")));
        Assert.Equal(File.ReadAllText(temp.File("a/summary.json")).Split("\"Usage\"")[0], File.ReadAllText(temp.File("b/summary.json")).Split("\"Usage\"")[0]);

        foreach (var text in new[] { run.ToString(), again.ToString(), cached.ToString(), AllText(temp.Path), AllText(rig.Cache.Path) })
            Assert.DoesNotContain(RemoteRig.Key, text);
        Assert.All(rig.Server.Requests, r => Assert.Equal("Bearer " + RemoteRig.Key, r.Headers["Authorization"]));
    }

    [Fact]
    public void A_record_whose_server_keeps_failing_goes_to_errors_and_is_retried_by_the_next_run()
    {
        for (var i = 0; i < 2; i++) rig.Server.Inject("images/generations", new LoopbackFault.Status(500));
        var run = Eval(temp.File("a"), Environment(), "--records-in-flight", "1");
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal(2, File.ReadAllLines(temp.File("a/results.jsonl")).Length);
        var error = JsonNode.Parse(File.ReadAllLines(temp.File("a/errors.jsonl")).Single())!;
        Assert.Contains("HTTP 500", (string)error["error"]!);
        Assert.Contains("1 records failed", run.StdErr);

        var retry = Eval(temp.File("a"), Environment(), "--records-in-flight", "1");
        Assert.True(retry.ExitCode == 0, retry.ToString());
        Assert.Equal(3, File.ReadAllLines(temp.File("a/results.jsonl")).Length);
        Assert.Contains("failed (in errors.jsonl, retried by a rerun): 0", File.ReadAllText(temp.File("a/summary.md")));
    }

    [Fact]
    public void A_server_that_keeps_failing_is_a_user_facing_error_where_a_command_cannot_set_the_record_aside()
    {
        var e = new RlRig.Remote.RemoteBackendException("VLM m at http://127.0.0.1:1/v1/: HTTP 503");
        Assert.True(RlRig.Cli.Commands.CommandErrors.IsUserFacing(e));
        var error = new StringWriter();
        Assert.Equal(2, RlRig.Cli.Commands.CommandErrors.Report("rlrig loop", e, error));
        Assert.Equal("rlrig loop: VLM m at http://127.0.0.1:1/v1/: HTTP 503", error.ToString().Trim());
    }

    [Fact]
    public void Given_images_are_judged_without_an_image_server()
    {
        var images = Directory.CreateDirectory(temp.File("images")).FullName;
        foreach (var record in RlRig.LaionSg.LaionSgReader.ReadRecords(Repo.PathOf("data/laion-sg/sample.json")).Take(2))
            using (var picture = RemoteRig.Picture((byte)record.ImgId.Length))
                SixLabors.ImageSharp.ImageExtensions.SaveAsPng(picture, Path.Combine(images, record.Name));
        var environment = Environment();
        environment["RLRIG_IMAGE_ENDPOINT"] = "";
        environment["RLRIG_IMAGE_MODEL"] = "";
        var run = Processes.Rlrig(Repo.Root, Limit, environment, "eval", "laion-sg", "--records", "data/laion-sg/sample.json", "--limit", "2", "--rounds", "0",
            "--images", images, "--out", temp.File("a"));
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal(2, File.ReadAllLines(temp.File("a/results.jsonl")).Length);
        Assert.DoesNotContain(rig.Server.Requests, r => r.Path.Contains("images"));
        Assert.Equal("loaded from --images", (string?)JsonNode.Parse(File.ReadAllText(temp.File("a/run.json")))!["first_images"]);
    }

    [Theory]
    [InlineData("--timeout must be a finite number in (0, 3600] (got NaN)", "--timeout", "NaN")]
    [InlineData("--image-size must be WIDTHxHEIGHT, auto or none (got 12)", "--image-size", "12")]
    [InlineData("rlrig eval laion-sg: --out data/laion-sg/sample.json", "--out", "data/laion-sg/sample.json")]
    public void Bad_flags_are_refused_before_any_request(string message, params string[] flags)
    {
        string[] output = flags.Contains("--out") ? [] : ["--out", temp.File("a")];
        var run = Processes.Rlrig(Repo.Root, Limit, Environment(), ["eval", "laion-sg", "--records", "data/laion-sg/sample.json", .. output, .. flags]);
        Assert.Equal(2, run.ExitCode);
        Assert.Contains(message, run.StdErr);
        Assert.DoesNotContain("   at ", run.StdErr);
        Assert.Empty(rig.Server.Requests);
    }

    [Theory]
    [InlineData("RLRIG_VLM_ENDPOINT", "", "RLRIG_VLM_ENDPOINT is not set")]
    [InlineData("RLRIG_VLM_ENDPOINT", "localhost:8000", "RLRIG_VLM_ENDPOINT: 'localhost:8000' is not an http(s) base URL")]
    [InlineData("RLRIG_IMAGE_MODEL", "", "RLRIG_IMAGE_MODEL is not set")]
    public void A_missing_or_malformed_setting_is_one_line_naming_the_variable_before_any_request(string variable, string value, string message)
    {
        var environment = Environment();
        environment[variable] = value;
        var run = Eval(temp.File("a"), environment);
        Assert.Equal(2, run.ExitCode);
        Assert.StartsWith($"rlrig eval laion-sg: {message}", run.StdErr.Trim());
        Assert.Single(run.StdErr.Trim().Split('\n'));
        Assert.Empty(rig.Server.Requests);
        Assert.False(File.Exists(temp.File("a/run.json")));
    }
}

/// <summary>Notebook 05 against a configured server (here the test's loopback server, standing in for a real one): it uses it, and the key reaches the server only.</summary>
public sealed class RealModelsNotebookTests : IDisposable
{
    readonly RemoteRig rig = new();
    readonly TempDir temp = new();

    public void Dispose()
    {
        rig.Dispose();
        temp.Dispose();
    }

    [Fact]
    public void Notebook_05_uses_the_configured_server_and_writes_the_key_nowhere()
    {
        var environment = new Dictionary<string, string>
        {
            ["RLRIG_VLM_ENDPOINT"] = rig.Server.BaseUrl.AbsoluteUri, ["RLRIG_VLM_MODEL"] = "configured-vlm", ["RLRIG_VLM_API_KEY"] = RemoteRig.Key,
            ["RLRIG_JUDGE_ENDPOINT"] = "", ["RLRIG_JUDGE_MODEL"] = "", ["RLRIG_JUDGE_API_KEY"] = "",
            ["RLRIG_IMAGE_ENDPOINT"] = rig.Server.BaseUrl.AbsoluteUri, ["RLRIG_IMAGE_MODEL"] = "configured-image", ["RLRIG_IMAGE_API_KEY"] = RemoteRig.Key,
        };
        var run = Processes.Rlrig(Repo.Root, TimeSpan.FromMinutes(5), environment, "run", "notebooks/05-real-models.ipynb", "--out", temp.Path, "--param", "quick=true");
        Assert.True(run.ExitCode == 0, run.ToString());
        var notebook = File.ReadAllText(temp.File("05-real-models.ipynb"));
        Assert.Contains("Using the configured servers", notebook);
        Assert.Contains("configured-vlm at " + rig.Server.BaseUrl.AbsoluteUri, notebook);
        Assert.Contains(rig.Server.Requests, r => r.Path == "/v1/images/edits");
        Assert.All(rig.Server.Requests, r => Assert.Equal("Bearer " + RemoteRig.Key, r.Headers["Authorization"]));
        foreach (var text in new[] { notebook, File.ReadAllText(temp.File("05-real-models.html")), run.ToString() })
            Assert.DoesNotContain(RemoteRig.Key, text);
    }
}

/// <summary><c>rlrig loop --actor vlm --editor http</c>: the shapes world's loop with the Actor and the editor behind the loopback server.</summary>
public sealed class RemoteLoopChoicesTests : IDisposable
{
    readonly RemoteRig rig = new();
    readonly TempDir temp = new();

    public void Dispose()
    {
        rig.Dispose();
        temp.Dispose();
    }

    [Fact]
    public void The_loop_runs_with_a_vlm_actor_writing_the_edit_language_and_an_http_editor()
    {
        // The scripted Actor answers in the edit language; everything else is the loopback model's.
        rig.Server.Handler = request => request.Path.EndsWith("/chat/completions") && request.BodyText.Contains(RlRig.Remote.VlmActor.SchemaName)
            ? LoopbackReply.Json(new JsonObject
            {
                ["choices"] = new JsonArray(new JsonObject { ["index"] = 0, ["finish_reason"] = "stop", ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = "{\"instruction\": \"recolour the small red circle blue\"}" } }),
                ["id"] = "x", ["object"] = "chat.completion", ["created"] = 0, ["model"] = "m",
            }.ToJsonString())
            : LoopbackModel.Reply(request);
        var environment = new Dictionary<string, string>
        {
            ["RLRIG_VLM_ENDPOINT"] = rig.Server.BaseUrl.AbsoluteUri, ["RLRIG_VLM_MODEL"] = "actor-vlm", ["RLRIG_VLM_API_KEY"] = RemoteRig.Key,
            ["RLRIG_IMAGE_ENDPOINT"] = rig.Server.BaseUrl.AbsoluteUri, ["RLRIG_IMAGE_MODEL"] = "editor", ["RLRIG_IMAGE_API_KEY"] = "", ["RLRIG_CACHE"] = rig.Cache.Path,
        };
        var run = Processes.Rlrig(Repo.Root, TimeSpan.FromMinutes(5), environment, "loop", "--prompt", "small red circle left of large blue square; large blue square above small green triangle", "--seed", "0",
            "--rounds", "1", "--actor", "vlm", "--editor", "http", "--out", temp.Path);
        Assert.True(run.ExitCode == 0, run.ToString());
        var trace = JsonNode.Parse(File.ReadAllText(temp.File("trace.json")))!;
        var rounds = trace["rounds"]!.AsArray();
        Assert.True(rounds.Count > 1, trace.ToJsonString());  // seed 0 draws an image the Checker finds wrong
        Assert.Equal("recolour the small red circle blue", (string?)rounds[1]!["instruction"]);
        Assert.Contains(rig.Server.Requests, r => r.Path == "/v1/images/edits");
        Assert.Equal(32, SixLabors.ImageSharp.Image.Identify(temp.File("round-1.png")).Width);
        Assert.DoesNotContain(RemoteRig.Key, string.Concat(Directory.EnumerateFiles(temp.Path).Select(File.ReadAllText)) + run);
    }
}
