using RlRig.SceneGraphs;

namespace RlRig.Tests.SceneGraphs;

public sealed class BoxTests
{
    [Fact]
    public void Derived_edges_and_centre()
    {
        var b = new Box(10, 20, 30, 40);
        Assert.Equal(40, b.Right);
        Assert.Equal(60, b.Bottom);
        Assert.Equal((25.0, 40.0), b.Center);
        Assert.Equal(1200, b.Area);
    }

    [Fact]
    public void Iou_of_half_overlapping_squares()
    {
        // (0,0,100,100) and (50,0,100,100): intersection 50*100 = 5000, union 10000 + 10000 - 5000 = 15000 -> 1/3.
        Assert.Equal(1.0 / 3, new Box(0, 0, 100, 100).Iou(new Box(50, 0, 100, 100)), 12);
        Assert.Equal(0, new Box(0, 0, 10, 10).Iou(new Box(20, 20, 10, 10)));
        Assert.Equal(0, new Box(5, 5, 0, 0).Iou(new Box(5, 5, 0, 0)));
    }

    [Fact]
    public void Gap_is_the_edge_to_edge_distance()
    {
        // Right edge 100 to left edge 130 horizontally, bottom 100 to top 140 vertically: sqrt(30^2 + 40^2) = 50.
        Assert.Equal(50, new Box(0, 0, 100, 100).Gap(new Box(130, 140, 10, 10)), 12);
        Assert.Equal(0, new Box(0, 0, 100, 100).Gap(new Box(50, 50, 100, 100)));
    }

    [Fact]
    public void Corners_and_invalid_sizes()
    {
        Assert.Equal(new Box(1, 2, 3, 4), Box.FromCorners(1, 2, 4, 6));
        Assert.Throws<ArgumentException>(() => Box.FromCorners(4, 2, 1, 6));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Box(0, 0, -1, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Box(double.NaN, 0, 1, 1));
    }
}
