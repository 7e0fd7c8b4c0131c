using RlRig.Metrics;
using RlRig.SceneGraphs;

namespace RlRig.Tests.Metrics;

public sealed class SpatialRelationExtractorTests
{
    [Fact]
    public void Far_apart_items_get_directions_only()
    {
        SceneItem cat = new(0, "cat", [], new Box(0, 0, 100, 100));     // centre (50, 50)
        SceneItem dog = new(1, "dog", [], new Box(200, 0, 100, 100));   // centre (250, 50)
        SceneItem bird = new(2, "bird", [], new Box(0, 300, 100, 100)); // centre (50, 350)
        SceneGraph g = SpatialRelationExtractor.FromBoxes([cat, dog, bird]);

        // cat vs dog: offset (-200, 0) -> left of (GenEval test). Gap 100 >= 0.5 * mean size 100 = 50 -> not near.
        // cat vs bird: offset (0, -300) -> rev (0, -280) / 300 -> dy = -0.93 -> above; gap 200 -> not near.
        // dog vs bird: offset (200, -300); rev (180, -280); norm sqrt(40000 + 90000) = 360.56;
        //   dx = 180 / 360.56 = 0.499 is not > 0.5 -> not right of; dy = -0.777 -> above.
        Assert.Equal(
            [
                new SceneRelation(0, "left of", 1), new SceneRelation(0, "above", 2),
                new SceneRelation(1, "right of", 0), new SceneRelation(1, "above", 2),
                new SceneRelation(2, "below", 0), new SceneRelation(2, "below", 1),
            ],
            g.Relations);
        Assert.Equal([cat, dog, bird], g.Items);
    }

    [Fact]
    public void Near_follows_the_gap_rule()
    {
        SceneItem cat = new(0, "cat", [], new Box(0, 0, 100, 100));   // centre (50, 50)
        SceneItem ball = new(7, "ball", [], new Box(110, 0, 20, 20)); // centre (120, 10)
        // Gap = 110 - 100 = 10 (the y ranges overlap); mean size (100 + 100 + 20 + 20) / 4 = 60; 10 < 0.5 * 60 = 30 -> near.
        // ball vs cat: offset (70, -40); rev (70 - 12, -(40 - 12)) = (58, -28); norm sqrt(4900 + 1600) = 80.62;
        //   dx = 0.719 -> right of; dy = -0.347 -> not above.
        Assert.Equal(
            [
                new SceneRelation(0, "left of", 7), new SceneRelation(0, "near", 7),
                new SceneRelation(7, "right of", 0), new SceneRelation(7, "near", 0),
            ],
            SpatialRelationExtractor.FromBoxes([cat, ball]).Relations);
        Assert.Equal(
            [new SceneRelation(0, "left of", 7), new SceneRelation(0, "near", 7)],
            SpatialRelationExtractor.FromBoxes([cat, ball], new SpatialRelationOptions { BothDirections = false }).Relations);
        // A fraction of 0.1 gives 6 px: 10 is not below it.
        Assert.False(SpatialRelationExtractor.IsNear(cat.Box!, ball.Box!, 0.1));
    }

    [Fact]
    public void Only_the_five_predicates_are_emitted()
    {
        var random = new Random(1);
        SceneItem[] items = Enumerable.Range(0, 12)
            .Select(i => new SceneItem(i, "o" + i, [], new Box(random.Next(500), random.Next(500), 1 + random.Next(100), 1 + random.Next(100))))
            .ToArray();
        SceneGraph g = SpatialRelationExtractor.FromBoxes(items);
        Assert.NotEmpty(g.Relations);
        Assert.All(g.Relations, r => Assert.Contains(r.Predicate, SpatialRelationExtractor.Predicates));
        Assert.DoesNotContain(g.Relations, r => r.SubjectId == r.ObjectId);
    }

    [Fact]
    public void Items_without_boxes_are_refused()
    {
        var ex = Assert.Throws<ArgumentException>(() =>
            SpatialRelationExtractor.FromBoxes([new SceneItem(0, "cat", [], new Box(0, 0, 1, 1)), new SceneItem(1, "dog", [])]));
        Assert.Contains("items[1] has no box", ex.Message);
    }
}
