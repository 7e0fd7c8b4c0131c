using System.Text.RegularExpressions;

namespace RlRig.Remote;

/// <summary>
/// A prompt the VLM backends send, kept as a text file the user can read and change: <c>checker.txt</c>,
/// <c>actor.txt</c>, <c>judge-scene-graph.txt</c>, <c>judge-spatial.txt</c>. <c>{{name}}</c> marks where the backend puts
/// its data (the scene, the reflection, the vocabularies). The defaults ship in the <c>prompts</c> folder beside
/// RlRig.Kernel.dll (sources in <c>src/RlRig.Kernel/Remote/Prompts</c>; the assembly also embeds them, for hosts that load
/// it without that folder); a folder of edited copies replaces them.
/// </summary>
public sealed partial class PromptTemplate
{
    public const string Checker = "checker", Actor = "actor", SceneGraphJudge = "judge-scene-graph", SpatialJudge = "judge-spatial";

    /// <summary>The folder of the templates that ship with RlRig.</summary>
    public static string DefaultFolder => Path.Combine(Path.GetDirectoryName(typeof(PromptTemplate).Assembly.Location) ?? AppContext.BaseDirectory, "prompts");

    public string FilePath { get; }
    public string Text { get; }

    PromptTemplate(string path, string text) => (FilePath, Text) = (path, text);

    /// <summary>Reads template <paramref name="name"/> from <paramref name="folder"/> (null: <see cref="DefaultFolder"/>) and checks its placeholders.</summary>
    /// <exception cref="ArgumentException">The file cannot be read, or it uses a placeholder the backend does not fill (named, with the ones it does).</exception>
    public static PromptTemplate Load(string name, IReadOnlyCollection<string> placeholders, string? folder = null)
    {
        var path = Path.Combine(folder ?? DefaultFolder, name + ".txt");
        string text;
        if (folder is null && !File.Exists(path) && typeof(PromptTemplate).Assembly.GetManifestResourceStream($"RlRig.Remote.Prompts.{name}.txt") is { } shipped)
            using (var reader = new StreamReader(shipped)) text = reader.ReadToEnd();
        else
            try { text = File.ReadAllText(path); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            { throw new ArgumentException($"prompt template {path}: cannot be read ({e.Message})"); }
        foreach (Match m in Placeholder().Matches(text))
            if (!placeholders.Contains(m.Groups[1].Value))
                throw new ArgumentException($"prompt template {path}: {{{{{m.Groups[1].Value}}}}} is not filled by this backend (it fills {string.Join(", ", placeholders.Select(p => "{{" + p + "}}"))})");
        return new PromptTemplate(path, text);
    }

    /// <summary>The prompt with every placeholder replaced by its value.</summary>
    public string Fill(IReadOnlyDictionary<string, string> values) =>
        Placeholder().Replace(Text, m => values.TryGetValue(m.Groups[1].Value, out var v) ? v : m.Value);

    [GeneratedRegex(@"\{\{([a-z_]+)\}\}")]
    private static partial Regex Placeholder();
}
