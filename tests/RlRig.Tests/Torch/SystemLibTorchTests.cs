using System.Text.Json.Nodes;
using RlRig.Tests.Support;
using static RlRig.Tests.Support.NotebookFiles;

namespace RlRig.Tests.Torch;

/// <summary>
/// A machine with a system PyTorch (Debian's python3-torch puts libtorch 1.13's libtorch_cpu.so in /lib/x86_64-linux-gnu)
/// must not make RlRig's hosts load that copy. A decoy library with libtorch's sonames but none of its symbols, placed
/// first on LD_LIBRARY_PATH, stands in for it: whichever host binds the decoy fails, as the system copy made it fail.
/// </summary>
public sealed class SystemLibTorchTests : IDisposable
{
    static readonly TimeSpan Limit = TimeSpan.FromMinutes(8);
    readonly TempDir temp = new();

    public void Dispose() => temp.Dispose();

    // Which of libtorch's libraries the decoy folder shadows.
    public static TheoryData<string[]> Decoys => new()
    {
        new[] { "libtorch_cpu.so" },
        new[] { "libtorch_cpu.so", "libc10.so", "libtorch.so" },
        new[] { "libc10.so" },
        new[] { "libtorch.so" },
    };

    string DecoyFolder(string[] libraries)
    {
        var dir = Directory.CreateDirectory(temp.File("decoy")).FullName;
        var source = temp.File("decoy.c");
        File.WriteAllText(source, "int rlrig_decoy(void) { return 0; }\n");
        foreach (var library in libraries)
        {
            var gcc = Processes.Exec("gcc", ["-shared", "-fPIC", $"-Wl,-soname,{library}", "-o", Path.Combine(dir, library), source], temp.Path, Limit);
            Assert.True(gcc.ExitCode == 0, gcc.ToString());
        }
        return dir;
    }

    [Theory]
    [MemberData(nameof(Decoys))]
    public void A_notebook_host_loads_rlrigs_libtorch_whatever_is_on_the_library_path(string[] decoys)
    {
        if (!OperatingSystem.IsLinux()) return;
        var decoy = DecoyFolder(decoys);
        var notebook = temp.File("decoy.ipynb");
        File.WriteAllText(notebook, Ipynb(
            Code($"#r \"{typeof(RlRig.Notebook.LiveDisplay).Assembly.Location}\"\nRlRig.Notebook.RlRigExtension.Load()"),
            Code("Console.WriteLine($\"sum={TorchSharp.torch.arange(4).sum().item<long>()}\");\n" +
                 "foreach (var lib in System.IO.File.ReadAllLines(\"/proc/self/maps\").Where(l => l.Contains(\"libtorch_cpu\") || l.Contains(\"libc10\")).Select(l => l[l.IndexOf('/')..]).Distinct())\n" +
                 "    Console.WriteLine($\"mapped={lib}\");")));
        var restore = Processes.Exec("dotnet", ["tool", "restore"], Repo.Root, Limit);
        Assert.True(restore.ExitCode == 0, restore.ToString());
        var output = temp.File("out.ipynb");
        var run = Processes.Exec("dotnet", ["tool", "run", "dotnet-repl", "--", "--run", notebook, "--exit-after-run", "--output-path", output],
            Repo.Root, Limit, new Dictionary<string, string> { ["LD_LIBRARY_PATH"] = decoy });

        var text = File.Exists(output) ? File.ReadAllText(output) : "";
        Assert.True(run.ExitCode == 0, $"{run}\n--- notebook\n{text}");
        var printed = string.Concat(JsonNode.Parse(text)!["cells"]!.AsArray()[1]!["outputs"]!.AsArray()
            .Select(o => o!["text"] is JsonArray lines ? string.Concat(lines.Select(l => (string?)l)) : (string?)o!["text"]));
        Assert.Contains("sum=6", printed);
        var mapped = printed.Split('\n').Where(l => l.StartsWith("mapped=", StringComparison.Ordinal)).Select(l => l["mapped=".Length..].Trim()).ToList();
        Assert.Equal(2, mapped.Count); // one libtorch_cpu.so, one libc10.so: no second copy of either
        Assert.All(mapped, path => Assert.DoesNotContain(decoy, path));
    }

    [Theory]
    [MemberData(nameof(Decoys))]
    public void Rlrig_doctor_loads_rlrigs_libtorch_whatever_is_on_the_library_path(string[] decoys)
    {
        if (!OperatingSystem.IsLinux()) return;
        var decoy = DecoyFolder(decoys);
        var run = Processes.Exec("dotnet", [Path.Combine(AppContext.BaseDirectory, "rlrig.dll"), "doctor"], temp.Path, Limit,
            new Dictionary<string, string> { ["LD_LIBRARY_PATH"] = decoy });
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("arange(4).sum() = 6", run.StdOut);
        Assert.Contains("libtorch bound by absolute path from ", run.StdOut);
    }
}
