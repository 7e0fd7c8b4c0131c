namespace RlRig.SceneGraphs;

/// <summary>
/// One object of a scene: a label ("tower"), its attributes in order ("stone", "tall") and, when known, its box.
/// Equality is by content: two items are equal when id, label, attribute sequence and box are equal.
/// </summary>
/// <param name="Id">Identifier, unique within its graph.</param>
/// <param name="Label">Object name; not empty.</param>
/// <param name="Attributes">Adjectives in prompt order.</param>
/// <param name="Box">Where the item is in an image, if known.</param>
public sealed record SceneItem(int Id, string Label, IReadOnlyList<string> Attributes, Box? Box = null)
{
    /// <summary>
    /// The item as prompt text, attributes joined by spaces then the label ("stone tall tower"), as LAION-SG and
    /// RL-RIG render it.
    /// </summary>
    public string Text => Attributes.Count == 0 ? Label : string.Join(' ', Attributes) + " " + Label;

    /// <inheritdoc />
    public bool Equals(SceneItem? other) =>
        other is not null
        && Id == other.Id
        && string.Equals(Label, other.Label, StringComparison.Ordinal)
        && Attributes.SequenceEqual(other.Attributes, StringComparer.Ordinal)
        && Equals(Box, other.Box);

    /// <inheritdoc />
    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(Id);
        hash.Add(Label, StringComparer.Ordinal);
        foreach (string attribute in Attributes) hash.Add(attribute, StringComparer.Ordinal);
        hash.Add(Box);
        return hash.ToHashCode();
    }
}

/// <summary>A directed relation "subject predicate object" between two items of the same graph.</summary>
/// <param name="SubjectId">Id of the subject item (LAION-SG <c>item1</c>).</param>
/// <param name="Predicate">Relation text, e.g. "left of"; not empty.</param>
/// <param name="ObjectId">Id of the object item (LAION-SG <c>item2</c>).</param>
public sealed record SceneRelation(int SubjectId, string Predicate, int ObjectId);

/// <summary>A relation with its ends replaced by item labels, the unit SG-IoU compares.</summary>
public readonly record struct LabelTriple(string Subject, string Predicate, string Object)
{
    /// <inheritdoc />
    public override string ToString() => $"({Subject}, {Predicate}, {Object})";
}
