namespace RlRig.Tests.Support;

/// <summary>Locations in the repository the tests run from.</summary>
public static class Repo
{
    /// <summary>The folder holding RlRig.sln.</summary>
    public static string Root { get; } = FindRoot();

    public static string PathOf(params string[] parts) => Path.Combine([Root, .. parts]);

    static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "RlRig.sln"))) return dir.FullName;
        throw new InvalidOperationException($"RlRig.sln not found above {AppContext.BaseDirectory}");
    }
}
