using RlRig.SceneGraphs;

namespace RlRig.Tests.SceneGraphs;

public sealed class SceneGraphTests
{
    internal static SceneGraph TowerAndLantern() => new(
        [
            new SceneItem(0, "tower", ["stone", "tall"]),
            new SceneItem(1, "bridge", ["stone", "arched"]),
            new SceneItem(2, "lantern", ["red", "glowing"]),
            new SceneItem(3, "building", ["wooden", "multi-story"]),
        ],
        [new SceneRelation(0, "attached to", 1), new SceneRelation(2, "hanging from", 3)]);

    [Fact]
    public void Items_compare_attributes_as_sequences()
    {
        var a = new SceneItem(1, "tower", new List<string> { "stone", "tall" });
        var b = new SceneItem(1, "tower", new[] { "stone", "tall" });
        Assert.Equal(a, b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.NotEqual(a, new SceneItem(1, "tower", ["tall", "stone"]));
        Assert.NotEqual(a, b with { Box = new Box(0, 0, 1, 1) });
    }

    [Fact]
    public void Item_text_is_attributes_then_label()
    {
        Assert.Equal("stone tall tower", new SceneItem(0, "tower", ["stone", "tall"]).Text);
        Assert.Equal("tower", new SceneItem(0, "tower", []).Text);
    }

    [Fact]
    public void Graphs_are_equal_by_content()
    {
        SceneGraph a = TowerAndLantern(), b = TowerAndLantern();
        Assert.True(a == b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        var c = new SceneGraph(a.Items, a.Relations.Take(1));
        Assert.NotEqual(a, c);
    }

    [Fact]
    public void Prompt_text_matches_the_rl_rig_format()
    {
        Assert.Equal(
            "stone tall tower attached to stone arched bridge; red glowing lantern hanging from wooden multi-story building",
            TowerAndLantern().ToPromptText());
    }

    [Fact]
    public void Isolated_items_follow_as_their_own_segments()
    {
        var g = new SceneGraph(
            [new SceneItem(0, "cat", ["black"]), new SceneItem(1, "mat", []), new SceneItem(2, "lamp", ["tall"])],
            [new SceneRelation(0, "on", 1)]);
        Assert.Equal("black cat on mat; tall lamp", g.ToPromptText());
        Assert.Equal([g.Items[2]], g.IsolatedItems());
    }

    [Fact]
    public void Invalid_graphs_are_refused_with_the_reason()
    {
        SceneItem cat = new(0, "cat", []);
        Assert.Contains("object id 5", Assert.Throws<ArgumentException>(() =>
            new SceneGraph([cat], [new SceneRelation(0, "on", 5)])).Message);
        Assert.Contains("repeats item id 0", Assert.Throws<ArgumentException>(() =>
            new SceneGraph([cat, new SceneItem(0, "dog", [])], [])).Message);
        Assert.Contains("empty label", Assert.Throws<ArgumentException>(() =>
            new SceneGraph([new SceneItem(0, " ", [])], [])).Message);
        Assert.Contains("empty predicate", Assert.Throws<ArgumentException>(() =>
            new SceneGraph([cat], [new SceneRelation(0, "", 0)])).Message);
    }

    [Fact]
    public void Label_triples_labels_and_predicates()
    {
        SceneGraph g = TowerAndLantern();
        Assert.Equal(
            [new LabelTriple("tower", "attached to", "bridge"), new LabelTriple("lantern", "hanging from", "building")],
            g.LabelTriples());
        Assert.Equal(["tower", "bridge", "lantern", "building"], g.Labels());
        Assert.Equal(["attached to", "hanging from"], g.Predicates());
    }
}
