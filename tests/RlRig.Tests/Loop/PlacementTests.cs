using RlRig.Loop;
using RlRig.Metrics;
using RlRig.SceneGraphs;
using RlRig.World;

namespace RlRig.Tests.Loop;

public sealed class PlacementTests
{
    static readonly WorldOptions World = new();

    static Box At(double x, double y, int side = 7) => new(x, y, side, side);

    static void AssertValid(Box box, int side, IEnumerable<Box> others, IEnumerable<PlacementConstraint> constraints)
    {
        Assert.Equal(side, box.Width);
        Assert.Equal(side, box.Height);
        Assert.Equal(Math.Round(box.X), box.X);
        Assert.InRange(box.X, 0, World.CanvasSize - side);
        Assert.InRange(box.Y, 0, World.CanvasSize - side);
        foreach (var o in others) Assert.True(box.Gap(o) >= Placement.MinGap, $"{box} touches {o}");
        foreach (var c in constraints) Assert.True(c.HoldsRobustly(box), $"{box} {c.Predicate} {c.Other}");
    }

    [Theory]
    [InlineData("left of")]
    [InlineData("right of")]
    [InlineData("above")]
    [InlineData("below")]
    [InlineData("near")]
    public void ForRelation_gives_a_box_where_the_relation_holds_robustly_clear_of_others(string predicate)
    {
        var anchor = At(12, 12, 11);
        var current = At(1, 1);
        var others = new[] { anchor, At(24, 1) };
        var box = Placement.ForRelation(World, 7, current, others, predicate, anchor);
        Assert.NotNull(box);
        AssertValid(box, 7, others, [new PlacementConstraint(predicate, anchor)]);
        Assert.Contains(predicate, SpatialRelationExtractor.Between(box, anchor));
    }

    [Fact]
    public void Find_keeps_the_current_box_when_it_already_satisfies_everything()
    {
        var anchor = At(20, 12, 11);
        var current = At(2, 14);
        Assert.Equal(current, Placement.Find(World, 7, current, [anchor], [new PlacementConstraint("left of", anchor)]));
    }

    [Fact]
    public void Find_returns_the_nearest_valid_box()
    {
        var anchor = At(12, 12);
        var current = At(14, 24);  // below the anchor; asked to be left of it
        var constraints = new[] { new PlacementConstraint("left of", anchor) };
        var box = Placement.Find(World, 7, current, [anchor], constraints)!;
        AssertValid(box, 7, [anchor], constraints);
        var best = (box.X - current.X) * (box.X - current.X) + (box.Y - current.Y) * (box.Y - current.Y);
        for (var y = 0; y <= 25; y++)
            for (var x = 0; x <= 25; x++)
            {
                var candidate = At(x, y);
                if (candidate.Gap(anchor) >= 1 && constraints.All(c => c.HoldsRobustly(candidate)))
                    Assert.True((x - current.X) * (x - current.X) + (y - current.Y) * (y - current.Y) >= best, $"{candidate} is nearer than {box}");
            }
    }

    [Fact]
    public void Find_satisfies_several_constraints_with_either_end_as_subject()
    {
        var b = At(20, 4);
        var c = At(4, 20);
        // placed left of B, above C read from C's side ("C below placed"), near nothing in particular.
        var constraints = new[] { new PlacementConstraint("left of", b), new PlacementConstraint("below", c, PlacedIsSubject: false) };
        var box = Placement.Find(World, 11, At(20, 20, 11), [b, c], constraints)!;
        AssertValid(box, 11, [b, c], constraints);
        Assert.True(GenEvalPosition.Holds(c, box, "below"));
    }

    [Fact]
    public void An_add_goes_next_to_its_anchor()
    {
        var anchor = At(12, 12);
        var box = Placement.ForRelation(World, 7, null, [anchor], "right of", anchor)!;
        AssertValid(box, 7, [anchor], [new PlacementConstraint("right of", anchor)]);
        Assert.True(box.Gap(anchor) < 5, $"{box} is far from {anchor}");
    }

    [Fact]
    public void Find_returns_null_when_nothing_fits()
    {
        // Left of a box at the left edge cannot hold inside the canvas.
        var anchor = At(0, 12);
        Assert.Null(Placement.ForRelation(World, 7, At(20, 12), [anchor], "left of", anchor));
        // Contradictory constraints.
        var b = At(12, 12);
        Assert.Null(Placement.Find(World, 7, null, [b], [new PlacementConstraint("left of", b), new PlacementConstraint("right of", b)]));
    }

    [Fact]
    public void Find_is_deterministic()
    {
        var anchor = At(12, 12);
        var first = Placement.ForRelation(World, 7, null, [anchor], "near", anchor);
        for (var i = 0; i < 5; i++) Assert.Equal(first, Placement.ForRelation(World, 7, null, [anchor], "near", anchor));
    }

    [Theory]
    [InlineData(32)]
    [InlineData(64)]
    public void Every_box_survives_the_position_form_at_two_decimals(int canvas)
    {
        var world = new WorldOptions { CanvasSize = canvas };
        foreach (var side in new[] { world.SmallSide, world.LargeSide })
            for (var y = 0; y <= canvas - side; y++)
                for (var x = 0; x <= canvas - side; x++)
                {
                    var box = new Box(x, y, side, side);
                    Assert.True(Placement.RoundTrips(world, box), $"{box}");
                    var text = new MovePositionEdit(new ObjectRef("circle"), Placement.RoundedCentre(world, box).X, Placement.RoundedCentre(world, box).Y).ToText();
                    var parsed = Assert.IsType<MovePositionEdit>(EditLanguage.Parse(text));
                    Assert.Equal(box, Placement.BoxAt(world, parsed.X, parsed.Y, side));
                }
    }

    [Fact]
    public void BoxAt_keeps_the_box_inside_the_canvas()
    {
        Assert.Equal(At(0, 25), Placement.BoxAt(World, 0, 1, 7));
        Assert.Equal(At(0, 0, 11), Placement.Centre(World, At(0, 0, 11)) is var (x, y) ? Placement.BoxAt(World, x, y, 11) : null);
    }

    [Fact]
    public void A_detected_box_of_another_size_is_placed_at_the_nominal_side_nearest_its_centre()
    {
        var anchor = At(12, 12, 11);
        var detected = new Box(2, 13, 8, 6);  // a judge's box of a small object, a pixel off
        var box = Placement.ForRelation(World, 7, detected, [anchor], "left of", anchor)!;
        // It already holds there: the box only takes the nominal side, its centre within half a pixel of the detection's.
        Assert.Equal(7, box.Width);
        Assert.InRange(box.CenterX, detected.CenterX - 0.5, detected.CenterX + 0.5);
        Assert.InRange(box.CenterY, detected.CenterY - 0.5, detected.CenterY + 0.5);
    }
}
