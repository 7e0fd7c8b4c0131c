using RlRig.Metrics;
using RlRig.SceneGraphs;

namespace RlRig.Tests.Metrics;

public sealed class T2ICompBenchSpatialTests
{
    // At 479 x 479 the distance threshold is 150 px exactly (scale 479 / 479 = 1).
    private const double S = 479;

    [Fact]
    public void Directional_phrases_without_overlap()
    {
        // obj1 centre (100, 250), obj2 centre (350, 270): dx = 250, dy = 20; the boxes do not overlap (IoU 0).
        var obj1 = new Box(50, 200, 100, 100);
        var obj2 = new Box(300, 220, 100, 100);
        // left of: dx > 0 and |dx| > |dy| -> IoU 0 < 0.1 -> 1.
        Assert.Equal(1, T2ICompBenchSpatial.PositionScore(obj1, obj2, "on the left of", S, S));
        // right of needs dx < 0 -> 0; top/bottom need |dy| > |dx| -> 0.
        Assert.Equal(0, T2ICompBenchSpatial.PositionScore(obj1, obj2, "on the right of", S, S));
        Assert.Equal(0, T2ICompBenchSpatial.PositionScore(obj1, obj2, "on the top of", S, S));
        // Swapping the objects: dx = -250 -> right of holds.
        Assert.Equal(1, T2ICompBenchSpatial.PositionScore(obj2, obj1, "on the right of", S, S));
        // near: |dy| = 20 < 150 -> 1.
        Assert.Equal(1, T2ICompBenchSpatial.PositionScore(obj1, obj2, "near", S, S));
    }

    [Fact]
    public void Overlap_lowers_the_directional_score()
    {
        // Centres (50, 50) and (100, 50): dx = 50, dy = 0, left of holds. IoU = 5000 / 15000 = 1/3 >= 0.1,
        // so the score is 0.1 / (1/3) = 0.3.
        Assert.Equal(0.3, T2ICompBenchSpatial.PositionScore(new Box(0, 0, 100, 100), new Box(50, 0, 100, 100), "on the left of", S, S), 12);
    }

    [Fact]
    public void Vertical_phrases()
    {
        // Centres (150, 50) and (150, 350): dx = 0, dy = 300 > 0 and |dy| > |dx| -> obj1 on the top of obj2, IoU 0 -> 1.
        var top = new Box(100, 0, 100, 100);
        var bottom = new Box(100, 300, 100, 100);
        Assert.Equal(1, T2ICompBenchSpatial.PositionScore(top, bottom, "on the top of", S, S));
        Assert.Equal(0, T2ICompBenchSpatial.PositionScore(top, bottom, "on the bottom of", S, S));
        Assert.Equal(1, T2ICompBenchSpatial.PositionScore(bottom, top, "On  the bottom of ", S, S));
    }

    [Fact]
    public void Near_decays_beyond_the_threshold_and_the_threshold_scales_with_the_short_side()
    {
        // Centres (50, 50) and (400, 400): |dx| = |dy| = 350, neither < 150 -> 150 / 350 = 3/7.
        Assert.Equal(3.0 / 7, T2ICompBenchSpatial.PositionScore(new Box(0, 0, 100, 100), new Box(350, 350, 100, 100), "next to", S, S), 12);
        // The same scene at twice the size (short side 958): threshold 150 * 958 / 479 = 300, distances 700 -> 300 / 700 = 3/7.
        Assert.Equal(300, T2ICompBenchSpatial.DistanceThresholdFor(958, 1200), 12);
        Assert.Equal(3.0 / 7, T2ICompBenchSpatial.PositionScore(new Box(0, 0, 200, 200), new Box(700, 700, 200, 200), "on side of", 958, 958), 12);
        // A wide image is scaled by its short side: 958 x 479 keeps 150.
        Assert.Equal(150, T2ICompBenchSpatial.DistanceThresholdFor(958, 479), 12);
    }

    [Fact]
    public void Other_phrases_score_zero()
    {
        Assert.Equal(0, T2ICompBenchSpatial.PositionScore(new Box(0, 0, 10, 10), new Box(100, 0, 10, 10), "behind", S, S));
        Assert.Equal(0, T2ICompBenchSpatial.PositionScore(new Box(0, 0, 10, 10), new Box(100, 0, 10, 10), "left of", S, S));
    }

    [Fact]
    public void Image_score_combines_confidences_and_cuts_below_one_half()
    {
        var left = new Box(0, 0, 100, 100);
        var overlapping = new Box(50, 0, 100, 100);
        // Both found, position 0.3 (overlap case above): 0.25 * 0.9 + 0.25 * 0.8 + 0.5 * 0.3 = 0.225 + 0.2 + 0.15 = 0.575.
        Assert.Equal(0.575, T2ICompBenchSpatial.ImageScore(new Detection("cat", left, 0.9), new Detection("dog", overlapping, 0.8),
            "on the left of", S, S), 12);
        // Wrong direction: 0.225 + 0.2 + 0 = 0.425 < 0.5 -> 0.
        Assert.Equal(0, T2ICompBenchSpatial.ImageScore(new Detection("cat", left, 0.9), new Detection("dog", overlapping, 0.8),
            "on the right of", S, S));
        // One found: 0.25 * 0.9 = 0.225 < 0.5 -> 0. None: 0.
        Assert.Equal(0, T2ICompBenchSpatial.ImageScore(new Detection("cat", left, 0.9), null, "near", S, S));
        Assert.Equal(0, T2ICompBenchSpatial.ImageScore(null, null, "near", S, S));
        // Both found and near (position 1): 0.25 + 0.25 + 0.5 = 1.
        Assert.Equal(1, T2ICompBenchSpatial.ImageScore(new Detection("cat", left, 1), new Detection("dog", overlapping, 1), "near", S, S), 12);
    }

    [Fact]
    public void The_first_detection_of_each_label_above_one_half_is_used()
    {
        Detection[] detections =
        [
            new("cat", new Box(400, 0, 50, 50), 0.4),   // below 0.5: ignored although first
            new("cat", new Box(0, 0, 100, 100), 0.9),   // used: the first kept cat
            new("cat", new Box(400, 0, 50, 50), 0.95),  // more confident, but not first
            new("dog", new Box(300, 0, 100, 100), 0.8),
        ];
        // cat centre (50, 50), dog centre (350, 50): left of with IoU 0 -> position 1;
        // 0.25 * 0.9 + 0.25 * 0.8 + 0.5 * 1 = 0.925.
        Assert.Equal(0.925, T2ICompBenchSpatial.ImageScore(detections, "cat", "dog", "on the left of", S, S), 12);
    }

    [Fact]
    public void Mean_over_images()
    {
        // (0.575 + 0 + 1) / 3 = 0.525.
        Assert.Equal(0.525, T2ICompBenchSpatial.Mean([0.575, 0, 1]), 12);
        Assert.Equal(0, T2ICompBenchSpatial.Mean([]));
    }
}
