using System.Text.Json;
using RlRig.Metrics;
using RlRig.Tests.Support;

namespace RlRig.Tests.Cli;

/// <summary><c>rlrig eval-sg</c>, <c>rlrig laion-sg validate</c> and <c>rlrig bench laion-sg</c> as users run them: a separate process, exit codes, output.</summary>
public sealed class LaionSgCommandTests : IDisposable
{
    static readonly TimeSpan Limit = TimeSpan.FromMinutes(3);
    static readonly string Sample = Path.Combine("data", "laion-sg", "sample.json");
    static readonly string Prediction = Path.Combine("data", "laion-sg", "sample-pred.json");
    static readonly string Bad = Path.Combine("data", "laion-sg", "bad.json");
    readonly TempDir temp = new();

    public void Dispose() => temp.Dispose();

    static ProcessResult Rlrig(params string[] args) => Processes.Rlrig(Repo.Root, Limit, args);

    static void AssertNoStackTrace(ProcessResult run)
    {
        Assert.DoesNotContain("   at ", run.StdOut + run.StdErr);
        Assert.DoesNotContain("Exception", run.StdOut + run.StdErr);
    }

    [Fact]
    public void Eval_sg_prints_each_record_the_means_and_what_is_missing_and_writes_json()
    {
        var outPath = temp.File("sub/scores.json");
        var run = Rlrig("eval-sg", "--truth", Sample, "--pred", Prediction, "--out", outPath);
        Assert.True(run.ExitCode == 0, run.ToString());

        // Entity-IoU by hand: every matched record keeps its labels except 0004 (man -> woman: 5 shared of 7) and 0012
        // (wine -> juice: 4 of 6). 14 matched: (12 + 5/7 + 2/3) / 14 = 0.95578; over the 15 truths with 0007 as 0:
        // (12 + 5/7 + 2/3) / 15 = 0.89206.
        double entitySum = 12 + 5.0 / 7 + 2.0 / 3;
        string[] lines = run.StdOut.Split('\n').Select(l => l.TrimEnd('\r')).ToArray();
        Assert.Matches(@"^invented-0004\s+0\.500\s+0\.714\s+0\.667$", Assert.Single(lines, l => l.StartsWith("invented-0004")));
        Assert.Matches(@"^mean of 14 matched\s+0\.803\s+0\.956\s+0\.852$", Assert.Single(lines, l => l.StartsWith("mean of 14 matched")));
        Assert.Matches(@"^mean of 15 truth \(missing = 0\)\s+0\.749\s+0\.892\s+0\.796$", Assert.Single(lines, l => l.StartsWith("mean of 15 truth")));
        Assert.Contains("missing in prediction (1): invented-0007", lines);
        Assert.Contains("missing in truth (1): invented-9999", lines);
        Assert.Equal(14, lines.Count(l => l.StartsWith("invented-")));

        using var json = JsonDocument.Parse(File.ReadAllText(outPath));
        var root = json.RootElement;
        Assert.Equal(Sample, root.GetProperty("Truth").GetString());
        Assert.Equal(entitySum / 14, root.GetProperty("Mean").GetProperty("EntityIou").GetDouble(), 12);
        Assert.Equal(entitySum / 15, root.GetProperty("MeanMissingAsZero").GetProperty("EntityIou").GetDouble(), 12);
        // The command adds nothing of its own to the scores: they are the Kernel's, field for field.
        var kernel = SceneGraphEvaluation.Evaluate(Repo.PathOf(Sample), Repo.PathOf(Prediction));
        Assert.Equal(kernel.Mean!.SgIou, root.GetProperty("Mean").GetProperty("SgIou").GetDouble(), 12);
        Assert.Equal(kernel.MeanMissingAsZero!.RelationIou, root.GetProperty("MeanMissingAsZero").GetProperty("RelationIou").GetDouble(), 12);
        Assert.Equal(kernel.Records.Select(r => r.ImgId), root.GetProperty("Records").EnumerateArray().Select(r => r.GetProperty("ImgId").GetString()));
        Assert.Equal(["invented-0007"], root.GetProperty("MissingInPrediction").EnumerateArray().Select(e => e.GetString()));
        Assert.Empty(Directory.GetFiles(temp.File("sub"), "*.tmp", SearchOption.AllDirectories));
    }

    [Fact]
    public void Eval_sg_on_an_invalid_prediction_names_the_record_and_exits_1()
    {
        var run = Rlrig("eval-sg", "--truth", Sample, "--pred", Bad, "--out", temp.File("never.json"));
        Assert.Equal(1, run.ExitCode);
        Assert.Contains($"rlrig eval-sg: {Bad}: record 1 (img_id \"bad-01\"), field relations[1].item2: refers to item_id 9", run.StdErr);
        Assert.Contains($"rlrig laion-sg validate {Bad}", run.StdErr);
        Assert.False(File.Exists(temp.File("never.json")));
        AssertNoStackTrace(run);
    }

    [Fact]
    public void Eval_sg_on_a_truncated_file_exits_1_with_the_record()
    {
        var cut = temp.File("cut.json");
        var text = File.ReadAllText(Repo.PathOf(Sample));
        File.WriteAllText(cut, text[..(text.IndexOf("invented-0003", StringComparison.Ordinal) + 5)]);
        var run = Rlrig("eval-sg", "--truth", cut, "--pred", Prediction);
        Assert.Equal(1, run.ExitCode);
        Assert.Contains($"{cut}: record 2", run.StdErr);
        Assert.Contains("truncated JSON", run.StdErr);
        AssertNoStackTrace(run);
    }

    [Fact]
    public void Eval_sg_with_a_missing_file_or_option_is_a_usage_error()
    {
        var missing = Rlrig("eval-sg", "--truth", "no/such.json", "--pred", Prediction);
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("rlrig eval-sg: truth file no/such.json: no such file", missing.StdErr);
        AssertNoStackTrace(missing);

        var folder = Rlrig("eval-sg", "--truth", Sample, "--pred", "data");
        Assert.Equal(2, folder.ExitCode);
        Assert.Contains("prediction file data: is a folder, not a file", folder.StdErr);

        var noPred = Rlrig("eval-sg", "--truth", Sample);
        Assert.Equal(2, noPred.ExitCode);
        Assert.Contains("--pred", noPred.StdErr);
    }

    [Fact]
    public void Eval_sg_reports_an_output_it_cannot_write()
    {
        // A path below an existing file cannot be created on any OS.
        var blocker = temp.File("a-file");
        File.WriteAllText(blocker, "");
        var run = Rlrig("eval-sg", "--truth", Sample, "--pred", Prediction, "--out", Path.Combine(blocker, "r.json"));
        Assert.Equal(2, run.ExitCode);
        // Refused before the scores are computed (the output policy), not when they are written.
        Assert.Contains($"rlrig eval-sg: --out {Path.Combine(blocker, "r.json")}: {blocker} is not a folder", run.StdErr);
        Assert.DoesNotContain("mean of", run.StdOut);
        AssertNoStackTrace(run);
    }

    [Fact]
    public void Validate_lists_one_line_per_invalid_record_and_exits_1()
    {
        var run = Rlrig("laion-sg", "validate", Bad);
        Assert.Equal(1, run.ExitCode);
        var lines = run.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd('\r')).ToList();
        var recordLines = lines.Where(l => l.StartsWith($"{Bad}: record ")).ToList();
        // bad.json holds 13 records; 00 and 11 are valid, every other one has exactly one defect.
        Assert.Equal([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12], recordLines.Select(l => int.Parse(l.Split(' ')[2])));
        Assert.Contains($"{Bad}: record 5 (img_id unknown), field img_id: is a number 482027, expected a string", recordLines);
        Assert.Contains($"{Bad}: record 10 (img_id \"bad-10\"), field url: is missing", recordLines);
        Assert.All(recordLines.Take(10), l => Assert.Contains(", field ", l));
        Assert.StartsWith($"{Bad}: 13 records read, 2 valid, 11 invalid; reading stopped", lines[^1]);
        Assert.Equal(recordLines.Count + 1, lines.Count);
        AssertNoStackTrace(run);
    }

    [Fact]
    public void Validate_accepts_a_valid_file()
    {
        var run = Rlrig("laion-sg", "validate", Sample);
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal($"{Sample}: 15 records read, 15 valid, 0 invalid: the file is valid", run.StdOut.Trim());
    }

    [Fact]
    public void Validate_reports_a_missing_file_and_json_that_is_not_laion_sg()
    {
        var missing = Rlrig("laion-sg", "validate", temp.File("gone.json"));
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains($"rlrig laion-sg validate: file {temp.File("gone.json")}: no such file", missing.StdErr);
        AssertNoStackTrace(missing);

        var notArray = temp.File("object.json");
        File.WriteAllText(notArray, """{"img_id": "1"}""");
        var run = Rlrig("laion-sg", "validate", notArray);
        Assert.Equal(1, run.ExitCode);
        Assert.Contains($"{notArray}: file", run.StdOut);
        AssertNoStackTrace(run);
    }

    [Fact]
    public void Bench_reads_what_it_generated_and_writes_its_figures()
    {
        var outPath = temp.File("bench.json");
        var run = Rlrig("bench", "laion-sg", "--records", "500", "--out", outPath);
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("LAION-SG reader: 500 synthetic records", run.StdOut);
        Assert.Contains("records/s", run.StdOut);
        using var json = JsonDocument.Parse(File.ReadAllText(outPath));
        Assert.Equal(500, json.RootElement.GetProperty("Records").GetInt32());
        Assert.Equal(0, json.RootElement.GetProperty("Invalid").GetInt32());
        Assert.True(json.RootElement.GetProperty("PeakWorkingSetBytes").GetInt64() > 0);
        Assert.False(File.Exists(json.RootElement.GetProperty("Path").GetString()), "the synthetic file is temporary");

        var zero = Rlrig("bench", "laion-sg", "--records", "0");
        Assert.Equal(2, zero.ExitCode);
        Assert.Contains("--records must be >= 1 (got 0)", zero.StdErr);
    }
}
