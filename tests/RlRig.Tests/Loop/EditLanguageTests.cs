using RlRig.Loop;
using RlRig.World;

namespace RlRig.Tests.Loop;

public sealed class EditLanguageTests
{
    static readonly ObjectRef SmallRedCircle = new("circle", "small", "red");
    static readonly ObjectRef LargeBlueSquare = new("square", "large", "blue");
    static readonly ObjectRef GreenTriangle = new("triangle", null, "green");
    static readonly ObjectRef LargeTriangle = new("triangle", "large");
    static readonly ObjectRef Circle = new("circle");

    public static TheoryData<EditInstruction> Instructions()
    {
        var data = new TheoryData<EditInstruction>();
        var refs = new[] { SmallRedCircle, LargeBlueSquare, GreenTriangle, LargeTriangle, Circle };
        foreach (var a in refs)
        {
            foreach (var b in refs.Where(b => b != a))
                foreach (var p in WorldVocabulary.Predicates)
                    data.Add(new MoveRelativeEdit(a, p, b));
            data.Add(new MovePositionEdit(a, 0.25, 0.7));
            data.Add(new MovePositionEdit(a, 0, 1));
            data.Add(new RecolourEdit(a, "purple"));
            data.Add(new ResizeEdit(a, "large"));
            data.Add(new ResizeEdit(a, "small"));
            data.Add(new RemoveEdit(a));
            data.Add(new AddEdit(new WorldObject(Shape.Triangle, WorldVocabulary.Colour("yellow"), true), "below", a));
            data.Add(new AddEdit(new WorldObject(Shape.Circle, WorldVocabulary.Colour("red"), false), "near", a));
        }
        data.Add(new NoEdit());
        return data;
    }

    [Theory]
    [MemberData(nameof(Instructions))]
    public void Every_instruction_round_trips_through_its_text(EditInstruction instruction)
    {
        var parsed = EditLanguage.Parse(instruction.ToText());
        Assert.Equal(instruction, parsed);
        Assert.Equal(instruction.ToText(), parsed.ToText());
    }

    [Theory]
    [InlineData("Move the small red circle left of the large blue square.", "move the small red circle left of the large blue square")]
    [InlineData("recolor the red circle to blue", "recolour the red circle blue")]
    [InlineData("delete  the circle", "remove the circle")]
    [InlineData("move the red circle to (0.5,0.25)", "move the red circle to (0.50, 0.25)")]
    [InlineData("add a large green square right of the triangle", "add a large green square right of the triangle")]
    [InlineData("DONE.", "done")]
    public void Variants_parse_to_the_canonical_instruction(string text, string canonical) =>
        Assert.Equal(canonical, EditLanguage.Parse(text).ToText());

    [Theory]
    [InlineData("", "empty")]
    [InlineData("   ", "empty")]
    [InlineData(null, "empty")]
    [InlineData("paint the red circle blue", "not an edit")]
    [InlineData("move the red hexagon left of the blue square", "not a shape")]
    [InlineData("move the red circle to (1.5, 0.2)", "[0, 1]")]
    [InlineData("move the red circle to (-0.1, 0.2)", "[0, 1]")]
    [InlineData("move the red circle to (NaN, 0.2)", "[0, 1]")]
    [InlineData("move the red circle to (0.2, Infinity)", "[0, 1]")]
    [InlineData("move the red circle to (1e9, 2)", "[0, 1]")]
    [InlineData("move the red circle to (x, y)", "[0, 1]")]
    [InlineData("move the red circle the blue square", "no relation")]
    [InlineData("move the red circle", "no relation")]
    [InlineData("move the red circle left of", "no relation")]
    [InlineData("add a circle left of the blue square", "size, colour and shape")]
    [InlineData("add a small red circle", "no relation")]
    [InlineData("recolour the red circle", "colour")]
    [InlineData("recolour the red circle pink", "colour")]
    [InlineData("resize the red circle huge", "to small")]
    [InlineData("resize the red circle", "to small")]
    [InlineData("remove the red big circle", "size or colour")]
    [InlineData("remove the red blue circle", "size or colour")]
    [InlineData("remove the the very small red circle", "does not name an object")]
    [InlineData("remove", "does not name an object")]
    [InlineData("move the red circle left of the the blue square", "size or colour")]
    [InlineData("\u0000\u200b\ud83d\ude00 \u202e garbage", "not an edit")]
    [InlineData("移动 红色 圆形", "not an edit")]
    public void Text_outside_the_language_is_invalid_with_a_reason(string? text, string reasonContains)
    {
        var parsed = EditLanguage.Parse(text);
        var invalid = Assert.IsType<InvalidEdit>(parsed);
        Assert.Contains(reasonContains, invalid.Reason);
        Assert.Equal(text ?? "", invalid.Text);
    }

    [Fact]
    public void Very_long_text_is_invalid_without_echoing_it_all()
    {
        foreach (var text in new[]
                 {
                     string.Join(' ', Enumerable.Repeat("move", 5000)),
                     new string('a', 1_000_000),
                     "move the red circle to (" + new string('1', 100_000) + ", 0.5)",
                     "move " + string.Concat(Enumerable.Repeat("the red circle to ( ", 3000)) + "left of the square",
                 })
        {
            var invalid = Assert.IsType<InvalidEdit>(EditLanguage.Parse(text));
            Assert.True(invalid.Reason.Length < 400, invalid.Reason[..Math.Min(200, invalid.Reason.Length)]);
            Assert.NotEmpty(invalid.Reason);
        }
    }

    [Fact]
    public void A_position_written_with_two_decimals_rounds_the_value()
    {
        var edit = new MovePositionEdit(SmallRedCircle, 0.123456, 0.987654);
        Assert.Equal("move the small red circle to (0.12, 0.99)", edit.ToText());
    }

    [Fact]
    public void An_object_reference_matches_items_by_its_given_words()
    {
        var item = new WorldObject(Shape.Circle, WorldVocabulary.Colour("red"), false).ToItem(0);
        Assert.True(SmallRedCircle.Matches(item));
        Assert.True(Circle.Matches(item));
        Assert.False(new ObjectRef("circle", "large").Matches(item));
        Assert.False(new ObjectRef("square", null, "red").Matches(item));
        Assert.Equal(SmallRedCircle, ObjectRef.Of(item));
    }

    [Theory]
    [InlineData("recolour the small blue triangle at (0.25, 0.70) green")]
    [InlineData("move the small blue triangle at (0.25, 0.70) left of the large red circle at (0.50, 0.10)")]
    [InlineData("move the small blue triangle at (0.25, 0.70) to (0.80, 0.20)")]
    [InlineData("resize the small blue triangle at (0.25, 0.70) to large")]
    [InlineData("remove the small blue triangle at (0.25, 0.70)")]
    [InlineData("add a small red circle above the small blue triangle at (0.25, 0.70)")]
    public void A_reference_may_say_where_the_object_is(string text)
    {
        var parsed = EditLanguage.Parse(text);
        Assert.IsNotType<InvalidEdit>(parsed);
        Assert.Equal(text, parsed.ToText());
        Assert.Contains("at (0.25, 0.70)", parsed.ToText());
    }

    [Theory]
    [InlineData("remove the small blue triangle at (1.5, 0.2)")]
    [InlineData("remove the small blue triangle at (NaN, 0.2)")]
    [InlineData("remove the small blue triangle at (0.2)")]
    public void A_bad_position_in_a_reference_is_invalid(string text) => Assert.IsType<InvalidEdit>(EditLanguage.Parse(text));
}
