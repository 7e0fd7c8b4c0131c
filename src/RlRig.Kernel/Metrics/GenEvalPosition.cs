using RlRig.SceneGraphs;

namespace RlRig.Metrics;

/// <summary>Which of GenEval's four relations hold for A relative to B; several may, or none.</summary>
public readonly record struct GenEvalRelations(bool LeftOf, bool RightOf, bool Above, bool Below)
{
    /// <summary>The relations that hold, as GenEval names them, in the order left of, right of, above, below.</summary>
    public IReadOnlyList<string> Predicates
    {
        get
        {
            var list = new List<string>(2);
            if (LeftOf) list.Add(GenEvalPosition.LeftOf);
            if (RightOf) list.Add(GenEvalPosition.RightOf);
            if (Above) list.Add(GenEvalPosition.Above);
            if (Below) list.Add(GenEvalPosition.Below);
            return list;
        }
    }

    /// <summary>True when <paramref name="expected"/> ("left of", "right of", "above", "below") holds.</summary>
    /// <exception cref="ArgumentException">Not one of the four.</exception>
    public bool Holds(string expected) => expected switch
    {
        GenEvalPosition.LeftOf => LeftOf,
        GenEvalPosition.RightOf => RightOf,
        GenEvalPosition.Above => Above,
        GenEvalPosition.Below => Below,
        _ => throw new ArgumentException(
            $"\"{expected}\" is not a GenEval position; use \"left of\", \"right of\", \"above\" or \"below\".", nameof(expected)),
    };
}

/// <summary>
/// GenEval's "position" rule. offset = centre(A) − centre(B); per axis
/// rev = max(|offset| − 0.1·(dim(A) + dim(B)), 0)·sign(offset) with dim = (width, height). If every |rev| &lt; 1e-3
/// no relation holds; else (dx, dy) = rev / ‖offset‖ and A is left of B if dx &lt; −0.5, right of if dx &gt; 0.5,
/// above if dy &lt; −0.5, below if dy &gt; 0.5 (y grows downward).
/// </summary>
public static class GenEvalPosition
{
    /// <summary>Predicate names as GenEval spells them.</summary>
    public const string LeftOf = "left of", RightOf = "right of", Above = "above", Below = "below";

    /// <summary>Fraction of the summed box sizes that an offset must exceed on an axis to count.</summary>
    public const double PositionThreshold = 0.1;

    /// <summary>Detector confidence below which a detection is ignored (GenEval's COCO detector at 0.3).</summary>
    public const double DetectionThreshold = 0.3;

    /// <summary>The relations of <paramref name="a"/> relative to <paramref name="b"/>.</summary>
    public static GenEvalRelations Compare(Box a, Box b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        double ox = a.CenterX - b.CenterX, oy = a.CenterY - b.CenterY;
        double rx = Math.Max(Math.Abs(ox) - PositionThreshold * (a.Width + b.Width), 0) * Math.Sign(ox);
        double ry = Math.Max(Math.Abs(oy) - PositionThreshold * (a.Height + b.Height), 0) * Math.Sign(oy);
        if (Math.Abs(rx) < 1e-3 && Math.Abs(ry) < 1e-3) return default;
        double norm = Math.Sqrt(ox * ox + oy * oy);
        double dx = rx / norm, dy = ry / norm;
        return new GenEvalRelations(dx < -0.5, dx > 0.5, dy < -0.5, dy > 0.5);
    }

    /// <summary>True when A stands in the <paramref name="expected"/> relation to B.</summary>
    public static bool Holds(Box a, Box b, string expected) => Compare(a, b).Holds(expected);

    /// <summary>
    /// GenEval's per-image verdict: the most confident detection of <paramref name="classA"/> and of
    /// <paramref name="classB"/> (confidence ≥ <paramref name="threshold"/>) must both exist and A must be
    /// <paramref name="expected"/> B.
    /// </summary>
    public static bool ImageCorrect(
        IReadOnlyList<Detection> detections, string classA, string classB, string expected, double threshold = DetectionThreshold)
    {
        ArgumentNullException.ThrowIfNull(detections);
        Detection? a = Top(detections, classA, threshold);
        Detection? b = Top(detections, classB, threshold);
        _ = default(GenEvalRelations).Holds(expected); // reject an unknown relation even when a class is missing
        return a is not null && b is not null && Holds(a.Box, b.Box, expected);
    }

    private static Detection? Top(IReadOnlyList<Detection> detections, string label, double threshold) =>
        detections.Where(d => d.Score >= threshold && string.Equals(d.Label, label, StringComparison.Ordinal))
            .MaxBy(d => d.Score);
}
