using RlRig.Loop;
using RlRig.SceneGraphs;
using RlRig.World;

namespace RlRig.Tests.Loop;

public sealed class ReflectionTests
{
    internal static SceneItem Item(int id, string text, Box? box = null)
    {
        var w = text.Split(' ');
        return new SceneItem(id, w[2], [w[0], w[1]], box);
    }

    internal static Box At(double x, double y, int side = 7) => new(x, y, side, side);

    // Target: small red circle (0) left of large blue square (1).
    static readonly SceneGraph Target = new([Item(0, "small red circle"), Item(1, "large blue square")], [new SceneRelation(0, "left of", 1)]);

    [Fact]
    public void A_correct_image_is_satisfied_with_score_1()
    {
        var r = Reflection.Compare(Target, [Item(10, "small red circle", At(2, 10)), Item(11, "large blue square", At(18, 10, 11))]);
        Assert.True(r.IsSatisfied);
        Assert.Equal(1, r.Score);
        Assert.Single(r.Satisfied);
        Assert.StartsWith("The image matches the prompt.", r.Text);
        Assert.Equal([new ObjectMatch(0, 10), new ObjectMatch(1, 11)], r.Matches);
    }

    [Fact]
    public void A_missing_object_leaves_its_relations_unplaceable()
    {
        var r = Reflection.Compare(Target, [Item(11, "large blue square", At(18, 10, 11))]);
        Assert.Equal([0], r.Missing);
        Assert.Single(r.Unplaceable);
        Assert.False(r.IsSatisfied);
        Assert.True(r.Score < 1);
        Assert.Contains("The small red circle is missing.", r.Text);
        Assert.Contains("The small red circle should be left of the large blue square, which cannot be checked while an object is missing.", r.Text);
    }

    [Fact]
    public void An_extra_object_is_reported_and_costs_score()
    {
        var r = Reflection.Compare(Target, [Item(10, "small red circle", At(2, 10)), Item(11, "large blue square", At(18, 10, 11)), Item(12, "small green triangle", At(2, 24))]);
        Assert.Equal([12], r.Extra);
        Assert.Equal(3.0 / 4, r.Score, 9);
        Assert.Contains("extra small green triangle", r.Text);
    }

    [Fact]
    public void Wrong_colour_and_size_are_attribute_errors_named_as_seen()
    {
        var r = Reflection.Compare(Target, [Item(10, "large green circle", At(2, 10, 11)), Item(11, "large blue square", At(18, 10, 11))]);
        Assert.Equal(2, r.WrongAttributes.Count);
        Assert.Contains(new AttributeError(0, 10, "size", "small", "large"), r.WrongAttributes);
        Assert.Contains(new AttributeError(0, 10, "colour", "red", "green"), r.WrongAttributes);
        Assert.Contains("The large green circle should be red, not green.", r.Text);
        Assert.Contains("should be small, not large", r.Text);
        Assert.True(r.Score < 1);
    }

    [Fact]
    public void A_violated_relation_says_what_holds_instead()
    {
        var r = Reflection.Compare(Target, [Item(10, "small red circle", At(24, 10)), Item(11, "large blue square", At(2, 10, 11))]);
        var v = Assert.Single(r.Violated);
        Assert.Equal(new SceneRelation(0, "left of", 1), v.Relation);
        Assert.Contains("right of", v.Holds);
        Assert.Contains("is right of it, but the prompt asks for left of the large blue square", r.Text);
        Assert.Equal(2.0 / 3, r.Score, 9);
    }

    [Fact]
    public void Repeated_labels_take_the_assignment_with_fewest_errors_then_most_relations()
    {
        // Two red circles in the target, one left of and one right of the square; detections in the opposite order.
        var target = new SceneGraph([Item(0, "small red circle"), Item(1, "small red circle"), Item(2, "large blue square")],
            [new SceneRelation(0, "left of", 2), new SceneRelation(1, "right of", 2)]);
        var r = Reflection.Compare(target, [Item(10, "small red circle", At(24, 12)), Item(11, "small red circle", At(1, 12)), Item(12, "large blue square", At(11, 10, 11))]);
        Assert.True(r.IsSatisfied);
        Assert.Equal([new ObjectMatch(0, 11), new ObjectMatch(1, 10), new ObjectMatch(2, 12)], r.Matches);

        // Attributes decide before relations: the green circle goes to the green target though the relation then fails.
        var colours = new SceneGraph([Item(0, "small red circle"), Item(1, "small green circle"), Item(2, "large blue square")],
            [new SceneRelation(0, "left of", 2)]);
        var c = Reflection.Compare(colours, [Item(10, "small green circle", At(1, 12)), Item(11, "small red circle", At(24, 12)), Item(12, "large blue square", At(11, 10, 11))]);
        Assert.Equal([new ObjectMatch(0, 11), new ObjectMatch(1, 10), new ObjectMatch(2, 12)], c.Matches);
        Assert.Empty(c.WrongAttributes);
        Assert.Single(c.Violated);
    }

    [Fact]
    public void Score_is_1_only_when_satisfied()
    {
        var sampler = new SceneSampler(new WorldOptions());
        var random = new Random(3);
        for (var i = 0; i < 100; i++)
        {
            var scene = sampler.Sample(random);
            var ok = Reflection.Compare(scene, scene.Items);
            Assert.True(ok.IsSatisfied);
            Assert.Equal(1, ok.Score);
            var dropped = Reflection.Compare(scene, scene.Items.Skip(1).ToList());
            Assert.False(dropped.IsSatisfied);
            Assert.True(dropped.Score < 1);
        }
    }
}
