using RlRig.SceneGraphs;

namespace RlRig.Metrics;

/// <summary>Options of <see cref="SpatialRelationExtractor"/>. Immutable; vary with <c>with</c>.</summary>
public sealed record SpatialRelationOptions
{
    /// <summary>
    /// Two boxes are "near" when the gap between them (shortest distance between their edges, 0 when they touch or
    /// overlap) is below this fraction of their mean size, mean size = (wA + hA + wB + hB) / 4. Relative to size so
    /// that it means the same at any resolution and for small and large objects. Defaults to 0.5; must be ≥ 0.
    /// </summary>
    public double NearGapFraction { get; init; } = 0.5;

    /// <summary>
    /// Emit each fact from both ends ("A left of B" and "B right of A", "A near B" and "B near A"). When false,
    /// only the relations of the earlier item relative to the later one are emitted. Defaults to true.
    /// </summary>
    public bool BothDirections { get; init; } = true;

    /// <summary>Checks ranges.</summary>
    public void Validate()
    {
        if (!(NearGapFraction >= 0) || double.IsInfinity(NearGapFraction))
            throw new ArgumentOutOfRangeException(nameof(NearGapFraction), NearGapFraction, "Must be finite and >= 0.");
    }
}

/// <summary>
/// Turns boxes into a scene graph of the spatial relations that hold, so that a detector's output can be compared
/// with a ground-truth graph. "left of", "right of", "above", "below" follow <see cref="GenEvalPosition"/> exactly;
/// "near" follows <see cref="SpatialRelationOptions.NearGapFraction"/>. Relations come out ordered by subject item,
/// then object item, then in the order left of, right of, above, below, near.
/// </summary>
public static class SpatialRelationExtractor
{
    /// <summary>The "near" predicate.</summary>
    public const string Near = "near";

    /// <summary>Every predicate this extractor emits.</summary>
    public static IReadOnlyList<string> Predicates { get; } =
        [GenEvalPosition.LeftOf, GenEvalPosition.RightOf, GenEvalPosition.Above, GenEvalPosition.Below, Near];

    /// <summary>A graph of the given items (kept as they are) and every relation that holds between two of them.</summary>
    /// <exception cref="ArgumentException">An item has no box, or ids repeat.</exception>
    public static SceneGraph FromBoxes(IReadOnlyList<SceneItem> itemsWithBoxes, SpatialRelationOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(itemsWithBoxes);
        options ??= new SpatialRelationOptions();
        options.Validate();
        for (int i = 0; i < itemsWithBoxes.Count; i++)
            if (itemsWithBoxes[i]?.Box is null)
                throw new ArgumentException($"items[{i}] has no box; every item needs one.", nameof(itemsWithBoxes));

        var relations = new List<SceneRelation>();
        for (int i = 0; i < itemsWithBoxes.Count; i++)
        {
            for (int j = options.BothDirections ? 0 : i + 1; j < itemsWithBoxes.Count; j++)
            {
                if (i == j) continue;
                SceneItem a = itemsWithBoxes[i], b = itemsWithBoxes[j];
                foreach (string predicate in Between(a.Box!, b.Box!, options))
                    relations.Add(new SceneRelation(a.Id, predicate, b.Id));
            }
        }
        return new SceneGraph(itemsWithBoxes, relations);
    }

    /// <summary>The predicates that hold for A relative to B.</summary>
    public static IReadOnlyList<string> Between(Box a, Box b, SpatialRelationOptions? options = null)
    {
        options ??= new SpatialRelationOptions();
        var predicates = new List<string>(GenEvalPosition.Compare(a, b).Predicates);
        if (IsNear(a, b, options.NearGapFraction)) predicates.Add(Near);
        return predicates;
    }

    /// <summary>The "near" rule: gap &lt; fraction × (wA + hA + wB + hB) / 4.</summary>
    public static bool IsNear(Box a, Box b, double nearGapFraction)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        double meanSize = (a.Width + a.Height + b.Width + b.Height) / 4;
        return a.Gap(b) < nearGapFraction * meanSize;
    }
}
