using RlRig.SceneGraphs;

namespace RlRig.Metrics;

/// <summary>
/// The T2I-CompBench 2D-spatial score from detector boxes. obj1 is the prompt's first noun, obj2 its last; with
/// centres c1, c2 and dx = c2.x - c1.x, dy = c2.y - c1.y (y grows downward):
/// <list type="bullet">
/// <item>"near", "next to", "on side of": 1 if |dx| &lt; d or |dy| &lt; d, else d / max(|dx|, |dy|).</item>
/// <item>"on the left of": dx &gt; 0 and |dx| &gt; |dy|; "on the right of": dx &lt; 0 and |dx| &gt; |dy|;
/// "on the top of": dy &gt; 0 and |dy| &gt; |dx|; "on the bottom of": dy &lt; 0 and |dy| &gt; |dx|. When the
/// direction holds the score is 1 if IoU &lt; 0.1 else 0.1 / IoU; otherwise 0.</item>
/// <item>Any other phrase: 0.</item>
/// </list>
/// The benchmark's d = 150 px is defined on images resized to a short side of 479 px. Here d scales with the image:
/// d = 150 × shortSide / 479, which is the same as resizing the image to short side 479 first, so the score does
/// not depend on the resolution the boxes come in. IoU needs no scaling.
/// </summary>
public static class T2ICompBenchSpatial
{
    /// <summary>IoU above which overlapping boxes lose score in the directional phrases.</summary>
    public const double IouThreshold = 0.1;

    /// <summary>The distance threshold in pixels at <see cref="ReferenceShortSide"/>.</summary>
    public const double DistanceThreshold = 150;

    /// <summary>Short side, in pixels, of the images the benchmark detects on.</summary>
    public const double ReferenceShortSide = 479;

    /// <summary>Detector confidence below which a detection is ignored (UniDet at 0.5).</summary>
    public const double DetectionThreshold = 0.5;

    /// <summary>An image score below this becomes 0.</summary>
    public const double ScoreCut = 0.5;

    /// <summary>The phrases the benchmark scores, as it spells them.</summary>
    public static IReadOnlyList<string> Phrases { get; } =
        ["near", "next to", "on side of", "on the left of", "on the right of", "on the top of", "on the bottom of"];

    /// <summary>The distance threshold for an image of the given size: 150 × min(width, height) / 479.</summary>
    public static double DistanceThresholdFor(double imageWidth, double imageHeight)
    {
        if (!(imageWidth > 0) || !(imageHeight > 0))
            throw new ArgumentOutOfRangeException(nameof(imageWidth), $"Image size {imageWidth}x{imageHeight} must be positive.");
        return DistanceThreshold * Math.Min(imageWidth, imageHeight) / ReferenceShortSide;
    }

    /// <summary>The position score in [0, 1] of "obj1 <paramref name="phrase"/> obj2".</summary>
    /// <param name="obj1">Box of the prompt's first object.</param>
    /// <param name="obj2">Box of the prompt's last object.</param>
    /// <param name="phrase">One of <see cref="Phrases"/> (case and surrounding space ignored); others score 0.</param>
    /// <param name="imageWidth">Image width in the boxes' pixels.</param>
    /// <param name="imageHeight">Image height in the boxes' pixels.</param>
    public static double PositionScore(Box obj1, Box obj2, string phrase, double imageWidth, double imageHeight)
    {
        ArgumentNullException.ThrowIfNull(obj1);
        ArgumentNullException.ThrowIfNull(obj2);
        ArgumentNullException.ThrowIfNull(phrase);
        double d = DistanceThresholdFor(imageWidth, imageHeight);
        double dx = obj2.CenterX - obj1.CenterX;
        double dy = obj2.CenterY - obj1.CenterY;
        double adx = Math.Abs(dx), ady = Math.Abs(dy);
        double iou = obj1.Iou(obj2);
        return Normalise(phrase) switch
        {
            "near" or "next to" or "on side of" => adx < d || ady < d ? 1 : d / Math.Max(adx, ady),
            "on the left of" => dx > 0 && adx > ady ? OverlapScore(iou) : 0,
            "on the right of" => dx < 0 && adx > ady ? OverlapScore(iou) : 0,
            "on the top of" => dy > 0 && ady > adx ? OverlapScore(iou) : 0,
            "on the bottom of" => dy < 0 && ady > adx ? OverlapScore(iou) : 0,
            _ => 0,
        };
    }

    /// <summary>
    /// One image's score: both objects found: 0.25·s1 + 0.25·s2 + 0.5·position; one found: 0.25·s; none: 0;
    /// then a score below 0.5 becomes 0 (s = detection confidence).
    /// </summary>
    public static double ImageScore(Detection? obj1, Detection? obj2, string phrase, double imageWidth, double imageHeight)
    {
        double score = (obj1, obj2) switch
        {
            (not null, not null) => 0.25 * obj1.Score + 0.25 * obj2.Score
                                    + 0.5 * PositionScore(obj1.Box, obj2.Box, phrase, imageWidth, imageHeight),
            (not null, null) => 0.25 * obj1.Score,
            (null, not null) => 0.25 * obj2.Score,
            _ => 0,
        };
        return score < ScoreCut ? 0 : score;
    }

    /// <summary>
    /// One image's score from all its detections: the first detection of each label at confidence ≥ 0.5 is used,
    /// as the benchmark does.
    /// </summary>
    public static double ImageScore(
        IReadOnlyList<Detection> detections, string obj1Label, string obj2Label, string phrase, double imageWidth, double imageHeight)
    {
        ArgumentNullException.ThrowIfNull(detections);
        return ImageScore(First(detections, obj1Label), First(detections, obj2Label), phrase, imageWidth, imageHeight);
    }

    /// <summary>The benchmark score: the mean of the image scores; 0 for none.</summary>
    public static double Mean(IEnumerable<double> imageScores)
    {
        ArgumentNullException.ThrowIfNull(imageScores);
        double sum = 0;
        int n = 0;
        foreach (double s in imageScores)
        {
            sum += s;
            n++;
        }
        return n == 0 ? 0 : sum / n;
    }

    private static double OverlapScore(double iou) => iou < IouThreshold ? 1 : IouThreshold / iou;

    private static string Normalise(string phrase) =>
        string.Join(' ', phrase.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)).ToLowerInvariant();

    private static Detection? First(IReadOnlyList<Detection> detections, string label) =>
        detections.FirstOrDefault(d => d.Score >= DetectionThreshold && string.Equals(d.Label, label, StringComparison.Ordinal));
}
