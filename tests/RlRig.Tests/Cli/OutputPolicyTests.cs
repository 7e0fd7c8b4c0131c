using System.Diagnostics;
using RlRig.IO;
using RlRig.Tests.Support;
using static RlRig.Tests.Support.NotebookFiles;

namespace RlRig.Tests.Cli;

/// <summary>
/// The output policy (README, "Output policy") as users meet it: every command refuses, before any work, an output that
/// is one of its inputs, a FIFO, a symbolic link, a folder or a file where a folder is wanted, and leaves it as it was.
/// </summary>
public sealed class OutputPolicyTests : IDisposable
{
    static readonly TimeSpan Limit = TimeSpan.FromMinutes(3);
    static readonly string Sample = Repo.PathOf("data", "laion-sg", "sample.json");
    static readonly string Prediction = Repo.PathOf("data", "laion-sg", "sample-pred.json");
    readonly TempDir temp = new();

    public void Dispose() => temp.Dispose();

    static ProcessResult Rlrig(string cwd, params string[] args) => Processes.Rlrig(cwd, Limit, args);

    static void AssertRefused(ProcessResult run, string message)
    {
        Assert.True(run.ExitCode == 2, run.ToString());
        Assert.Contains(message, run.StdErr);
        Assert.DoesNotContain("   at ", run.StdOut + run.StdErr);
        Assert.DoesNotContain("Unhandled", run.StdOut + run.StdErr);
    }

    string Fifo(string name)
    {
        var path = temp.File(name);
        using (var mkfifo = Process.Start("mkfifo", [path])) mkfifo.WaitForExit();
        Assert.Equal(FileKind.Special, FileKinds.Of(path));
        return path;
    }

    string Link(string name, string target)
    {
        var path = temp.File(name);
        File.CreateSymbolicLink(path, target);
        return path;
    }

    string Copy(string source, string name)
    {
        var path = temp.File(name);
        File.Copy(source, path);
        return path;
    }

    // Each kind of target that must never be replaced, through each command whose --out names a file.
    public static TheoryData<string, string> RefusedFileTargets() => new()
    {
        { "fifo", "is a device, FIFO or socket" },
        { "link", "is a symbolic link" },
        { "dangling-link", "is a symbolic link" },
        { "folder", "is a folder, not a file" },
        { "the-truth", "is the same file as --truth" },
        { "link-to-the-truth", "is a symbolic link" },
        { "hard-link-to-the-prediction", "is the same file as --pred" },
        { "the-truth-by-another-spelling", "is the same file as --truth" },
        { "below-a-file", "is not a folder, so nothing can be written below it" },
        { "empty", "--out: the path is empty" },
    };

    string Target(string kind, string truth, string prediction) => kind switch
    {
        "fifo" => Fifo("out.fifo"),
        "link" => Link("out.json", Copy(Sample, "elsewhere.json")),
        "dangling-link" => Link("out.json", temp.File("nothing-here.json")),
        "folder" => Directory.CreateDirectory(temp.File("out-folder")).FullName,
        "the-truth" => truth,
        "link-to-the-truth" => Link("out.json", truth),
        "hard-link-to-the-prediction" => HardLink(prediction, temp.File("hard.json")),
        "the-truth-by-another-spelling" => Path.Combine(temp.Path, ".", "sub", "..", Path.GetFileName(truth)),
        "below-a-file" => Path.Combine(truth, "scores.json"),
        "empty" => "",
        _ => throw new ArgumentException(kind),
    };

    static string HardLink(string existing, string path)
    {
        using (var ln = Process.Start("ln", [existing, path])) ln.WaitForExit();
        return path;
    }

    [Theory]
    [MemberData(nameof(RefusedFileTargets))]
    public void Eval_sg_refuses_an_output_it_must_not_replace_and_leaves_it_as_it_was(string kind, string message)
    {
        Directory.CreateDirectory(temp.File("sub"));
        var truth = Copy(Sample, "truth.json");
        var prediction = Copy(Prediction, "pred.json");
        var target = Target(kind, truth, prediction);
        var before = Snapshot(target);
        AssertRefused(Rlrig(temp.Path, "eval-sg", "--truth", truth, "--pred", prediction, "--out", target), message);
        Assert.Equal(before, Snapshot(target));
        Assert.Equal(File.ReadAllBytes(Sample), File.ReadAllBytes(truth));
        Assert.Empty(Directory.GetFiles(temp.Path, "*.tmp", SearchOption.AllDirectories));
    }

    // What a path is and holds, to show that a refused command changed nothing.
    static string Snapshot(string path) => path.Length == 0 ? "" : FileKinds.Of(path) switch
    {
        FileKind.RegularFile => "file:" + Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(path))),
        FileKind.SymbolicLink => "link:" + new FileInfo(path).LinkTarget,
        var kind => kind.ToString(),
    };

    [Fact]
    public void Every_command_with_a_file_output_refuses_a_fifo_and_a_link_before_any_work()
    {
        var fifo = Fifo("out.fifo");
        var link = Link("out.json", Copy(Sample, "elsewhere.json"));
        foreach (var target in new[] { fifo, link })
        {
            // judge-report measures 600 scenes and bench 200,000 records by default: refused at once, or the test times out.
            var what = target == fifo ? "is a device, FIFO or socket" : "is a symbolic link";
            AssertRefused(Rlrig(temp.Path, "world", "judge-report", "--out", target), what);
            AssertRefused(Rlrig(temp.Path, "world", "eval-set", "--out", target), what);
            AssertRefused(Rlrig(temp.Path, "bench", "laion-sg", "--out", target), what);
            AssertRefused(Rlrig(Repo.Root, "eval", "diffuser", "--out", target), what);
            AssertRefused(Rlrig(Repo.Root, "bench", "diffuser", "--out", target), what);
        }
        Assert.Equal(FileKind.Special, FileKinds.Of(fifo));
        Assert.Equal(FileKind.SymbolicLink, FileKinds.Of(link));
    }

    [Theory]
    [InlineData("diffuser.ckpt", "is the same file as --checkpoint")]
    [InlineData("diffuser.ckpt.manifest.json", "is the same file as the manifest of --checkpoint")]
    [InlineData("eval-prompts.json", "is the same file as --eval-set")]
    public void Eval_diffuser_never_writes_over_its_inputs(string input, string message)
    {
        var checkpoint = Copy(Repo.PathOf("data", "shapes-world", "diffuser", "diffuser.ckpt"), "diffuser.ckpt");
        Copy(Repo.PathOf("data", "shapes-world", "diffuser", "diffuser.ckpt.manifest.json"), "diffuser.ckpt.manifest.json");
        var evalSet = Copy(Repo.PathOf("data", "shapes-world", "eval-prompts.json"), "eval-prompts.json");
        var before = File.ReadAllBytes(temp.File(input));
        AssertRefused(Rlrig(temp.Path, "eval", "diffuser", "--checkpoint", checkpoint, "--eval-set", evalSet, "--prompts", "1", "--seeds", "0", "--out", temp.File(input)), message);
        Assert.Equal(before, File.ReadAllBytes(temp.File(input)));
    }

    [Fact]
    public void Run_refuses_to_write_over_the_notebook_it_runs_before_any_cell_runs()
    {
        var marker = temp.File("ran.txt");
        var notebook = temp.File("nb.ipynb");
        File.WriteAllText(notebook, Ipynb(Code($"System.IO.File.WriteAllText(@\"{marker}\", \"ran\");")));
        var source = File.ReadAllText(notebook);
        foreach (var outFolder in new[] { temp.Path, temp.Path + "/", Path.Combine(temp.Path, "sub", "..") })
            AssertRefused(Rlrig(temp.Path, "run", notebook, "--out", outFolder), "is the same file as the notebook");
        AssertRefused(Rlrig(temp.Path, "run", "nb.ipynb", "--out", "."), "is the same file as the notebook");
        Assert.False(File.Exists(marker), "a cell ran before the refusal");
        Assert.Equal(source, File.ReadAllText(notebook));
    }

    [Fact]
    public void A_folder_output_that_is_a_file_a_fifo_or_unwritable_is_refused_before_any_work()
    {
        var file = Copy(Sample, "a-file");
        var notebook = temp.File("nb.ipynb");
        var marker = temp.File("ran.txt");
        File.WriteAllText(notebook, Ipynb(Code($"System.IO.File.WriteAllText(@\"{marker}\", \"ran\");")));
        foreach (var (target, message) in new[] { (file, "is a file, not a folder"), (Fifo("fifo"), "is a file, not a folder"), (Path.Combine(file, "sub"), "is not a folder"), ("/proc/rlrig-x", "cannot create files in /proc") })
        {
            AssertRefused(Rlrig(temp.Path, "run", notebook, "--out", target), message);
            // train would otherwise train, then fail at its first checkpoint.
            AssertRefused(Rlrig(Repo.Root, "train", "diffuser", "--steps", "1", "--out", target), message);
        }
        Assert.False(File.Exists(marker));
        Assert.Equal(File.ReadAllBytes(Sample), File.ReadAllBytes(file));
    }

    [Fact]
    public void Train_refuses_a_run_folder_whose_checkpoint_is_a_link_or_whose_tensorboard_is_a_file()
    {
        var run = Directory.CreateDirectory(temp.File("run")).FullName;
        File.CreateSymbolicLink(Path.Combine(run, "diffuser.ckpt"), Copy(Sample, "elsewhere.ckpt"));
        AssertRefused(Rlrig(Repo.Root, "train", "diffuser", "--steps", "1", "--out", run), "diffuser.ckpt: is a symbolic link");
        File.Delete(Path.Combine(run, "diffuser.ckpt"));
        File.WriteAllText(Path.Combine(run, "tensorboard"), "");
        AssertRefused(Rlrig(Repo.Root, "train", "diffuser", "--steps", "1", "--out", run), "tensorboard is not a folder");
    }

    [Fact]
    public void World_generate_writes_only_into_a_new_or_empty_folder()
    {
        var full = Directory.CreateDirectory(temp.File("full")).FullName;
        File.WriteAllText(Path.Combine(full, "keep.txt"), "mine");
        AssertRefused(Rlrig(temp.Path, "world", "generate", "--n", "2", "--out", full), "is a folder that is not empty");
        Assert.Equal(["keep.txt"], Directory.GetFileSystemEntries(full).Select(Path.GetFileName));
        AssertRefused(Rlrig(temp.Path, "world", "generate", "--n", "2", "--out", Copy(Sample, "a-file")), "is a file, not a folder");
        AssertRefused(Rlrig(temp.Path, "world", "generate", "--n", "2", "--out", Link("linked", full)), "is a symbolic link");

        var empty = Directory.CreateDirectory(temp.File("empty")).FullName;
        var ok = Rlrig(temp.Path, "world", "generate", "--n", "2", "--out", empty);
        Assert.True(ok.ExitCode == 0, ok.ToString());
        Assert.True(File.Exists(Path.Combine(empty, "annotations.json")));
    }

    // A killed or interrupted generate must leave no half-made dataset and no hidden temporary folder.
    [Theory]
    [InlineData("TERM")]
    [InlineData("INT")]
    public async Task An_interrupted_world_generate_leaves_nothing(string signal)
    {
        var output = temp.File("dataset");
        var info = new ProcessStartInfo("env") { WorkingDirectory = temp.Path, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "--default-signal=INT", "dotnet", Path.Combine(AppContext.BaseDirectory, "rlrig.dll"), "world", "generate", "--n", "1000000", "--out", output })
            info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var stderr = process.StandardError.ReadToEndAsync();
        // Wait until images are being written (the hidden staging folder exists), then stop it.
        var deadline = DateTime.UtcNow + Limit;
        while (DateTime.UtcNow < deadline && !process.HasExited && !Directory.EnumerateDirectories(temp.Path, ".dataset.*.tmp").Any()) await Task.Delay(100);
        await Task.Delay(1500);
        // The message only on failure: stderr ends when the process does.
        if (process.HasExited) Assert.Fail(await stderr);
        using (var kill = Process.Start("kill", [$"-{signal}", process.Id.ToString()])) kill.WaitForExit();
        Assert.True(process.WaitForExit(Limit), "world generate did not stop");
        Assert.Equal(130, process.ExitCode);
        Assert.Contains("interrupted; nothing was written", await stderr);
        Assert.Empty(Directory.GetFileSystemEntries(temp.Path));
    }

    [Fact]
    public void What_a_killed_process_left_behind_is_removed_by_the_next_write_there()
    {
        // PIDs are below 2^22 on Linux: 99999999 is never a running process; this process's own files are kept.
        var staleFolder = Directory.CreateDirectory(temp.File($".dataset.99999999.{Guid.NewGuid():N}.tmp")).FullName;
        File.WriteAllText(Path.Combine(staleFolder, "000001.png"), "");
        var staleFile = temp.File($".training-state.bin.99999999.{Guid.NewGuid():N}.tmp");
        File.WriteAllText(staleFile, "");
        var live = temp.File($".diffuser.ckpt.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        File.WriteAllText(live, "");
        var unrelated = temp.File(".notes.tmp");
        File.WriteAllText(unrelated, "");

        Assert.Equal(2, AtomicFile.RemoveStaleTemporaries(temp.Path));
        Assert.False(Directory.Exists(staleFolder));
        Assert.False(File.Exists(staleFile));
        Assert.True(File.Exists(live));
        Assert.True(File.Exists(unrelated));

        // world generate cleans the folder it writes beside.
        Directory.CreateDirectory(staleFolder);
        var run = Rlrig(temp.Path, "world", "generate", "--n", "1", "--out", temp.File("dataset"));
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.False(Directory.Exists(staleFolder));
    }

    [Fact]
    public void AtomicFile_refuses_to_replace_anything_but_a_regular_file()
    {
        var fifo = Fifo("fifo");
        var target = Copy(Sample, "target.json");
        var link = Link("link.json", target);
        var folder = Directory.CreateDirectory(temp.File("folder")).FullName;
        foreach (var path in new[] { fifo, link, folder })
        {
            var e = Assert.Throws<IOException>(() => AtomicFile.WriteAllText(path, "x"));
            Assert.Contains(path, e.Message);
        }
        Assert.Equal(FileKind.Special, FileKinds.Of(fifo));
        Assert.Equal(FileKind.SymbolicLink, FileKinds.Of(link));
        Assert.Equal(File.ReadAllBytes(Sample), File.ReadAllBytes(target));
        Assert.Empty(Directory.GetFiles(temp.Path, "*.tmp"));
        AtomicFile.WriteAllText(target, "replaced");
        Assert.Equal("replaced", File.ReadAllText(target));
        Assert.Equal(FileKind.Special, FileKinds.Of("/dev/null"));
        Assert.NotNull(AtomicFile.ProblemWithTarget("/dev/null"));
    }
}
