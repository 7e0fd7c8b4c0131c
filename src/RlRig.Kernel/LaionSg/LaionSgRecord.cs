using RlRig.SceneGraphs;

namespace RlRig.LaionSg;

/// <summary>
/// One LAION-SG annotation: an image and its scene graph, field for field as in the published JSON
/// (<c>img_id</c>, <c>name</c>, <c>caption_ori</c>, <c>score</c>, <c>url</c>, <c>items</c>, <c>relations</c>).
/// <c>img_id</c> and <c>score</c> stay strings as in the files, so writing gives back the same text.
/// <see cref="Name"/> and <see cref="Url"/> are untrusted data: see <see cref="LaionSgImages"/> before touching disk.
/// Equality is by content, lists compared element by element.
/// </summary>
public sealed record LaionSgRecord(
    string ImgId,
    string Name,
    string CaptionOri,
    string Score,
    string Url,
    IReadOnlyList<LaionSgItem> Items,
    IReadOnlyList<LaionSgRelation> Relations)
{
    /// <summary>The record as a scene graph: item_id becomes the item id, item1/item2 the relation ends.</summary>
    /// <exception cref="ArgumentException">The record is not valid (see <see cref="LaionSgValidation"/>).</exception>
    public SceneGraph ToSceneGraph() => new(
        Items.Select(i => new SceneItem(i.ItemId, i.Label, i.Attributes)),
        Relations.Select(r => new SceneRelation(r.Item1, r.Relation, r.Item2)));

    /// <inheritdoc />
    public bool Equals(LaionSgRecord? other) =>
        other is not null
        && string.Equals(ImgId, other.ImgId, StringComparison.Ordinal)
        && string.Equals(Name, other.Name, StringComparison.Ordinal)
        && string.Equals(CaptionOri, other.CaptionOri, StringComparison.Ordinal)
        && string.Equals(Score, other.Score, StringComparison.Ordinal)
        && string.Equals(Url, other.Url, StringComparison.Ordinal)
        && Items.SequenceEqual(other.Items)
        && Relations.SequenceEqual(other.Relations);

    /// <inheritdoc />
    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(ImgId, StringComparer.Ordinal);
        hash.Add(Name, StringComparer.Ordinal);
        hash.Add(CaptionOri, StringComparer.Ordinal);
        hash.Add(Score, StringComparer.Ordinal);
        hash.Add(Url, StringComparer.Ordinal);
        foreach (LaionSgItem item in Items) hash.Add(item);
        foreach (LaionSgRelation relation in Relations) hash.Add(relation);
        return hash.ToHashCode();
    }
}

/// <summary>An element of <c>items</c>.</summary>
/// <param name="ItemId"><c>item_id</c>, unique within the record.</param>
/// <param name="Label"><c>label</c>, not empty.</param>
/// <param name="Attributes"><c>attributes</c>, in order.</param>
/// <param name="GlobalItemId"><c>global_item_id</c>; absent in some releases.</param>
public sealed record LaionSgItem(int ItemId, string Label, IReadOnlyList<string> Attributes, int? GlobalItemId = null)
{
    /// <inheritdoc />
    public bool Equals(LaionSgItem? other) =>
        other is not null
        && ItemId == other.ItemId
        && string.Equals(Label, other.Label, StringComparison.Ordinal)
        && Attributes.SequenceEqual(other.Attributes, StringComparer.Ordinal)
        && GlobalItemId == other.GlobalItemId;

    /// <inheritdoc />
    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(ItemId);
        hash.Add(Label, StringComparer.Ordinal);
        foreach (string attribute in Attributes) hash.Add(attribute, StringComparer.Ordinal);
        hash.Add(GlobalItemId);
        return hash.ToHashCode();
    }
}

/// <summary>An element of <c>relations</c>: <c>item1</c> <c>relation</c> <c>item2</c>.</summary>
/// <param name="TripleId"><c>triple_id</c>, unique within the record.</param>
/// <param name="Item1"><c>item1</c>, the subject's item_id.</param>
/// <param name="Relation"><c>relation</c>, the predicate; not empty.</param>
/// <param name="Item2"><c>item2</c>, the object's item_id.</param>
/// <param name="GlobalRelationId"><c>global_relation_id</c>; absent in some releases.</param>
public sealed record LaionSgRelation(int TripleId, int Item1, string Relation, int Item2, int? GlobalRelationId = null);
