namespace RlRig.SceneGraphs;

/// <summary>
/// Items and the relations between them. Always valid: item ids are unique, labels and predicates are not empty
/// and every relation refers to items of this graph (the constructor checks). Equality is by content and by
/// order: two graphs are equal when their item lists and relation lists are equal element by element.
/// </summary>
public sealed class SceneGraph : IEquatable<SceneGraph>
{
    private readonly Dictionary<int, SceneItem> _byId;

    /// <summary>Creates a graph, checking it (see the class remarks).</summary>
    /// <exception cref="ArgumentException">A duplicate id, an empty label or predicate, or a dangling relation.</exception>
    public SceneGraph(IEnumerable<SceneItem> items, IEnumerable<SceneRelation> relations)
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(relations);
        Items = items.ToArray();
        Relations = relations.ToArray();
        _byId = new Dictionary<int, SceneItem>(Items.Count);
        for (int i = 0; i < Items.Count; i++)
        {
            SceneItem item = Items[i] ?? throw new ArgumentException($"items[{i}] is null.", nameof(items));
            if (string.IsNullOrWhiteSpace(item.Label))
                throw new ArgumentException($"items[{i}] (id {item.Id}) has an empty label.", nameof(items));
            if (item.Attributes is null)
                throw new ArgumentException($"items[{i}] (id {item.Id}) has null attributes.", nameof(items));
            if (!_byId.TryAdd(item.Id, item))
                throw new ArgumentException($"items[{i}] repeats item id {item.Id}.", nameof(items));
        }
        for (int i = 0; i < Relations.Count; i++)
        {
            SceneRelation r = Relations[i] ?? throw new ArgumentException($"relations[{i}] is null.", nameof(relations));
            if (string.IsNullOrWhiteSpace(r.Predicate))
                throw new ArgumentException($"relations[{i}] has an empty predicate.", nameof(relations));
            if (!_byId.ContainsKey(r.SubjectId))
                throw new ArgumentException($"relations[{i}] subject id {r.SubjectId} is not an item id.", nameof(relations));
            if (!_byId.ContainsKey(r.ObjectId))
                throw new ArgumentException($"relations[{i}] object id {r.ObjectId} is not an item id.", nameof(relations));
        }
    }

    /// <summary>The graph with no items.</summary>
    public static SceneGraph Empty { get; } = new([], []);

    /// <summary>Items in their given order.</summary>
    public IReadOnlyList<SceneItem> Items { get; }

    /// <summary>Relations in their given order.</summary>
    public IReadOnlyList<SceneRelation> Relations { get; }

    /// <summary>The item with id <paramref name="id"/>.</summary>
    /// <exception cref="KeyNotFoundException">No such item.</exception>
    public SceneItem Item(int id) =>
        _byId.TryGetValue(id, out SceneItem? item) ? item : throw new KeyNotFoundException($"No item has id {id}.");

    /// <summary>Items that take part in no relation, in item order.</summary>
    public IEnumerable<SceneItem> IsolatedItems()
    {
        var used = new HashSet<int>();
        foreach (SceneRelation r in Relations)
        {
            used.Add(r.SubjectId);
            used.Add(r.ObjectId);
        }
        return Items.Where(i => !used.Contains(i.Id));
    }

    /// <summary>Each relation as (subject label, predicate, object label), in relation order, duplicates kept.</summary>
    public IEnumerable<LabelTriple> LabelTriples() =>
        Relations.Select(r => new LabelTriple(Item(r.SubjectId).Label, r.Predicate, Item(r.ObjectId).Label));

    /// <summary>Distinct item labels in first-seen order.</summary>
    public IEnumerable<string> Labels() => Items.Select(i => i.Label).Distinct(StringComparer.Ordinal);

    /// <summary>Distinct predicates in first-seen order.</summary>
    public IEnumerable<string> Predicates() => Relations.Select(r => r.Predicate).Distinct(StringComparer.Ordinal);

    /// <summary>
    /// The RL-RIG prompt: one segment <c>&lt;attrs&gt; &lt;label&gt; &lt;relation&gt; &lt;attrs&gt; &lt;label&gt;</c> per
    /// relation, joined by "; ", e.g. "stone tall tower attached to stone arched bridge". Items in no relation follow
    /// as segments of their own text, so that <see cref="ParsePrompt"/> gets them back.
    /// </summary>
    public string ToPromptText()
    {
        IEnumerable<string> triples = Relations.Select(r =>
            $"{Item(r.SubjectId).Text} {r.Predicate} {Item(r.ObjectId).Text}");
        return string.Join("; ", triples.Concat(IsolatedItems().Select(i => i.Text)));
    }

    /// <summary>
    /// Parses an RL-RIG prompt (see <see cref="ToPromptText"/>) with the words of <paramref name="vocabulary"/>.
    /// Items get ids 0, 1, ... in order of first appearance; equal item texts are the same item. Boxes are absent.
    /// </summary>
    /// <exception cref="PromptParseException">An unknown word, an ambiguous reading or a malformed segment.</exception>
    public static SceneGraph ParsePrompt(string text, PromptVocabulary vocabulary) =>
        PromptParser.Parse(text, vocabulary);

    /// <inheritdoc />
    public bool Equals(SceneGraph? other) =>
        other is not null
        && (ReferenceEquals(this, other)
            || (Items.SequenceEqual(other.Items) && Relations.SequenceEqual(other.Relations)));

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as SceneGraph);

    /// <inheritdoc />
    public override int GetHashCode()
    {
        var hash = new HashCode();
        foreach (SceneItem item in Items) hash.Add(item);
        foreach (SceneRelation relation in Relations) hash.Add(relation);
        return hash.ToHashCode();
    }

    /// <summary>Content equality.</summary>
    public static bool operator ==(SceneGraph? left, SceneGraph? right) => Equals(left, right);

    /// <summary>Content inequality.</summary>
    public static bool operator !=(SceneGraph? left, SceneGraph? right) => !Equals(left, right);

    /// <summary>The prompt text, for debugging.</summary>
    public override string ToString() => $"SceneGraph({Items.Count} items, {Relations.Count} relations): {ToPromptText()}";
}
