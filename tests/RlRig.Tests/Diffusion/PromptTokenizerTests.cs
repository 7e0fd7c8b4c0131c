using RlRig.Diffusion;
using Xunit;

namespace RlRig.Tests.Diffusion;

public sealed class PromptTokenizerTests : TorchTestBase
{
    static readonly string[] Words = ["small", "large", "red", "blue", "green", "circle", "square", "triangle", "left", "right", "of", "above", "below", "near", ";"];

    [Fact]
    public void EncodesTriplesSplittingTheSeparatorAndPads()
    {
        var tok = new PromptTokenizer(Words, maxLength: 16);
        var ids = tok.EncodeOne("small red circle left of large blue square;large blue square above small green triangle");
        Assert.Equal(new[] { 1, 3, 6, 9, 11, 2, 4, 7, 15, 2, 4, 7, 12, 1, 5, 8 }, ids);
        Assert.Equal("small red circle left of large blue square; large blue square above small green triangle", tok.Decode(ids));
        Assert.Equal(new[] { 3, 6, 0, 0 }, new PromptTokenizer(Words, 4).EncodeOne("Red  CIRCLE"));
    }

    [Fact]
    public void EmptyPromptIsAllPadding()
    {
        var tok = new PromptTokenizer(Words, 8);
        Assert.All(tok.EncodeOne(""), id => Assert.Equal(PromptTokenizer.PadId, id));
        using var batch = tok.Encode(["", "red circle"]);
        Assert.Equal(new long[] { 2, 8 }, batch.shape);
        Assert.Equal(0L, batch[0].sum().item<long>());
    }

    [Fact]
    public void UnknownWordIsNamedWithItsPosition()
    {
        var tok = new PromptTokenizer(Words);
        var e = Assert.Throws<PromptTokenizerException>(() => tok.EncodeOne("small red circle left of purple square"));
        Assert.Contains("\"purple\"", e.Message);
        Assert.Contains("position 5", e.Message);
    }

    [Fact]
    public void TooLongPromptAndBadVocabularyAreRejected()
    {
        var tok = new PromptTokenizer(Words, 3);
        Assert.Contains("maximum 3", Assert.Throws<PromptTokenizerException>(() => tok.EncodeOne("red circle left of blue square")).Message);
        Assert.Contains("more than once", Assert.Throws<ArgumentException>(() => new PromptTokenizer(["red", "Red"])).Message);
        Assert.Throws<ArgumentException>(() => new PromptTokenizer(["left of"]));
    }
}
