using RlRig.SceneGraphs;

namespace RlRig.Tests.SceneGraphs;

public sealed class PromptParserTests
{
    private static readonly PromptVocabulary Shapes = new(
        labels: ["circle", "square", "triangle"],
        attributes: ["red", "blue", "green", "small"],
        predicates: ["left of", "right of", "above", "below"]);

    [Fact]
    public void Equal_item_texts_are_one_item()
    {
        SceneGraph g = SceneGraph.ParsePrompt("red circle left of blue square; blue square above green triangle", Shapes);
        Assert.Equal(
            [new SceneItem(0, "circle", ["red"]), new SceneItem(1, "square", ["blue"]), new SceneItem(2, "triangle", ["green"])],
            g.Items);
        Assert.Equal([new SceneRelation(0, "left of", 1), new SceneRelation(1, "above", 2)], g.Relations);
    }

    [Fact]
    public void Rendering_then_parsing_gives_the_graph_back()
    {
        SceneGraph original = SceneGraphTests.TowerAndLantern();
        var vocabulary = PromptVocabulary.FromGraphs([original]);
        Assert.Equal(original, SceneGraph.ParsePrompt(original.ToPromptText(), vocabulary));
    }

    [Fact]
    public void Multi_word_entries_and_isolated_items()
    {
        var vocabulary = new PromptVocabulary(["box", "table", "traffic light"], ["red"], ["on", "on the top of"]);
        SceneGraph g = SceneGraph.ParsePrompt("red box on the top of table;  traffic light ", vocabulary);
        Assert.Equal([new SceneRelation(0, "on the top of", 1)], g.Relations);
        Assert.Equal("traffic light", g.Items[2].Label);
        Assert.Equal([g.Items[2]], g.IsolatedItems());
    }

    [Fact]
    public void A_word_that_is_both_attribute_and_label_is_read_where_only_one_reading_fits()
    {
        var vocabulary = new PromptVocabulary(["stone", "tower"], ["stone"], ["near"]);
        SceneGraph g = SceneGraph.ParsePrompt("stone tower near stone", vocabulary);
        Assert.Equal([new SceneItem(0, "tower", ["stone"]), new SceneItem(1, "stone", [])], g.Items);
    }

    [Fact]
    public void Unknown_word_is_named_with_its_index()
    {
        // "red circle left of " is 3 + 1 + 6 + 1 + 4 + 1 + 2 + 1 = 19 characters, so "purple" starts at index 19.
        var ex = Assert.Throws<PromptParseException>(() => SceneGraph.ParsePrompt("red circle left of purple square", Shapes));
        Assert.Equal("purple", ex.Word);
        Assert.Equal(19, ex.Position);
        Assert.Equal("Unknown word \"purple\" at index 19 in segment \"red circle left of purple square\": expected attribute or label.", ex.Message);
    }

    [Fact]
    public void Position_counts_from_the_start_of_the_whole_prompt()
    {
        // Segment 2 starts after "red circle left of blue square;" (31 characters); " green" puts "green" at 32 and
        // "hexagon" at 32 + 6 = 38.
        var ex = Assert.Throws<PromptParseException>(() =>
            SceneGraph.ParsePrompt("red circle left of blue square; green hexagon above red circle", Shapes));
        Assert.Equal("hexagon", ex.Word);
        Assert.Equal(38, ex.Position);
    }

    [Fact]
    public void Known_word_in_the_wrong_place_is_unexpected()
    {
        var ex = Assert.Throws<PromptParseException>(() => SceneGraph.ParsePrompt("red circle blue square", Shapes));
        Assert.Equal("blue", ex.Word);
        Assert.StartsWith("Unexpected word \"blue\" at index 11", ex.Message);
        Assert.Contains("expected predicate or the end of the segment", ex.Message);
    }

    [Fact]
    public void Ambiguity_is_an_error_naming_both_readings()
    {
        var vocabulary = new PromptVocabulary(["light", "traffic light", "tree"], ["traffic"], ["left of"]);
        var ex = Assert.Throws<PromptParseException>(() => SceneGraph.ParsePrompt("traffic light left of tree", vocabulary));
        Assert.Equal("traffic", ex.Word);
        Assert.Equal(0, ex.Position);
        Assert.Contains("attribute \"traffic\"", ex.Message);
        Assert.Contains("label \"traffic light\"", ex.Message);
    }

    [Fact]
    public void Segment_ending_early_and_empty_segments_are_errors()
    {
        // "red circle left of blue" is 23 characters long: the missing label is reported at its end.
        var early = Assert.Throws<PromptParseException>(() => SceneGraph.ParsePrompt("red circle left of blue", Shapes));
        Assert.Equal(23, early.Position);
        Assert.Contains("ends too early", early.Message);

        var empty = Assert.Throws<PromptParseException>(() => SceneGraph.ParsePrompt("red circle;; blue square", Shapes));
        Assert.Equal(11, empty.Position);
        Assert.Contains("Empty segment", empty.Message);
    }

    [Fact]
    public void Blank_prompt_is_the_empty_graph()
    {
        Assert.Equal(SceneGraph.Empty, SceneGraph.ParsePrompt("  ", Shapes));
    }
}
