using RlRig.SceneGraphs;

namespace RlRig.Metrics;

/// <summary>The three LAION-SG scores of one prediction against its ground truth, each in [0, 1].</summary>
public readonly record struct SceneGraphScores(double SgIou, double EntityIou, double RelationIou);

/// <summary>
/// SG-IoU, Entity-IoU and Relation-IoU as the official LAION-SG evaluation computes them: each side is turned into a
/// set (duplicates dropped), strings are compared exactly (ordinal, case-sensitive, no trimming), and
/// IoU(A, B) = |A ∩ B| / |A ∪ B|, with 0 when the union is empty.
/// <list type="bullet">
/// <item>SG-IoU: ground-truth (label(item1), relation, label(item2)) tuples vs the predicted triples.</item>
/// <item>Entity-IoU: ground-truth unique item labels vs the predicted object list.</item>
/// <item>Relation-IoU: ground-truth unique relation names vs the predicted predicate list.</item>
/// </list>
/// Labels, not item texts: attributes do not enter any of the three.
/// </summary>
public static class SceneGraphIou
{
    /// <summary>|A ∩ B| / |A ∪ B| of the two collections taken as sets; 0 when both are empty.</summary>
    public static double Iou<T>(IEnumerable<T> a, IEnumerable<T> b, IEqualityComparer<T>? comparer = null)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        var setA = new HashSet<T>(a, comparer);
        var setB = new HashSet<T>(b, comparer);
        int intersection = setA.Count(setB.Contains);
        int union = setA.Count + setB.Count - intersection;
        return union == 0 ? 0 : (double)intersection / union;
    }

    /// <summary>SG-IoU from triples: the ground truth's vs the extracted ones.</summary>
    public static double SgIou(IEnumerable<LabelTriple> truth, IEnumerable<LabelTriple> predicted) =>
        Iou(truth, predicted, TripleComparer.Instance);

    /// <summary>Entity-IoU from label lists: the ground truth's labels vs the extracted object list.</summary>
    public static double EntityIou(IEnumerable<string> truthLabels, IEnumerable<string> predictedObjects) =>
        Iou(truthLabels, predictedObjects, StringComparer.Ordinal);

    /// <summary>Relation-IoU from predicate lists: the ground truth's relation names vs the extracted predicate list.</summary>
    public static double RelationIou(IEnumerable<string> truthPredicates, IEnumerable<string> predictedPredicates) =>
        Iou(truthPredicates, predictedPredicates, StringComparer.Ordinal);

    /// <summary>SG-IoU of two graphs: their <see cref="SceneGraph.LabelTriples"/>.</summary>
    public static double SgIou(SceneGraph truth, SceneGraph prediction) =>
        SgIou(Checked(truth, nameof(truth)).LabelTriples(), Checked(prediction, nameof(prediction)).LabelTriples());

    /// <summary>
    /// Entity-IoU of two graphs: their item labels. The prediction's object list is all of its items' labels,
    /// isolated items included, as a VLM's object_list lists every object it sees.
    /// </summary>
    public static double EntityIou(SceneGraph truth, SceneGraph prediction) =>
        EntityIou(Checked(truth, nameof(truth)).Labels(), Checked(prediction, nameof(prediction)).Labels());

    /// <summary>Relation-IoU of two graphs: their predicates.</summary>
    public static double RelationIou(SceneGraph truth, SceneGraph prediction) =>
        RelationIou(Checked(truth, nameof(truth)).Predicates(), Checked(prediction, nameof(prediction)).Predicates());

    /// <summary>All three scores of two graphs.</summary>
    public static SceneGraphScores Score(SceneGraph truth, SceneGraph prediction) =>
        new(SgIou(truth, prediction), EntityIou(truth, prediction), RelationIou(truth, prediction));

    private static SceneGraph Checked(SceneGraph graph, string name) =>
        graph ?? throw new ArgumentNullException(name);

    private sealed class TripleComparer : IEqualityComparer<LabelTriple>
    {
        public static readonly TripleComparer Instance = new();

        public bool Equals(LabelTriple x, LabelTriple y) =>
            string.Equals(x.Subject, y.Subject, StringComparison.Ordinal)
            && string.Equals(x.Predicate, y.Predicate, StringComparison.Ordinal)
            && string.Equals(x.Object, y.Object, StringComparison.Ordinal);

        public int GetHashCode(LabelTriple t) =>
            HashCode.Combine(StringComparer.Ordinal.GetHashCode(t.Subject), StringComparer.Ordinal.GetHashCode(t.Predicate),
                StringComparer.Ordinal.GetHashCode(t.Object));
    }
}
