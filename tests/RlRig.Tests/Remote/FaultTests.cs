using System.Diagnostics;
using RlRig.Loop;
using RlRig.Remote;
using RlRig.Remote.Loopback;

namespace RlRig.Tests.Remote;

/// <summary>
/// Every fault a server or network shows gives a named error or a counted failure, nothing is lost, a rerun hits the
/// cache, and the key appears nowhere: not in messages, not on disk.
/// </summary>
public sealed class FaultTests : IDisposable
{
    const string Chat = "chat/completions";
    readonly RemoteRig rig = new();

    public void Dispose() => rig.Dispose();

    async Task<Reflection> Reflect(VlmClient client, byte shade = 90)
    {
        using var image = RemoteRig.Picture(shade);
        return Assert.Single(await new VlmChecker(client).ReflectAsync([image], [RemoteRig.Scene]));
    }

    [Fact]
    public async Task A_429_with_Retry_After_is_waited_out_and_retried()
    {
        rig.Server.Inject(Chat, new LoopbackFault.Status(429, RetryAfterSeconds: 1));
        using var client = rig.Vlm();
        var clock = Stopwatch.StartNew();
        var reflection = await Reflect(client);
        Assert.Null(reflection.Failure);
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(0.95), $"retried after {clock.Elapsed.TotalSeconds:0.00} s, before Retry-After's 1 s");
        Assert.Equal(2, rig.Server.Requests.Count);
        Assert.Equal(1, client.Usage.Total.Requests);
    }

    [Fact]
    public async Task Server_errors_timeouts_truncated_and_slow_replies_are_retried_until_one_arrives_whole()
    {
        rig.Server.Inject(Chat, new LoopbackFault.Status(500));
        rig.Server.Inject(Chat, new LoopbackFault.Delay(TimeSpan.FromSeconds(3)));
        rig.Server.Inject(Chat, new LoopbackFault.Truncate());
        using var client = rig.Vlm();
        Assert.Null((await Reflect(client)).Failure);
        Assert.Equal(4, rig.Server.Requests.Count);

        // A reply that trickles in within the attempt's time is simply slow.
        rig.Server.Inject("images/generations", new LoopbackFault.SlowStream(4, TimeSpan.FromMilliseconds(50)));
        using var images = rig.Images();
        var generated = Assert.Single(await new HttpImageGenerator(images).GenerateAsync([new GenerationRequest(RemoteRig.Scene, 1)]));
        generated.Image.Dispose();
        Assert.Equal(5, rig.Server.Requests.Count);
    }

    [Fact]
    public async Task When_every_retry_fails_the_error_names_the_server_and_the_cause_and_never_the_key()
    {
        for (var i = 0; i < 4; i++) rig.Server.Inject(Chat, new LoopbackFault.Status(503));
        using var client = rig.Vlm();
        var e = await Assert.ThrowsAsync<RemoteBackendException>(() => Reflect(client));
        Assert.Contains("test-vlm at http://127.0.0.1:", e.Message);
        Assert.Contains("503", e.Message);
        Assert.Equal(4, rig.Server.Requests.Count);
        Assert.Equal(1, client.Usage.Total.Failures);

        for (var i = 0; i < 4; i++) rig.Server.Inject("images/generations", new LoopbackFault.Delay(TimeSpan.FromSeconds(3)));
        using var images = rig.Images(http: rig.Http with { AttemptTimeout = TimeSpan.FromMilliseconds(300) });
        var timeout = await Assert.ThrowsAsync<RemoteBackendException>(() => new HttpImageGenerator(images).GenerateAsync([new GenerationRequest(RemoteRig.Scene, 1)]));
        Assert.Contains("no complete reply within 0.3 s after 4 tries", timeout.Message);
        foreach (var message in new[] { e.ToString(), timeout.ToString() }) Assert.DoesNotContain(RemoteRig.Key, message);
    }

    [Fact]
    public async Task A_reply_that_is_not_json_or_has_the_wrong_schema_is_a_counted_failure_with_the_raw_text_kept()
    {
        using var client = rig.Vlm();
        rig.Server.Inject(Chat, new LoopbackFault.Body(ChatReply("I think the tower is fine.")));
        var prose = await Reflect(client);
        Assert.Equal("I think the tower is fine.", prose.Failure!.RawText);
        Assert.Contains("not JSON", prose.Failure.Reason);
        Assert.False(prose.IsSatisfied);
        Assert.Equal(0, prose.Score);

        rig.Server.Inject(Chat, new LoopbackFault.Body(ChatReply("{\"objects\": \"none\", \"relations\": []}")));
        // (Another image: the first reply is cached, as any reply that is valid JSON at the wire level is.)
        var wrongShape = await Reflect(client, shade: 91);
        Assert.Contains("\"objects\" is missing or not a list", wrongShape.Failure!.Reason);
        Assert.Equal(2, client.Usage.Total.UnparsedReplies);

        rig.Server.Inject(Chat, new LoopbackFault.Body(ChatReply("{\"answer\": 1}")));
        using var image = RemoteRig.Picture();
        var proposal = Assert.Single(await new VlmActor(client, ActorLanguage.Open).ActAsync([new ActorState(RemoteRig.Scene, prose, image)]));
        var invalid = Assert.IsType<InvalidEdit>(proposal.Instruction);
        Assert.Equal("{\"answer\": 1}", invalid.Text);
    }

    [Fact]
    public async Task A_body_that_is_not_a_chat_completion_is_a_named_error_and_is_not_cached()
    {
        rig.Server.Inject(Chat, new LoopbackFault.Body("{\"choices\": [ {\"message\": "));
        using var client = rig.Vlm();
        var e = await Assert.ThrowsAsync<RemoteBackendException>(() => Reflect(client));
        Assert.Contains("test-vlm at http://127.0.0.1:", e.Message);
        Assert.Null((await Reflect(client)).Failure);  // asked again, not served the broken body from the cache
        Assert.Equal(2, rig.Server.Requests.Count);
    }

    [Fact]
    public async Task An_image_payload_that_is_not_an_image_is_a_named_error_for_the_generator_and_a_failed_edit_for_the_editor_and_is_not_cached()
    {
        using var client = rig.Images();
        rig.Server.Inject("images/generations", new LoopbackFault.Body("{\"data\":[{\"b64_json\":\"" + Convert.ToBase64String("GIF89a-not-really"u8.ToArray()) + "\"}]}"));
        var e = await Assert.ThrowsAsync<RemoteBackendException>(() => new HttpImageGenerator(client).GenerateAsync([new GenerationRequest(RemoteRig.Scene, 1)]));
        Assert.Contains("data[0].b64_json is not an image", e.Message);
        var again = Assert.Single(await new HttpImageGenerator(client).GenerateAsync([new GenerationRequest(RemoteRig.Scene, 1)]));
        again.Image.Dispose();
        Assert.Equal(2, rig.Server.Requests.Count);

        rig.Server.Inject("images/edits", new LoopbackFault.Body("{\"data\":[{\"b64_json\":\"iVBORw0KGgoAAAANSUhEUgAAAAEAAAAB\"}]}"));  // a PNG cut short
        using var picture = RemoteRig.Picture();
        var reflection = Reflection.Unread(RemoteRig.Scene, new ReplyFailure("x", "y"));
        var outcome = Assert.Single(await new HttpImageEditor(client).EditAsync([new EditRequest(picture, new OpenEdit("move the tower left"), reflection, 1)]));
        using (outcome.Image)
        {
            Assert.False(outcome.Applied);
            Assert.Contains("is not an image", outcome.Failure);
            Assert.Equal(0, outcome.Nfe);
        }
    }

    [Fact]
    public async Task A_rerun_is_served_from_the_cache_and_the_key_never_reaches_disk()
    {
        using (var first = rig.Vlm())
        {
            await Reflect(first);
            Assert.Equal(1, first.Usage.Total.Requests);
            Assert.True(first.Usage.Total.InputTokens > 0);
            Assert.True(first.Usage.Total.Cost > 0);
        }
        using (var second = rig.Vlm())
        {
            var reflection = await Reflect(second);
            Assert.Null(reflection.Failure);
            Assert.Equal(new Usage(0, 1, 0, 0, 0, 0, 0), second.Usage.Total);
        }
        Assert.Single(rig.Server.Requests);
        Assert.DoesNotContain(RemoteRig.Key, rig.CacheText());
        Assert.DoesNotContain(RemoteRig.Key, Directory.EnumerateFiles(rig.Cache.Path, "*", SearchOption.AllDirectories).Aggregate("", (a, f) => a + f));

        // Another model or another image is another request.
        using var other = new VlmClient(rig.Endpoint("other-model"), null, rig.Http);
        await Reflect(other);
        Assert.Equal(2, rig.Server.Requests.Count);
    }

    [Fact]
    public async Task Usage_is_attributed_to_the_scope_it_was_spent_in()
    {
        using var client = rig.Vlm();
        var mine = new UsageMeter();
        using (UsageMeter.Scope(mine)) await Reflect(client);
        await new SpatialJudge(client).JudgeAsync(RemoteRig.Picture(), RemoteRig.Scene);
        Assert.Equal(1, mine.Total.Requests);
        Assert.Equal(2, client.Usage.Total.Requests);
    }

    [Fact]
    public void Settings_name_the_variable_that_is_missing_or_malformed_and_never_print_the_key()
    {
        Dictionary<string, string?> env = new() { ["RLRIG_VLM_ENDPOINT"] = "http://127.0.0.1:8000/v1", ["RLRIG_VLM_MODEL"] = "qwen2.5-vl", ["RLRIG_VLM_API_KEY"] = RemoteRig.Key };
        var vlm = RemoteSettings.Endpoint(RemoteSettings.VlmPrefix, env.GetValueOrDefault);
        Assert.Equal("http://127.0.0.1:8000/v1/", vlm.BaseUrl.AbsoluteUri);
        Assert.DoesNotContain(RemoteRig.Key, vlm.ToString());
        Assert.DoesNotContain(RemoteRig.Key, vlm.Key!.ToString());
        Assert.DoesNotContain(RemoteRig.Key, System.Text.Json.JsonSerializer.Serialize(vlm));

        var judge = RemoteSettings.Endpoint(RemoteSettings.JudgePrefix, new Dictionary<string, string?> { ["RLRIG_JUDGE_MODEL"] = "gpt-4o" }.GetValueOrDefault, fallback: vlm);
        Assert.Equal(("gpt-4o", vlm.BaseUrl), (judge.Model, judge.BaseUrl));

        Assert.Contains("RLRIG_IMAGE_ENDPOINT is not set", Assert.Throws<RemoteSettingsException>(() => RemoteSettings.Endpoint(RemoteSettings.ImagePrefix, _ => null)).Message);
        Assert.Contains("RLRIG_VLM_MODEL is not set", Assert.Throws<RemoteSettingsException>(() =>
            RemoteSettings.Endpoint(RemoteSettings.VlmPrefix, new Dictionary<string, string?> { ["RLRIG_VLM_ENDPOINT"] = "http://h/v1" }.GetValueOrDefault)).Message);
        Assert.Contains("RLRIG_VLM_ENDPOINT: 'ftp://h' is not", Assert.Throws<RemoteSettingsException>(() =>
            RemoteSettings.Endpoint(RemoteSettings.VlmPrefix, new Dictionary<string, string?> { ["RLRIG_VLM_ENDPOINT"] = "ftp://h", ["RLRIG_VLM_MODEL"] = "m" }.GetValueOrDefault)).Message);
        foreach (var url in new[] { $"http://user:{RemoteRig.Key}@h/v1", $"ftp://{RemoteRig.Key}@h/v1", $"not a url {RemoteRig.Key}@" })
        {
            var inUrl = Assert.Throws<RemoteSettingsException>(() =>
                RemoteSettings.Endpoint(RemoteSettings.VlmPrefix, new Dictionary<string, string?> { ["RLRIG_VLM_ENDPOINT"] = url, ["RLRIG_VLM_MODEL"] = "m" }.GetValueOrDefault));
            Assert.DoesNotContain(RemoteRig.Key, inUrl.Message);
        }
        Assert.Equal("/tmp/c", RemoteSettings.CacheFolder(new Dictionary<string, string?> { ["RLRIG_CACHE"] = "/tmp/c" }.GetValueOrDefault));
    }

    static string ChatReply(string content) => new System.Text.Json.Nodes.JsonObject
    {
        ["id"] = "x", ["object"] = "chat.completion", ["created"] = 0, ["model"] = "test-vlm",
        ["choices"] = new System.Text.Json.Nodes.JsonArray(new System.Text.Json.Nodes.JsonObject
        {
            ["index"] = 0, ["finish_reason"] = "stop", ["message"] = new System.Text.Json.Nodes.JsonObject { ["role"] = "assistant", ["content"] = content },
        }),
    }.ToJsonString();
}
