using System.Text.Json.Nodes;
using RlRig.LaionSg;
using RlRig.Loop.Evaluation;
using RlRig.Remote;
using RlRig.Remote.Loopback;
using RlRig.Tests.Support;

namespace RlRig.Tests.Remote;

public sealed class LaionSgEvaluationTests : IDisposable
{
    readonly RemoteRig rig = new();
    readonly TempDir temp = new();
    static readonly Dictionary<string, string> Arguments = new() { ["test"] = "1" };

    public void Dispose()
    {
        rig.Dispose();
        temp.Dispose();
    }

    static List<LaionSgRecord> Records(int n) => LaionSgReader.ReadRecords(Repo.PathOf("data/laion-sg/sample.json")).Take(n).ToList();

    RemoteBackends Backends() => new(RemoteEndpoints.At(rig.Server.BaseUrl, "vlm", "judge", "image", new ApiKey(RemoteRig.Key)), rig.Http);

    [Fact]
    public async Task Without_edit_rounds_the_first_image_is_the_kept_one_and_is_judged_once()
    {
        using var backends = Backends();
        var done = SystemEvaluation.Prepare(temp.Path, Arguments);
        var run = await backends.Evaluation(new LaionSgEvaluationOptions { Rounds = 0 }).RunAsync(temp.Path, Records(2), done);
        Assert.Equal((2, 0), (run.Judged, run.Failed));
        foreach (var line in File.ReadAllLines(temp.File(SystemEvaluation.ResultsFile)).Select(l => JsonNode.Parse(l)!))
        {
            Assert.Equal(0, (int)line["rounds"]!);
            Assert.Equal(line["judge"]!.ToJsonString(), line["judge_first"]!.ToJsonString());
        }
        // Generation, Checker, and the two judges: one request each per record.
        Assert.Equal(8, rig.Server.Requests.Count);
        Assert.Equal(2, LaionSgSummary.Read(temp.Path, Arguments).Records);
    }

    [Fact]
    public async Task Cancelling_stops_the_run_and_keeps_what_finished()
    {
        using var backends = Backends();
        var done = SystemEvaluation.Prepare(temp.Path, Arguments);
        using var cancel = new CancellationTokenSource();
        rig.Server.Inject("images/generations", new LoopbackFault.Delay(TimeSpan.FromMilliseconds(300)));
        var evaluation = backends.Evaluation(new LaionSgEvaluationOptions { Rounds = 1, Concurrency = 1 });
        var progress = new Progress<LaionSgRunResult>(p => { if (p.Judged >= 1) cancel.Cancel(); });
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => evaluation.RunAsync(temp.Path, Records(6), done, progress: progress, cancellationToken: cancel.Token));
        var finished = File.ReadAllLines(temp.File(SystemEvaluation.ResultsFile)).Length;
        Assert.InRange(finished, 1, 5);
        var resumed = await evaluation.RunAsync(temp.Path, Records(6), SystemEvaluation.Prepare(temp.Path, Arguments));
        Assert.Equal(6 - finished, resumed.Judged);
    }

    [Fact]
    public void Img_ids_that_are_not_plain_names_become_hashed_file_names()
    {
        Assert.Equal("482027", LaionSgEvaluation.FileStem("482027"));
        Assert.Matches("^id-[0-9a-f]{16}$", LaionSgEvaluation.FileStem("../../etc/passwd"));
        Assert.NotEqual(LaionSgEvaluation.FileStem("a/b"), LaionSgEvaluation.FileStem("a\\b"));
    }
}
