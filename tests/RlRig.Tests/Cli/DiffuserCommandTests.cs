using System.Diagnostics;
using RlRig.Diffusion;
using RlRig.Tests.Support;
using RlRig.World;

namespace RlRig.Tests.Cli;

/// <summary><c>rlrig train diffuser</c> and <c>rlrig eval diffuser</c> as users run them.</summary>
public sealed class DiffuserCommandTests : IDisposable
{
    static readonly TimeSpan Limit = TimeSpan.FromMinutes(5);
    readonly TempDir temp = new();

    public void Dispose() => temp.Dispose();

    // Ctrl+C in a terminal sends SIGINT; schedulers, `timeout` and `docker stop` send SIGTERM. Both must save and exit.
    [Theory]
    [InlineData("INT")]
    [InlineData("TERM")]
    public async Task A_stop_signal_saves_a_checkpoint_and_resume_continues_from_it(string signal)
    {
        var run = temp.File("run");
        // A process started from a background job inherits SIGINT as ignored (POSIX), and .NET then leaves it ignored,
        // as a shell would: `env --default-signal` gives the child the terminal's default, whoever runs the tests.
        var info = new ProcessStartInfo("env") { WorkingDirectory = Repo.Root, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "--default-signal=INT", "dotnet", Path.Combine(AppContext.BaseDirectory, "rlrig.dll"), "train", "diffuser", "--steps", "5000", "--batch", "2", "--out", run, "--checkpoint-every", "0", "--text-conv", "0", "--text-layers", "1", "--grounding", "0" })
            info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = new System.Text.StringBuilder();
        process.ErrorDataReceived += (_, e) => { lock (stderr) stderr.Append(e.Data).Append('\n'); };
        process.BeginErrorReadLine();
        // The progress line rewrites itself with \r; a line break comes with the first checkpoint or the end, so poll.
        var deadline = DateTime.UtcNow + Limit;
        while (DateTime.UtcNow < deadline && !process.HasExited)
        {
            lock (stderr) if (stderr.ToString().Contains("/5000")) break;
            await Task.Delay(200);
        }
        await Task.Delay(2000);
        Assert.False(process.HasExited, stderr.ToString());
        using (var kill = Process.Start("kill", [$"-{signal}", process.Id.ToString()])) kill.WaitForExit();
        if (!process.WaitForExit(Limit))
        {
            process.Kill(entireProcessTree: true);
            lock (stderr) Assert.Fail($"training did not stop after SIG{signal}; its stderr:\n{stderr}");
        }
        process.WaitForExit();

        Assert.Equal(0, process.ExitCode);
        var printed = await stdout;
        Assert.Contains("Stopped at step", printed);
        Assert.Contains("continue with --resume", printed);
        Assert.True(File.Exists(Path.Combine(run, "diffuser.ckpt")));
        Assert.True(File.Exists(Path.Combine(run, "training-state.bin")));
        var stoppedAt = int.Parse(System.Text.RegularExpressions.Regex.Match(printed, @"Stopped at step (\d+)").Groups[1].Value);

        // No --batch, --text-conv, --text-layers or --grounding: the run folder supplies them (the defaults differ), or the resume would be
        // refused as another architecture.
        var resumed = Processes.Rlrig(Repo.Root, Limit, "train", "diffuser", "--steps", (stoppedAt + 2).ToString(), "--out", run, "--resume");
        Assert.True(resumed.ExitCode == 0, resumed.ToString());
        Assert.Contains($"from step {stoppedAt} ", resumed.StdErr);
        Assert.Contains($"Finished at step {stoppedAt + 2}", resumed.StdOut);
        Assert.Contains("(batch 2)", resumed.StdErr);
        Assert.DoesNotContain("grounding", resumed.StdErr);  // the progress line shows the grounding loss only when it is on
        // No --lr either time: the command starts runs at the world's learning rate, not the library's default.
        Assert.Equal(ShapesWorldDiffuser.LearningRate, DiffuserTrainer.ReadRun(run).Options.LearningRate);
    }

    [Fact]
    public void Resume_without_a_run_is_a_clear_error()
    {
        var result = Processes.Rlrig(Repo.Root, Limit, "train", "diffuser", "--steps", "2", "--out", temp.File("empty"), "--resume");
        Assert.Equal(2, result.ExitCode);
        Assert.StartsWith("rlrig train diffuser: ", result.StdErr.Trim());
        Assert.DoesNotContain("   at ", result.StdErr);
    }

    [Fact]
    public void Eval_reports_quality_of_the_committed_checkpoint_on_a_few_prompts()
    {
        var report = temp.File("report.json");
        var result = Processes.Rlrig(Repo.Root, Limit, "eval", "diffuser", "--prompts", "3", "--seeds", "0", "--out", report);
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("Relation accuracy of random placement (chance", result.StdOut);
        var json = System.Text.Json.JsonDocument.Parse(File.ReadAllText(report)).RootElement;
        Assert.Equal(3, json.GetProperty("Images").GetArrayLength());
        Assert.Equal(ShapesWorldDiffuser.Eta, json.GetProperty("Eta").GetDouble());
    }

    [Fact]
    public void Eval_saves_every_image_and_reads_them_with_the_old_judge_when_asked()
    {
        var (images, report) = (temp.File("images"), temp.File("legacy.json"));
        var result = Processes.Rlrig(Repo.Root, Limit, "eval", "diffuser", "--prompts", "3", "--seeds", "0", "--legacy-judge", "--save-images", images, "--out", report);
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(new[] { "eval-0000-s0.png", "eval-0001-s0.png", "eval-0002-s0.png" }, Directory.GetFiles(images).Select(Path.GetFileName).Order());
        var verdicts = System.Text.Json.JsonDocument.Parse(File.ReadAllText(report)).RootElement.GetProperty("Images");
        var legacy = new ShapesJudge(new WorldOptions(), JudgeOptions.Legacy);
        for (var i = 0; i < 3; i++)
        {
            using var image = SixLabors.ImageSharp.Image.Load<SixLabors.ImageSharp.PixelFormats.Rgb24>(Path.Combine(images, $"eval-000{i}-s0.png"));
            Assert.Equal(verdicts[i].GetProperty("Judged").GetString(), legacy.Parse(image).ToPromptText()); // the PNG is the image judged (8-bit rounding aside)
        }
    }

    [Fact]
    public void Eval_refuses_to_record_the_old_judges_figures_in_the_manifest()
    {
        var manifest = Repo.PathOf("data", "shapes-world", "diffuser", "diffuser.ckpt.manifest.json");
        var before = File.ReadAllText(manifest);
        var result = Processes.Rlrig(Repo.Root, Limit, "eval", "diffuser", "--prompts", "3", "--seeds", "0", "--legacy-judge", "--update-manifest");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("drop --legacy-judge", result.StdErr);
        Assert.Equal(before, File.ReadAllText(manifest));
    }

    [Fact]
    public void Eval_with_a_negative_eta_names_the_option()
    {
        var result = Processes.Rlrig(Repo.Root, Limit, "eval", "diffuser", "--eta", "-1", "--prompts", "3", "--seeds", "0");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--eta must be a finite number in [0, 1] (got -1)", result.StdErr);
        Assert.DoesNotContain("   at ", result.StdErr);
    }

    [Theory]
    [InlineData("--text-layers", "0", "TextLayers: 0 must be at least 1")]
    [InlineData("--lr", "2", "--lr must be a finite number in (0, 1) (got 2)")]
    public void Train_with_an_invalid_option_names_the_field_and_writes_nothing(string option, string value, string message)
    {
        var run = temp.File("invalid");
        var result = Processes.Rlrig(Repo.Root, Limit, "train", "diffuser", "--steps", "2", option, value, "--out", run);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains(message, result.StdErr);
        Assert.DoesNotContain("is the default", result.StdErr);  // the library's defaults are not the command's
        Assert.DoesNotContain("   at ", result.StdErr);
        Assert.False(Directory.Exists(run));
    }

    [Fact]
    public void Eval_of_a_damaged_checkpoint_names_the_file()
    {
        var broken = temp.File("broken.ckpt");
        var original = File.ReadAllBytes(Repo.PathOf("data", "shapes-world", "diffuser", "diffuser.ckpt"));
        File.WriteAllBytes(broken, original[..(original.Length / 3)]);
        var result = Processes.Rlrig(Repo.Root, Limit, "eval", "diffuser", "--checkpoint", broken, "--prompts", "3", "--seeds", "0");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains(broken, result.StdErr);
        Assert.DoesNotContain("   at ", result.StdErr);
    }
}
