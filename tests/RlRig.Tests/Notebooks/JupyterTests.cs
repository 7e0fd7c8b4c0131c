using RlRig.Tests.Support;

namespace RlRig.Tests.Notebooks;

/// <summary>
/// Jupyter is a host users open the notebooks in: every notebook must run there too, in the .NET kernel of the
/// Microsoft.dotnet-interactive tool, through <c>scripts/jupyter-check.sh</c> (the script CI can also run on its own).
/// Jupyter comes from Debian 12's packages (environment.md, "Jupyter"); without it this test fails and says what to install.
/// </summary>
public sealed class JupyterTests
{
    [Fact]
    public void Every_notebook_runs_in_jupyter_with_the_dotnet_kernel()
    {
        if (!OperatingSystem.IsLinux()) return;
        var run = Processes.Exec("bash", [Repo.PathOf("scripts/jupyter-check.sh")], Repo.Root, TimeSpan.FromMinutes(20));
        Assert.True(run.ExitCode == 0, run.ToString());
        foreach (var notebook in Directory.GetFiles(Repo.PathOf("notebooks"), "*.ipynb").Select(Path.GetFileName))
            Assert.Contains($"jupyter-check: {notebook} ran in ", run.StdOut);
    }
}
