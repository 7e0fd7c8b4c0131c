using System.CommandLine;
using System.Text.Json.Nodes;
using RlRig.Cli.Commands;
using RlRig.IO;
using RlRig.Tests.Support;
using static RlRig.Tests.Support.NotebookFiles;

namespace RlRig.Tests.Cli;

/// <summary>
/// No stack traces and the README's exit codes (0, 1 invalid input, 2 bad command line or file), and data that cannot
/// forge terminal output: every command, run as users run it.
/// </summary>
public sealed class CommandLineHardeningTests : IDisposable
{
    static readonly TimeSpan Limit = TimeSpan.FromMinutes(3);
    readonly TempDir temp = new();

    public void Dispose() => temp.Dispose();

    static ProcessResult Rlrig(params string[] args) => Processes.Rlrig(Repo.Root, Limit, args);

    static void AssertNoTrace(ProcessResult run)
    {
        Assert.DoesNotContain("   at ", run.StdOut + run.StdErr);
        Assert.DoesNotContain("Unhandled", run.StdOut + run.StdErr);
    }

    // Every numeric option: NaN, infinities, out of range, before any work (each of these would otherwise run for minutes).
    [Theory]
    [InlineData("--cell-timeout must be a finite number in (0, 2000000] (got NaN)", "run", "notebooks/00-tour.ipynb", "--cell-timeout", "NaN")]
    [InlineData("--cell-timeout must be a finite number in (0, 2000000] (got Infinity)", "run", "notebooks/00-tour.ipynb", "--cell-timeout", "Infinity")]
    [InlineData("--cell-timeout must be a finite number in (0, 2000000] (got 1000000000000)", "run", "notebooks/00-tour.ipynb", "--cell-timeout", "1e12")]
    [InlineData("--cell-timeout must be a finite number in (0, 2000000] (got 5000000)", "run", "notebooks/00-tour.ipynb", "--cell-timeout", "5e6")]
    [InlineData("--cell-timeout must be a finite number in (0, 2000000] (got 0)", "run", "notebooks/00-tour.ipynb", "--cell-timeout", "0")]
    [InlineData("--guidance must be a finite number >= 0 (got NaN)", "eval", "diffuser", "--guidance", "NaN")]
    [InlineData("--guidance must be a finite number >= 0 (got Infinity)", "eval", "diffuser", "--guidance", "Infinity")]
    [InlineData("--guidance must be a finite number >= 0 (got -Infinity)", "eval", "diffuser", "--guidance", "-Infinity")]
    [InlineData("--eta must be a finite number in [0, 1] (got NaN)", "eval", "diffuser", "--eta", "NaN")]
    [InlineData("--eta must be a finite number in [0, 1] (got 1.5)", "eval", "diffuser", "--eta", "1.5")]
    [InlineData("--prompts must be >= 0 (got -1)", "eval", "diffuser", "--prompts", "-1")]
    [InlineData("--sampling-steps must be in [1, 1000] (got 0)", "eval", "diffuser", "--sampling-steps", "0")]
    [InlineData("--seeds must be a comma-separated list of one or more integers (got '')", "eval", "diffuser", "--seeds", "")]
    [InlineData("--seeds must be a comma-separated list of one or more integers (got '1,,2')", "eval", "diffuser", "--seeds", "1,,2")]
    [InlineData("--scenes must be >= 1 (got 0)", "world", "judge-report", "--scenes", "0")]
    [InlineData("--size must be one of 32, 64 (got 33)", "world", "generate", "--out", "never", "--size", "33")]
    [InlineData("--n must be >= 1 (got 0)", "world", "generate", "--out", "never", "--n", "0")]
    [InlineData("--n must be a positive multiple of 3 (got 4)", "world", "eval-set", "--n", "4", "--out", "never.json")]
    [InlineData("--flat-steps must be >= 1 (got -1)", "bench", "diffuser", "--flat-steps", "-1")]
    [InlineData("--records must be >= 1 (got 0)", "bench", "laion-sg", "--records", "0")]
    [InlineData("--lr must be a finite number in (0, 1) (got NaN)", "train", "diffuser", "--out", "never", "--lr", "NaN")]
    [InlineData("--grounding must be a finite number >= 0 (got Infinity)", "train", "diffuser", "--out", "never", "--grounding", "Infinity")]
    [InlineData("--min-snr-gamma must be a finite number >= 0 (got NaN)", "train", "diffuser", "--out", "never", "--min-snr-gamma", "NaN")]
    [InlineData("--steps must be >= 1 (got 0)", "train", "diffuser", "--out", "never", "--steps", "0")]
    [InlineData("--checkpoint-every must be >= 0 (got -5)", "train", "diffuser", "--out", "never", "--checkpoint-every", "-5")]
    [InlineData("--cross-attention must be one or more integers >= 1 (got 16 0)", "train", "diffuser", "--out", "never", "--cross-attention", "16", "0")]
    public void A_numeric_option_out_of_range_is_refused_up_front_with_exit_2(string message, params string[] args)
    {
        var run = Rlrig(args);
        Assert.True(run.ExitCode == 2, run.ToString());
        Assert.Contains(message, run.StdErr);
        AssertNoTrace(run);
        Assert.False(Directory.Exists(Repo.PathOf("never")) || File.Exists(Repo.PathOf("never.json")));
    }

    [Fact]
    public void An_unknown_param_is_a_bad_command_line_before_any_cell_runs()
    {
        var marker = temp.File("ran.txt");
        var notebook = temp.File("p.ipynb");
        File.WriteAllText(notebook, Ipynb(Code($"System.IO.File.WriteAllText(@\"{marker}\", \"ran\");"), Code("var quick = false;\nint n = 3;", "parameters"), Code("Console.WriteLine(n);")));
        foreach (var param in new[] { "quik=true", "N=4", "Console=1", "quick" })
        {
            var run = Processes.Rlrig(temp.Path, Limit, "run", notebook, "--out", temp.File("out"), "--param", param);
            Assert.True(run.ExitCode == 2, run.ToString());
            AssertNoTrace(run);
        }
        Assert.False(File.Exists(marker), "a cell ran before the refusal");
        var known = Processes.Rlrig(temp.Path, Limit, "run", notebook, "--out", temp.File("out"), "--param", "n=4");
        Assert.True(known.ExitCode == 0, known.ToString());
        Assert.Contains("no parameter named 'quik'; the cell tagged \"parameters\" assigns n, quick",
            Processes.Rlrig(temp.Path, Limit, "run", notebook, "--param", "quik=true").StdErr);
    }

    [Theory]
    [InlineData("#!fsharp\nprintfn \"hi\"", "language 'fsharp' is not supported")]
    [InlineData("#!pwsh\nWrite-Host hi", "language 'pwsh' is not supported")]
    [InlineData("#!javascript\nconsole.log(1)", "language 'javascript' is not supported")]
    public void A_dib_with_a_cell_in_another_language_exits_2_as_the_ipynb_does(string cell, string message)
    {
        var marker = temp.File("ran.txt");
        var dib = temp.File("other.dib");
        File.WriteAllText(dib, $"#!csharp\nSystem.IO.File.WriteAllText(@\"{marker}\", \"ran\");\n\n{cell}\n");
        var run = Processes.Rlrig(temp.Path, Limit, "run", dib, "--out", temp.File("out"));
        Assert.True(run.ExitCode == 2, run.ToString());
        Assert.Contains(message, run.StdErr);
        Assert.False(File.Exists(marker));
    }

    // An invalid LAION-SG file is invalid input (exit 1) whichever command reads it.
    [Theory]
    [InlineData("eval", "diffuser", "--prompts", "1", "--seeds", "0", "--eval-set")]
    [InlineData("train", "diffuser", "--steps", "1", "--out", "never", "--eval-set")]
    public void An_invalid_eval_set_exits_1_as_eval_sg_does(params string[] args)
    {
        foreach (var file in new[] { Repo.PathOf("data", "laion-sg", "bad.json"), Duplicated() })
        {
            var run = Rlrig([.. args, file]);
            Assert.True(run.ExitCode == 1, run.ToString());
            Assert.Contains($"{file}: record 1", run.StdErr);
            AssertNoTrace(run);
            var evalSg = Rlrig("eval-sg", "--truth", file, "--pred", file);
            Assert.Equal(1, evalSg.ExitCode);
        }
        Assert.False(Directory.Exists(Repo.PathOf("never")));
    }

    string Duplicated()
    {
        var records = JsonNode.Parse(File.ReadAllText(Repo.PathOf("data", "shapes-world", "eval-prompts.json")))!.AsArray();
        records[1]!["img_id"] = (string?)records[0]!["img_id"];
        var path = temp.File("duplicated.json");
        File.WriteAllText(path, records.ToJsonString());
        return path;
    }

    [Fact]
    public void A_malformed_manifest_is_refused_before_the_evaluation()
    {
        var checkpoint = temp.File("diffuser.ckpt");
        File.Copy(Repo.PathOf("data", "shapes-world", "diffuser", "diffuser.ckpt"), checkpoint);
        foreach (var manifest in new[] { "{\"sha256\": ", "[]", "{\"sha256\": \"00\"}" })
        {
            File.WriteAllText(checkpoint + ".manifest.json", manifest);
            var run = Rlrig("eval", "diffuser", "--checkpoint", checkpoint, "--update-manifest", "--seeds", "0");
            Assert.True(run.ExitCode == 2, run.ToString());
            Assert.Contains($"{checkpoint}.manifest.json", run.StdErr);
            Assert.DoesNotContain("images judged", run.StdErr);
            AssertNoTrace(run);
            Assert.Equal(manifest, File.ReadAllText(checkpoint + ".manifest.json"));
        }
    }

    [Fact]
    public void An_unexpected_exception_is_one_line_naming_the_command_and_the_trace_is_there_with_verbose()
    {
        var root = new RootCommand { new Command("eval") { new Command("diffuser") } };
        root.Options.Add(TopLevelErrors.VerboseOption);
        var bug = Throw(new InvalidOperationException("the sampler\u001b[2J went wrong"));

        var quiet = new StringWriter();
        Assert.Equal(ExitCodes.Unexpected, TopLevelErrors.Report(root.Parse(["eval", "diffuser"]), bug, quiet));
        var lines = quiet.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("rlrig eval diffuser: unexpected error, a bug in RlRig: InvalidOperationException: the sampler\\u001B[2J went wrong", lines[0]);
        Assert.Contains("--verbose", lines[1]);
        Assert.Equal(2, lines.Length);

        var verbose = new StringWriter();
        TopLevelErrors.Report(root.Parse(["eval", "diffuser", "--verbose"]), bug, verbose);
        Assert.Contains("   at ", verbose.ToString());

        // User-facing errors keep their class, named the same way.
        var io = new StringWriter();
        Assert.Equal(ExitCodes.UsageOrIo, TopLevelErrors.Report(root.Parse(["eval", "diffuser"]), new IOException("disk full"), io));
        Assert.Equal("rlrig eval diffuser: disk full", io.ToString().Trim());
        var data = new StringWriter();
        var invalid = new RlRig.LaionSg.LaionSgFormatException(new RlRig.LaionSg.LaionSgError(3, "a\nb", "img_id", "is odd", "f.json"));
        Assert.Equal(ExitCodes.InvalidData, TopLevelErrors.Report(root.Parse(["eval"]), new AggregateException(invalid), data));
        Assert.Equal("rlrig eval: f.json: record 3 (img_id \"a\\u000Ab\"), field img_id: is odd", data.ToString().Trim());
        Assert.Equal(ExitCodes.Interrupted, TopLevelErrors.Report(root.Parse(["eval"]), new OperationCanceledException(), new StringWriter()));
    }

    static Exception Throw(Exception e)
    {
        try { throw e; }
        catch (Exception caught) { return caught; }
    }

    // img_ids and values that try to forge lines, clear the screen or reverse what follows.
    public static TheoryData<string> ForgingImgIds() =>
    [
        "x\nsample.json: 15 records read, 15 valid, 0 invalid: the file is valid",
        "x\u001b[2K\u001b[1A\rthe file is valid",
        "x\u202egnp.exe",
        "x\u2066hidden\u2069\u200f",
        "x\u0085\u2028\u2029y",
        "x\u009b31m",
    ];

    [Theory]
    [MemberData(nameof(ForgingImgIds))]
    public void Values_from_a_file_are_printed_escaped_by_validate_and_eval_sg(string imgId)
    {
        var records = JsonNode.Parse(File.ReadAllText(Repo.PathOf("data", "laion-sg", "sample.json")))!.AsArray();
        records[2]!["img_id"] = imgId;
        var good = temp.File("good.json");
        File.WriteAllText(good, records.ToJsonString());
        records[2]!["items"]![0]!["label"] = "";
        var bad = temp.File("bad.json");
        File.WriteAllText(bad, records.ToJsonString());

        var validate = Rlrig("laion-sg", "validate", bad);
        Assert.Equal(1, validate.ExitCode);
        AssertSafe(validate.StdOut, expectedLines: 2);
        Assert.Contains(TerminalText.Escape(imgId), validate.StdOut);

        var evalSg = Rlrig("eval-sg", "--truth", good, "--pred", good);
        Assert.True(evalSg.ExitCode == 0, evalSg.ToString());
        AssertSafe(evalSg.StdOut, expectedLines: evalSg.StdOut.Count(c => c == '\n'));
        Assert.Single(evalSg.StdOut.Split('\n'), l => l.StartsWith(TerminalText.Escape(imgId), StringComparison.Ordinal));

        var invalid = Rlrig("eval-sg", "--truth", bad, "--pred", good);
        Assert.Equal(1, invalid.ExitCode);
        AssertSafe(invalid.StdErr, expectedLines: 2);
    }

    static void AssertSafe(string output, int expectedLines)
    {
        Assert.DoesNotContain(output, c => c != '\n' && (char.IsControl(c) || char.GetUnicodeCategory(c) is System.Globalization.UnicodeCategory.Format
            or System.Globalization.UnicodeCategory.LineSeparator or System.Globalization.UnicodeCategory.ParagraphSeparator));
        Assert.Equal(expectedLines, output.Count(c => c == '\n'));
        Assert.DoesNotContain("\nthe file is valid", output);
    }

    [Fact]
    public void Duplicate_img_ids_are_invalid_records_for_validate_and_eval_sg_alike()
    {
        var records = JsonNode.Parse(File.ReadAllText(Repo.PathOf("data", "laion-sg", "sample.json")))!.AsArray();
        var first = (string)records[0]!["img_id"]!;
        records[4]!["img_id"] = first;
        records[9]!["img_id"] = first;
        var path = temp.File("dups.json");
        File.WriteAllText(path, records.ToJsonString());

        var validate = Rlrig("laion-sg", "validate", path);
        Assert.Equal(1, validate.ExitCode);
        Assert.Contains($"{path}: record 4 (img_id \"{first}\"), field img_id: duplicate img_id: record 0 has it too", validate.StdOut);
        Assert.Contains($"{path}: record 9 (img_id \"{first}\"), field img_id: duplicate img_id: record 0 has it too", validate.StdOut);
        Assert.EndsWith("15 records read, 13 valid, 2 invalid", validate.StdOut.Trim());

        foreach (var args in new[] { new[] { "--truth", path, "--pred", Repo.PathOf("data", "laion-sg", "sample.json") }, ["--truth", Repo.PathOf("data", "laion-sg", "sample.json"), "--pred", path] })
        {
            var evalSg = Rlrig(["eval-sg", .. args]);
            Assert.Equal(1, evalSg.ExitCode);
            Assert.Contains($"{path}: record 4 (img_id \"{first}\"), field img_id: duplicate img_id: record 0 has it too", evalSg.StdErr);
        }
    }

    [Theory]
    [InlineData("plain text, é, 日本語, 🙂", "plain text, é, 日本語, 🙂")]
    [InlineData("a\u001b[31mb", "a\\u001B[31mb")]
    [InlineData("a\r\nb\tc", "a\\u000D\\u000Ab\\u0009c")]
    [InlineData("abc\u202edef", "abc\\u202Edef")]
    [InlineData("\u200b\u200e\u2067\ufeff", "\\u200B\\u200E\\u2067\\uFEFF")]
    [InlineData("tag \U000E0041", "tag \\uDB40\\uDC41")]
    [InlineData(@"already escaped \u001B", @"already escaped \u001B")]
    [InlineData(@"C:\temp\x", @"C:\temp\x")]
    public void TerminalText_escapes_controls_and_bidi_and_keeps_the_rest(string text, string escaped)
    {
        Assert.Equal(escaped, TerminalText.Escape(text));
        Assert.Equal("a\nb\\u001B", TerminalText.EscapeKeepingLines("a\nb\u001b"));
        // Built here: an attribute's string cannot hold a lone surrogate.
        Assert.Equal("lone \\uD800 surrogate", TerminalText.Escape("lone " + (char)0xD800 + " surrogate"));
    }
}
