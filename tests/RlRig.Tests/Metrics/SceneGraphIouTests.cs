using RlRig.Metrics;
using RlRig.SceneGraphs;

namespace RlRig.Tests.Metrics;

public sealed class SceneGraphIouTests
{
    private static SceneGraph Graph(string[] labels, params (int S, string P, int O)[] relations) => new(
        labels.Select((l, i) => new SceneItem(i, l, ["some", "attrs"])),
        relations.Select(r => new SceneRelation(r.S, r.P, r.O)));

    [Fact]
    public void Sg_iou_compares_label_triples_as_sets()
    {
        // truth triples: {(tower, attached to, bridge), (lantern, hanging from, building), (tower, near, river)}
        SceneGraph truth = Graph(["tower", "bridge", "lantern", "building", "river"],
            (0, "attached to", 1), (2, "hanging from", 3), (0, "near", 4));
        // predicted: (tower, attached to, bridge), (lantern, on, building), (tower, near, river) twice -> a set of 3.
        SceneGraph predicted = Graph(["tower", "bridge", "lantern", "building", "river"],
            (0, "attached to", 1), (2, "on", 3), (0, "near", 4), (0, "near", 4));
        // |A n B| = 2 (attached to, near); |A u B| = 3 + 3 - 2 = 4 -> 2/4 = 0.5.
        Assert.Equal(0.5, SceneGraphIou.SgIou(truth, predicted), 12);
        // Labels are the same five on both sides -> 5/5 = 1.
        Assert.Equal(1, SceneGraphIou.EntityIou(truth, predicted), 12);
        // Predicates {attached to, hanging from, near} vs {attached to, on, near}: 2 / (3 + 3 - 2) = 0.5.
        Assert.Equal(0.5, SceneGraphIou.RelationIou(truth, predicted), 12);
    }

    [Fact]
    public void Entity_iou_uses_labels_not_attributes_and_counts_isolated_items()
    {
        SceneGraph truth = Graph(["cat", "mat"], (0, "on", 1));
        var predicted = new SceneGraph(
            [new SceneItem(0, "cat", ["white"]), new SceneItem(1, "rug", []), new SceneItem(2, "lamp", [])],
            [new SceneRelation(0, "on", 1)]);
        // {cat, mat} vs {cat, rug, lamp}: 1 / (2 + 3 - 1) = 0.25, attributes ignored.
        Assert.Equal(0.25, SceneGraphIou.EntityIou(truth, predicted), 12);
        // (cat, on, mat) vs (cat, on, rug): 0 / 2 = 0.
        Assert.Equal(0, SceneGraphIou.SgIou(truth, predicted));
        // {on} vs {on}: 1.
        Assert.Equal(1, SceneGraphIou.RelationIou(truth, predicted));
    }

    [Fact]
    public void Strings_are_compared_exactly()
    {
        // "Cat" is not "cat" and "on " is not "on": {cat, on} vs {Cat, on }: 0 / 4 = 0.
        Assert.Equal(0, SceneGraphIou.EntityIou(["cat", "mat"], ["Cat", "mat "]));
        Assert.Equal(0, SceneGraphIou.RelationIou(["on"], ["on "]));
        // {a, b} vs {b, c}: 1 / 3.
        Assert.Equal(1.0 / 3, SceneGraphIou.EntityIou(["a", "b", "b"], ["b", "c"]), 12);
    }

    [Fact]
    public void Empty_union_scores_zero()
    {
        Assert.Equal(0, SceneGraphIou.SgIou(SceneGraph.Empty, SceneGraph.Empty));
        Assert.Equal(new SceneGraphScores(0, 0, 0), SceneGraphIou.Score(SceneGraph.Empty, SceneGraph.Empty));
        // One side empty: 0 / |B| = 0.
        Assert.Equal(0, SceneGraphIou.EntityIou([], ["cat"]));
    }
}
