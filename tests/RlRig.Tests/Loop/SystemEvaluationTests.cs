using System.Text.Json.Nodes;
using RlRig.Loop;
using RlRig.Loop.Actors;
using RlRig.Loop.Evaluation;
using RlRig.SceneGraphs;
using RlRig.Tests.Support;
using RlRig.World;

namespace RlRig.Tests.Loop;

public class SystemEvaluationTests
{
    static readonly IReadOnlyList<EvaluationPrompt> Prompts = EvaluationSet.Create(6, seed: 77, new WorldOptions())
        .Select((g, i) => new EvaluationPrompt($"p-{i}", g)).ToList();

    static readonly Dictionary<string, string> Arguments = new() { ["system"] = "test" };

    static SystemEvaluation Evaluation(SystemSpec spec, FakeWorld w) =>
        new(spec, new SystemComponents(new FakeWorld.Diffuser(w), new FakeWorld.Checker(w), new RuleBasedActor(w.World), new FakeWorld.Editor(w)), new ShapesJudge(w.World))
        { ChunkSize = 4, SampleTraces = 2 };

    [Theory]
    [InlineData(SystemKind.Diffuser, 1, 0, 40)]
    [InlineData(SystemKind.BestOfN, 3, 0, 120)]
    [InlineData(SystemKind.Loop, 1, 2, -1)]
    public async Task Every_prompt_and_seed_gets_one_judged_line_and_an_image(SystemKind kind, int n, int rounds, int nfe)
    {
        using var temp = new TempDir();
        var done = SystemEvaluation.Prepare(temp.Path, Arguments);
        var ran = await Evaluation(new SystemSpec(kind, n, rounds), new FakeWorld()).RunAsync(temp.Path, Prompts, [0, 1], done);
        Assert.Equal(12, ran);
        var lines = File.ReadAllLines(Path.Combine(temp.Path, SystemEvaluation.ResultsFile)).Select(l => JsonNode.Parse(l)!).ToList();
        Assert.Equal(12, lines.Select(l => (l["img_id"]!.GetValue<string>(), l["seed"]!.GetValue<int>())).Distinct().Count());
        foreach (var line in lines)
        {
            Assert.True(File.Exists(Path.Combine(temp.Path, line["image"]!.GetValue<string>())));
            Assert.NotNull(line["judge"]!["relations_correct"]);
            Assert.NotNull(line["checker"]!["score"]);
            if (nfe > 0) Assert.Equal(nfe, line["nfe"]!.GetValue<int>());
        }
        var summary = SystemSummary.Read(temp.Path, Arguments);
        Assert.Equal([0, 1], summary.Seeds);
        Assert.Equal(12, summary.Judge.Single(r => r.Group == "all").Images);
        Assert.Equal(kind == SystemKind.Loop, summary.Loop is not null);
        Assert.Contains("| all |", summary.ToMarkdown());
        if (kind == SystemKind.Loop) Assert.Equal(2, Directory.GetDirectories(Path.Combine(temp.Path, SystemEvaluation.TracesFolder)).Length);
    }

    [Fact]
    public async Task A_run_resumes_where_it_stopped_and_a_cut_line_is_run_again()
    {
        using var temp = new TempDir();
        var evaluation = Evaluation(new SystemSpec(SystemKind.Diffuser), new FakeWorld());
        await evaluation.RunAsync(temp.Path, Prompts.Take(4).ToList(), [0], SystemEvaluation.Prepare(temp.Path, Arguments));
        // A kill in the middle of an append leaves part of a line.
        var results = Path.Combine(temp.Path, SystemEvaluation.ResultsFile);
        File.AppendAllText(results, "{\"img_id\": \"p-4\", \"se");
        var done = SystemEvaluation.Prepare(temp.Path, Arguments);
        Assert.Equal(4, done.Count);
        var ran = await evaluation.RunAsync(temp.Path, Prompts, [0], done);
        Assert.Equal(2, ran);
        var lines = File.ReadAllLines(results);
        Assert.Equal(6, lines.Length);
        Assert.All(lines, l => JsonNode.Parse(l));
        Assert.Equal(0, await evaluation.RunAsync(temp.Path, Prompts, [0], SystemEvaluation.Prepare(temp.Path, Arguments)));
    }

    [Fact]
    public void Other_arguments_on_the_same_folder_are_refused_naming_the_difference()
    {
        using var temp = new TempDir();
        SystemEvaluation.Prepare(temp.Path, new Dictionary<string, string> { ["system"] = "loop", ["rounds"] = "2" });
        var e = Assert.Throws<ArgumentException>(() => SystemEvaluation.Prepare(temp.Path, new Dictionary<string, string> { ["system"] = "loop", ["rounds"] = "3" }));
        Assert.Contains("rounds: 2 there, 3 now", e.Message);
    }

    [Fact]
    public void Only_one_run_at_a_time_holds_a_folder()
    {
        using var temp = new TempDir();
        using (SystemEvaluation.Lock(temp.Path))
        {
            var e = Assert.Throws<ArgumentException>(() => SystemEvaluation.Lock(temp.Path));
            Assert.Contains("another run", e.Message);
        }
        using var again = SystemEvaluation.Lock(temp.Path);
    }

    [Fact]
    public void Seeds_spread_is_the_sample_standard_deviation()
    {
        var spread = SeedSpread.Of([0.5, 0.7, 0.9]);
        Assert.Equal(0.7, spread.Mean, 12);
        Assert.Equal(0.2, spread.Std, 12);
        Assert.Equal(0, SeedSpread.Of([0.4]).Std);
    }
}
