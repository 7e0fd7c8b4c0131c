namespace RlRig.LaionSg;

/// <summary>
/// The checks a record must pass beyond JSON types: a non-empty img_id, non-empty labels, attributes and relation
/// names, unique item_id and triple_id, and item1/item2 that name an item of the same record. The reader applies
/// them to every record and the writer refuses records that fail them, so written files always read back.
/// </summary>
public static class LaionSgValidation
{
    // Records hold a handful of items; a quadratic scan beats allocating a set for each of them.
    private const int LinearScanLimit = 32;

    /// <summary>The first problem of <paramref name="record"/>, or null when it is valid.</summary>
    public static LaionSgError? Check(LaionSgRecord record, int recordIndex = 0, string? source = null)
    {
        ArgumentNullException.ThrowIfNull(record);
        return FirstProblem(record) is (string field, string message)
            ? new LaionSgError(recordIndex, string.IsNullOrEmpty(record.ImgId) ? null : record.ImgId, field, message, source)
            : null;
    }

    internal static (string Field, string Message)? FirstProblem(LaionSgRecord r)
    {
        if (r.ImgId is null) return ("img_id", "is missing");
        if (r.ImgId.Length == 0) return ("img_id", "is empty; records are matched by img_id");
        if (r.Name is null) return ("name", "is missing");
        if (r.CaptionOri is null) return ("caption_ori", "is missing");
        if (r.Score is null) return ("score", "is missing");
        if (r.Url is null) return ("url", "is missing");
        if (r.Items is null) return ("items", "is missing");
        if (r.Relations is null) return ("relations", "is missing");

        IReadOnlyList<LaionSgItem> items = r.Items;
        HashSet<int>? ids = items.Count > LinearScanLimit ? new HashSet<int>(items.Count) : null;
        for (int i = 0; i < items.Count; i++)
        {
            LaionSgItem item = items[i];
            if (item is null) return ($"items[{i}]", "is null");
            if (string.IsNullOrWhiteSpace(item.Label)) return ($"items[{i}].label", "is empty");
            if (item.Attributes is null) return ($"items[{i}].attributes", "is missing");
            for (int a = 0; a < item.Attributes.Count; a++)
                if (string.IsNullOrWhiteSpace(item.Attributes[a])) return ($"items[{i}].attributes[{a}]", "is empty");
            int first = ids is null ? IndexOfItem(items, item.ItemId, i) : ids.Add(item.ItemId) ? -1 : IndexOfItem(items, item.ItemId, i);
            if (first >= 0) return ($"items[{i}].item_id", $"duplicate item_id {item.ItemId} (also at items[{first}])");
        }

        IReadOnlyList<LaionSgRelation> relations = r.Relations;
        HashSet<int>? tripleIds = relations.Count > LinearScanLimit ? new HashSet<int>(relations.Count) : null;
        for (int j = 0; j < relations.Count; j++)
        {
            LaionSgRelation rel = relations[j];
            if (rel is null) return ($"relations[{j}]", "is null");
            int first = tripleIds is null ? IndexOfTriple(relations, rel.TripleId, j)
                : tripleIds.Add(rel.TripleId) ? -1 : IndexOfTriple(relations, rel.TripleId, j);
            if (first >= 0) return ($"relations[{j}].triple_id", $"duplicate triple_id {rel.TripleId} (also at relations[{first}])");
            if (string.IsNullOrWhiteSpace(rel.Relation)) return ($"relations[{j}].relation", "is empty");
            if (!HasItem(items, ids, rel.Item1))
                return ($"relations[{j}].item1", $"refers to item_id {rel.Item1}, which is not in items");
            if (!HasItem(items, ids, rel.Item2))
                return ($"relations[{j}].item2", $"refers to item_id {rel.Item2}, which is not in items");
        }
        return null;
    }

    private static int IndexOfItem(IReadOnlyList<LaionSgItem> items, int id, int before)
    {
        for (int k = 0; k < before; k++) if (items[k].ItemId == id) return k;
        return -1;
    }

    private static int IndexOfTriple(IReadOnlyList<LaionSgRelation> relations, int id, int before)
    {
        for (int k = 0; k < before; k++) if (relations[k].TripleId == id) return k;
        return -1;
    }

    private static bool HasItem(IReadOnlyList<LaionSgItem> items, HashSet<int>? ids, int id) =>
        ids?.Contains(id) ?? IndexOfItem(items, id, items.Count) >= 0;
}
