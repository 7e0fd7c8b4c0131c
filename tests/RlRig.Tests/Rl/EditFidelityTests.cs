using RlRig.Loop;
using RlRig.Rl;
using RlRig.SceneGraphs;
using RlRig.Tests.Loop;
using RlRig.World;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using Xunit;

namespace RlRig.Tests.Rl;

/// <summary>Editor-GRPO's reward with the fake world's Checker (it reads exactly what an image shows).</summary>
public sealed class EditFidelityTests
{
    [Fact]
    public async Task The_exact_edit_scores_1_a_wrong_edit_less_and_an_impossible_instruction_has_no_reward()
    {
        var w = new FakeWorld();
        var checker = new FakeWorld.Checker(w);
        var editor = new FakeWorld.Editor(w);
        var target = SceneGraph.ParsePrompt("large red circle left of small blue square", WorldVocabulary.Prompt);
        var image = (await new FakeWorld.Diffuser(w).GenerateAsync([new GenerationRequest(target, 3)]))[0].Image;
        var before = (await checker.ReflectAsync([image], [target]))[0];
        var move = EditLanguage.Parse("remove the blue square");
        var request = new EditRequest(image, move, before, 0);
        var exact = (await editor.EditAsync([request]))[0].Image;                                           // SceneEdit's result
        var untouched = (await editor.EditAsync([request with { Instruction = new NoEdit() }]))[0].Image;     // nothing moved
        var impossible = request with { Instruction = EditLanguage.Parse("remove the purple triangle") };
        Assert.Null(EditFidelity.ExpectedScene(w.World, before, impossible.Instruction));

        var reward = EditFidelity.Reward<Image<Rgb24>>(checker, w.World, i => i);
        var scores = await reward.Score([request, request, impossible], [exact, untouched, exact], default);

        Assert.Equal(1.0, scores[0]);
        Assert.True(scores[1] < 1.0, $"an edit that did nothing scored {scores[1]}");
        Assert.Null(scores[2]);
    }
}
