namespace RlRig.SceneGraphs;

/// <summary>
/// The words <see cref="SceneGraph.ParsePrompt"/> may read: item labels, attributes and predicates. Entries may be
/// several words ("left of", "on the top of", "traffic light"); runs of white space inside an entry count as one
/// space. Matching is exact (ordinal, case-sensitive), like the LAION-SG metrics.
/// </summary>
public sealed class PromptVocabulary
{
    private readonly Dictionary<string, List<VocabularyEntry>> _byFirstWord = new(StringComparer.Ordinal);

    /// <summary>Creates a vocabulary; duplicates within a kind are ignored.</summary>
    /// <exception cref="ArgumentException">An entry is empty or white space.</exception>
    public PromptVocabulary(IEnumerable<string> labels, IEnumerable<string> attributes, IEnumerable<string> predicates)
    {
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(attributes);
        ArgumentNullException.ThrowIfNull(predicates);
        Labels = Add(labels, PromptWordKind.Label, nameof(labels));
        Attributes = Add(attributes, PromptWordKind.Attribute, nameof(attributes));
        Predicates = Add(predicates, PromptWordKind.Predicate, nameof(predicates));
    }

    /// <summary>Normalised labels.</summary>
    public IReadOnlySet<string> Labels { get; }

    /// <summary>Normalised attributes.</summary>
    public IReadOnlySet<string> Attributes { get; }

    /// <summary>Normalised predicates.</summary>
    public IReadOnlySet<string> Predicates { get; }

    /// <summary>The vocabulary of the given graphs: every label, attribute and predicate they use.</summary>
    public static PromptVocabulary FromGraphs(IEnumerable<SceneGraph> graphs)
    {
        ArgumentNullException.ThrowIfNull(graphs);
        var labels = new List<string>();
        var attributes = new List<string>();
        var predicates = new List<string>();
        foreach (SceneGraph graph in graphs)
        {
            foreach (SceneItem item in graph.Items)
            {
                labels.Add(item.Label);
                attributes.AddRange(item.Attributes);
            }
            predicates.AddRange(graph.Relations.Select(r => r.Predicate));
        }
        return new PromptVocabulary(labels, attributes, predicates);
    }

    internal IReadOnlyList<VocabularyEntry> StartingWith(string word) =>
        _byFirstWord.TryGetValue(word, out List<VocabularyEntry>? entries) ? entries : [];

    internal bool Knows(string word) => _byFirstWord.Values.Any(list => list.Any(e => e.Words.Contains(word)));

    private HashSet<string> Add(IEnumerable<string> entries, PromptWordKind kind, string paramName)
    {
        var set = new HashSet<string>(StringComparer.Ordinal);
        foreach (string raw in entries)
        {
            string[] words = (raw ?? "").Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (words.Length == 0)
                throw new ArgumentException($"A {kind.ToString().ToLowerInvariant()} entry is empty.", paramName);
            string text = string.Join(' ', words);
            if (!set.Add(text)) continue;
            if (!_byFirstWord.TryGetValue(words[0], out List<VocabularyEntry>? list))
                _byFirstWord[words[0]] = list = [];
            list.Add(new VocabularyEntry(kind, text, words));
        }
        return set;
    }
}

internal enum PromptWordKind
{
    Attribute,
    Label,
    Predicate,
}

internal sealed record VocabularyEntry(PromptWordKind Kind, string Text, string[] Words);

/// <summary>
/// A prompt that <see cref="SceneGraph.ParsePrompt"/> cannot read. The message names the word, its index in the
/// prompt and the segment.
/// </summary>
public sealed class PromptParseException : FormatException
{
    /// <summary>Creates the exception.</summary>
    public PromptParseException(string message, string word, int position, string segment)
        : base(message)
    {
        Word = word;
        Position = position;
        Segment = segment;
    }

    /// <summary>The offending word; empty when the segment ended too early.</summary>
    public string Word { get; }

    /// <summary>0-based character index of <see cref="Word"/> in the prompt (its end when the segment ended early).</summary>
    public int Position { get; }

    /// <summary>The segment (text between "; ") that holds the word, trimmed.</summary>
    public string Segment { get; }
}
