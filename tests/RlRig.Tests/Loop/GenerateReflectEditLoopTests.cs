using System.Text.Json.Nodes;
using RlRig.Loop;
using RlRig.Loop.Actors;
using RlRig.Notebook.Rendering;
using RlRig.SceneGraphs;
using RlRig.Tests.Support;
using RlRig.World;

namespace RlRig.Tests.Loop;

public class GenerateReflectEditLoopTests
{
    static readonly SceneGraph Target = SceneGraph.ParsePrompt(
        "small red circle left of large blue square; large blue square above small green triangle", WorldVocabulary.Prompt);

    static GenerateReflectEditLoop Loop(FakeWorld w, int rounds = 3) =>
        new(new FakeWorld.Diffuser(w), new FakeWorld.Checker(w), new RuleBasedActor(w.World), new FakeWorld.Editor(w), new LoopOptions { MaxRounds = rounds });

    // Seeds whose random layout violates at least one relation, so the loop has something to do.
    static IReadOnlyList<GenerationRequest> Requests(int count) =>
        Enumerable.Range(0, 400).Select(s => new GenerationRequest(Target, s))
            .Where(r => !Reflection.Compare(Target, SceneLayout.Place(new SceneGraph(Target.Items, []), new WorldOptions(), new Random(r.Seed)).Items).IsSatisfied)
            .Take(count).ToList();

    [Fact]
    public async Task The_loop_edits_until_the_Checker_is_satisfied_and_counts_every_evaluation()
    {
        var w = new FakeWorld();
        var traces = await Loop(w, rounds: 8).RunAsync(Requests(12));
        // The rule-based Actor gives up ("done") on the rare layout no sequence of its moves can fix; that costs nothing.
        Assert.True(traces.Count(t => t.Rounds[^1].Reflection.IsSatisfied) >= 10, string.Join("\n", traces.Select(TraceHtml.PlainText)));
        foreach (var trace in traces)
            using (trace)
            {
                Assert.False(trace.Rounds[0].Reflection.IsSatisfied);
                var gaveUp = trace.Rounds[^1].Proposal?.Instruction is NoEdit;
                Assert.True(trace.Rounds[^1].Reflection.IsSatisfied || gaveUp, TraceHtml.PlainText(trace));
                Assert.Equal(gaveUp ? trace.Rounds.Count - 2 : trace.Rounds.Count - 1, trace.BestRound);
                Assert.Equal(40 + 80 * (trace.EditRounds - (gaveUp ? 1 : 0)), trace.TotalNfe);
                Assert.All(trace.Rounds.Skip(1), r => Assert.NotNull(r.Proposal));
                Assert.Null(trace.Rounds[0].Proposal);
            }
    }

    [Fact]
    public async Task With_no_rounds_the_loop_is_the_Diffuser_alone()
    {
        var traces = await Loop(new FakeWorld(), rounds: 0).RunAsync(Requests(3));
        Assert.All(traces, t => { Assert.Single(t.Rounds); Assert.Equal(40, t.TotalNfe); t.Dispose(); });
    }

    [Fact]
    public async Task A_failed_edit_stops_the_prompt_and_the_first_image_stays_best()
    {
        var w = new FakeWorld { EditsFail = true };
        var checker = new FakeWorld.Checker(w);
        var loop = new GenerateReflectEditLoop(new FakeWorld.Diffuser(w), checker, new RuleBasedActor(w.World), new FakeWorld.Editor(w), new LoopOptions { MaxRounds = 3 });
        var traces = await loop.RunAsync(Requests(3));
        Assert.Equal(1, checker.Calls);  // nothing changed, so nothing is sent to the Checker again (not even an empty batch)
        foreach (var t in traces)
            using (t)
            {
                Assert.Equal(2, t.Rounds.Count);
                Assert.Equal(t.Rounds[1].Proposal!.Instruction is NoEdit ? "the Actor proposes no edit" : "cannot", t.Rounds[1].EditFailure);
                Assert.Equal(0, t.BestRound);
            }
    }

    [Fact]
    public async Task The_best_image_is_kept_even_when_a_later_edit_makes_it_worse()
    {
        var traces = await Loop(new FakeWorld { EditsScramble = true }, rounds: 2).RunAsync(Requests(6));
        foreach (var t in traces)
            using (t)
            {
                Assert.Equal(t.Rounds.Max(r => r.Score), t.Best.Score);
                Assert.Equal(t.Rounds.Select((r, i) => (r.Score, i)).First(x => x.Score == t.Best.Score).i, t.BestRound);
            }
    }

    [Fact]
    public async Task Cancellation_stops_the_loop()
    {
        using var cancel = new CancellationTokenSource();
        cancel.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Loop(new FakeWorld()).RunAsync(Requests(2), cancel.Token));
    }

    [Fact]
    public async Task A_trace_saves_and_loads_with_the_same_rounds_and_reflections()
    {
        using var temp = new TempDir();
        using var trace = (await Loop(new FakeWorld()).RunAsync(Requests(1)))[0];
        LoopTraceFile.Save(trace, temp.Path);
        Assert.True(File.Exists(Path.Combine(temp.Path, "round-0.png")));
        using var loaded = LoopTraceFile.Load(temp.Path);
        Assert.Equal(trace.Target.ToPromptText(), loaded.Target.ToPromptText());
        Assert.Equal(trace.Seed, loaded.Seed);
        Assert.Equal(trace.Rounds.Select(r => (r.Score, r.Reflection.Text, r.Proposal?.Text, r.Nfe)), loaded.Rounds.Select(r => (r.Score, r.Reflection.Text, r.Proposal?.Text, r.Nfe)));
        Assert.Equal(trace.BestRound, loaded.BestRound);
    }

    [Fact]
    public async Task A_reflection_the_checker_could_not_read_keeps_its_failure_through_a_saved_trace()
    {
        using var temp = new TempDir();
        using var run = (await Loop(new FakeWorld()).RunAsync(Requests(1)))[0];
        var unread = Reflection.Unread(run.Target, new ReplyFailure("no JSON object in the reply", "I think <b>two</b> circles"));
        using var trace = new LoopTrace(run.Target, run.Seed, [run.Rounds[0] with { Image = run.Rounds[0].Image.Clone(), Reflection = unread }]);
        LoopTraceFile.Save(trace, temp.Path);
        using var loaded = LoopTraceFile.Load(temp.Path);
        var reflection = Assert.Single(loaded.Rounds).Reflection;
        Assert.Equal(unread.Failure, reflection.Failure);
        Assert.Equal(unread.Text, reflection.Text);
        Assert.False(reflection.IsSatisfied);
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("{\"format\": \"something else\"}")]
    [InlineData("{\"format\": \"rlrig-trace/1\", \"prompt\": \"small red blob\", \"seed\": 0, \"rounds\": []}")]
    [InlineData("{\"format\": \"rlrig-trace/1\", \"prompt\": \"small red circle left of large blue square\", \"seed\": 0, \"rounds\": [{\"nfe\": 1}]}")]
    [InlineData("{\"format\": \"rlrig-trace/1\", \"prompt\": \"small red circle left of large blue square\", \"seed\": 0, \"rounds\": [{\"nfe\": 1, \"detected\": [{\"id\": 0, \"text\": \"huge red circle\", \"box\": [0,0,7,7]}]}]}")]
    public void A_damaged_trace_is_refused_with_a_message_naming_the_file(string json)
    {
        using var temp = new TempDir();
        File.WriteAllText(Path.Combine(temp.Path, LoopTraceFile.FileName), json);
        var e = Assert.Throws<LoopTraceFormatException>(() => LoopTraceFile.Load(temp.Path));
        Assert.Contains(LoopTraceFile.FileName, e.Message);
    }

    [Fact]
    public async Task The_trace_page_escapes_every_text_it_shows()
    {
        using var trace = (await Loop(new FakeWorld()).RunAsync(Requests(1)))[0];
        var hostile = trace with
        {
            Rounds = [.. trace.Rounds.Take(1), trace.Rounds[0] with { Round = 1, Proposal = ActorProposal.FromText("<script>alert(1)</script>"), EditFailure = "<img src=x onerror=alert(2)>" }],
        };
        var html = TraceHtml.Page("<b>title</b>", [TraceHtml.Fragment(hostile)]);
        Assert.DoesNotContain("<script>", html);
        Assert.DoesNotContain("<img src=x", html);
        Assert.DoesNotContain("<b>title", html);
        Assert.Contains("&lt;script&gt;", html);
    }
}
