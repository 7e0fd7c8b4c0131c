using RlRig.Tests.Support;
using static RlRig.Tests.Support.NotebookFiles;

namespace RlRig.Tests.Notebooks;

/// <summary>The extension as a NuGet package: <c>#r "nuget:RlRig.Notebook"</c> must load it with no call from the notebook.</summary>
public sealed class NuGetExtensionTests : IDisposable
{
    static readonly TimeSpan Limit = TimeSpan.FromMinutes(8);
    readonly TempDir temp = new();
    // A version no earlier run used, so the global package cache cannot serve a stale copy.
    readonly string version = $"0.0.0-test.{Guid.NewGuid():N}";

    public void Dispose()
    {
        temp.Dispose();
        var packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        foreach (var id in new[] { "rlrig.kernel", "rlrig.notebook" })
        {
            var dir = Path.Combine(packages, id, version);
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Package_loads_as_an_extension_in_dotnet_repl()
    {
        var feed = temp.File("feed");
        // A configuration of its own keeps this build away from the Debug outputs other tests are using.
        foreach (var project in new[] { "src/RlRig.Kernel", "src/RlRig.Notebook" })
        {
            var pack = Processes.Exec("dotnet", ["pack", project, "-c", "NuGetTest", "-o", feed, $"-p:Version={version}"], Repo.Root, Limit);
            Assert.True(pack.ExitCode == 0, pack.ToString());
        }

        var notebook = temp.File("nuget.ipynb");
        File.WriteAllText(notebook, Ipynb(
            Code($"#i \"nuget:{feed}\"\n#r \"nuget:RlRig.Notebook,{version}\""),
            Code("using SixLabors.ImageSharp; using SixLabors.ImageSharp.PixelFormats;\nnew Image<Rgb24>(8, 8, new Rgb24(255, 0, 0))"),
            Code("TorchSharp.torch.arange(4).sum()")));
        var restore = Processes.Exec("dotnet", ["tool", "restore"], Repo.Root, Limit);
        Assert.True(restore.ExitCode == 0, restore.ToString());
        var output = temp.File("out.ipynb");
        var run = Processes.Exec("dotnet", ["tool", "run", "dotnet-repl", "--", "--run", notebook, "--exit-after-run", "--output-path", output], Repo.Root, Limit);
        Assert.True(run.ExitCode == 0, run.ToString());

        var text = File.ReadAllText(output);
        Assert.Contains($"rlrig.notebook/{version}/interactive-extensions/dotnet/RlRig.Notebook.dll", text);
        Assert.Contains("\"image/png\"", text); // the image formatter was registered by the extension itself
        Assert.Contains("\"6\"", text);         // TorchSharp loaded from the package cache
    }
}
