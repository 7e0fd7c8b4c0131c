using RlRig.Tests.Support;
using RlRig.World;
using TorchSharp;

namespace RlRig.Tests.World;

public sealed class ShapesWorldDatasetTests
{
    static readonly WorldOptions Options = new();

    [Fact]
    public void Batches_are_images_in_range_with_parseable_prompts_and_reproducible()
    {
        var data = new ShapesWorldDataset(Options, []);
        var (images, prompts) = data.NextBatch(6, new torch.Generator(5));
        var (again, promptsAgain) = data.NextBatch(6, new torch.Generator(5));
        using (images) using (again)
        {
            Assert.Equal(new long[] { 6, 3, 32, 32 }, images.shape);
            Assert.InRange(images.min().item<float>(), -1f, 1f);
            Assert.InRange(images.max().item<float>(), -1f, 1f);
            Assert.Equal(prompts, promptsAgain);
            Assert.Equal(images.data<float>().ToArray(), again.data<float>().ToArray());
        }
        Assert.All(prompts, p => RlRig.SceneGraphs.SceneGraph.ParsePrompt(p, WorldVocabulary.Prompt));
    }

    [Fact]
    public void Evaluation_scenes_are_never_produced()
    {
        // The scenes the first batch would hold, declared as the evaluation set: the same draw must now skip all of them.
        var first = new ShapesWorldDataset(Options, []).NextBatch(16, new torch.Generator(9)).Prompts
            .Select(p => RlRig.SceneGraphs.SceneGraph.ParsePrompt(p, WorldVocabulary.Prompt)).ToList();
        var excluding = new ShapesWorldDataset(Options, first);
        var (images, prompts) = excluding.NextBatch(16, new torch.Generator(9));
        images.Dispose();
        var excludedKeys = first.Select(EvaluationSet.Key).ToHashSet();
        Assert.DoesNotContain(prompts, p => excludedKeys.Contains(EvaluationSet.Key(RlRig.SceneGraphs.SceneGraph.ParsePrompt(p, WorldVocabulary.Prompt))));
        Assert.True(excluding.SkippedEvaluationScenes >= 16);
    }
}
