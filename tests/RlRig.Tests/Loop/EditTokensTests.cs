using RlRig.Loop;
using RlRig.World;

namespace RlRig.Tests.Loop;

public class EditTokensTests
{
    [Theory]
    [InlineData("move the small red circle to (0.25, 0.70)", "move the small red circle to 0.25 0.70")]
    [InlineData("move the red circle at (0.10, 0.05) left of the blue square at (1.00, 0.00)", "move the red circle at 0.10 0.05 left of the blue square at 1.00 0.00")]
    [InlineData("resize the green triangle to large", "resize the green triangle to large")]
    [InlineData("add a large purple square below the circle", "add a large purple square below the circle")]
    [InlineData("recolour the small yellow circle blue", "recolour the small yellow circle blue")]
    [InlineData("done", "done")]
    public void Words_round_trip_through_the_language(string text, string words)
    {
        var instruction = EditLanguage.Parse(text);
        var encoded = EditTokens.Encode(instruction);
        Assert.Equal(words, string.Join(' ', encoded));
        Assert.All(encoded, w => Assert.Contains(w, EditTokens.Words));
        var decoded = EditTokens.Decode(encoded);
        Assert.Equal(instruction.ToText(), decoded);
        Assert.Equal(instruction, EditLanguage.Parse(decoded));
    }

    [Fact]
    public void Vocabulary_has_every_word_once_and_every_world_word()
    {
        Assert.Equal(EditTokens.Words.Count, EditTokens.Words.Distinct().Count());
        Assert.Equal(101, EditTokens.Coordinates.Count);
        Assert.Contains("purple", EditTokens.Words);
        Assert.Contains("near", EditTokens.Words);
        Assert.DoesNotContain(";", EditTokens.Words);
        Assert.All(WorldVocabulary.Words.Where(w => w != ";"), w => Assert.Contains(w, EditTokens.Words));
    }

    [Fact]
    public void A_sequence_that_is_not_an_instruction_decodes_to_text_the_parser_rejects()
    {
        var text = EditTokens.Decode(["move", "the", "0.25", "to", "0.25", "0.70"]);
        Assert.Equal("move the 0.25 to (0.25, 0.70)", text);
        Assert.IsType<InvalidEdit>(EditLanguage.Parse(text));
        Assert.Throws<ArgumentException>(() => EditTokens.Encode(new InvalidEdit("x", "no")));
    }
}
