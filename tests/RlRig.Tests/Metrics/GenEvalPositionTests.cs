using RlRig.Metrics;
using RlRig.SceneGraphs;

namespace RlRig.Tests.Metrics;

public sealed class GenEvalPositionTests
{
    private static readonly Box A = new(0, 0, 100, 100); // centre (50, 50)

    [Fact]
    public void Clear_horizontal_offset()
    {
        // B centre (250, 50): offset = (-200, 0); rev_x = -(200 - 0.1 * (100 + 100)) = -180, rev_y = 0;
        // (dx, dy) = (-180, 0) / 200 = (-0.9, 0) -> left of only.
        GenEvalRelations r = GenEvalPosition.Compare(A, new Box(200, 0, 100, 100));
        Assert.Equal(new GenEvalRelations(true, false, false, false), r);
        Assert.True(r.Holds("left of"));
        Assert.False(r.Holds("right of"));
        Assert.Equal(["left of"], r.Predicates);
        Assert.True(GenEvalPosition.Holds(new Box(200, 0, 100, 100), A, "right of"));
    }

    [Fact]
    public void Small_offsets_are_no_relation()
    {
        // B centre (65, 50): |offset_x| = 15 < 0.1 * 200 = 20 -> rev = (0, 0) -> nothing holds.
        Assert.Equal(default, GenEvalPosition.Compare(A, new Box(15, 0, 100, 100)));
        Assert.Equal(default, GenEvalPosition.Compare(A, A));
    }

    [Fact]
    public void Diagonal_offset_gives_two_relations()
    {
        // B centre (350, 350): offset (-300, -300), rev (-280, -280), norm 300 * sqrt(2) = 424.26;
        // dx = dy = -280 / 424.26 = -0.660 < -0.5 -> left of and above.
        Assert.Equal(["left of", "above"], GenEvalPosition.Compare(A, new Box(300, 300, 100, 100)).Predicates);
    }

    [Fact]
    public void Mostly_horizontal_offset_gives_one_relation()
    {
        // B centre (350, 150): offset (-300, -100), rev (-280, -80), norm sqrt(90000 + 10000) = 316.23;
        // dx = -0.885 -> left of; dy = -0.253 is not below -0.5 -> not above.
        Assert.Equal(["left of"], GenEvalPosition.Compare(A, new Box(300, 100, 100, 100)).Predicates);
        // Below: B centre (50, 350) seen from B: offset (0, 300) -> rev (0, 280) / 300 = (0, 0.933) -> below.
        Assert.Equal(["below"], GenEvalPosition.Compare(new Box(0, 300, 100, 100), A).Predicates);
    }

    [Fact]
    public void Image_verdict_uses_the_most_confident_detection_of_each_class()
    {
        Detection[] detections =
        [
            new("cat", new Box(600, 0, 100, 100), 0.5),
            new("cat", new Box(0, 0, 100, 100), 0.9),   // the top cat, at the left
            new("dog", new Box(300, 0, 100, 100), 0.8),
        ];
        Assert.True(GenEvalPosition.ImageCorrect(detections, "cat", "dog", "left of"));
        Assert.False(GenEvalPosition.ImageCorrect(detections, "cat", "dog", "right of"));
        // A class below the 0.3 threshold counts as absent.
        Assert.False(GenEvalPosition.ImageCorrect([detections[1], detections[2] with { Score = 0.2 }], "cat", "dog", "left of"));
        Assert.False(GenEvalPosition.ImageCorrect(detections, "cat", "bird", "left of"));
        Assert.Throws<ArgumentException>(() => GenEvalPosition.ImageCorrect(detections, "cat", "bird", "behind"));
    }
}
