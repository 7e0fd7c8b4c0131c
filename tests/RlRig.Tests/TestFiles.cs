namespace RlRig.Tests;

/// <summary>Paths of the repository's data files and throw-away folders for tests.</summary>
internal static class TestFiles
{
    private static readonly Lazy<string> Root = new(() =>
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "data", "laion-sg", "sample.json"))) return dir.FullName;
        throw new InvalidOperationException("data/laion-sg/sample.json not found above " + AppContext.BaseDirectory);
    });

    public static string LaionSg(string name) => Path.Combine(Root.Value, "data", "laion-sg", name);
}

/// <summary>A fresh folder under the temp path, deleted on dispose.</summary>
internal sealed class TempFolder : IDisposable
{
    public TempFolder()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "rlrig-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public string Write(string name, string text)
    {
        string path = File(name);
        System.IO.File.WriteAllText(path, text);
        return path;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp folder must not fail a test.
        }
    }
}
