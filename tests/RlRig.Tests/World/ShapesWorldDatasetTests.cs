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
    public void Word_regions_cover_every_drawn_pixel_of_their_object_and_only_object_words_have_one()
    {
        var data = new ShapesWorldDataset(Options, []);
        var (images, prompts, regions) = data.NextGroundedBatch(8, new torch.Generator(5), maxWords: 32);
        var (plain, plainPrompts) = data.NextBatch(8, new torch.Generator(5));
        using (images) using (regions) using (plain)
        {
            Assert.Equal(plainPrompts, prompts);  // the same draws as NextBatch
            Assert.Equal(plain.data<float>().ToArray(), images.data<float>().ToArray());
            Assert.Equal(new long[] { 8, 32, 32, 32 }, regions.shape);
            var bg = Options.Background;
            // (B, H, W): pixels that differ from the background, i.e. drawn by some object.
            var background = torch.tensor(new[] { bg.R, bg.G, bg.B }.Select(c => c / 127.5f - 1).ToArray()).view(1, 3, 1, 1);
            var drawn = (images - background).abs().amax([1]).gt(0.02);
            for (var b = 0; b < 8; b++)
            {
                var words = RlRig.Diffusion.PromptTokenizer.Split(prompts[b]);
                var scene = RlRig.SceneGraphs.SceneGraph.ParsePrompt(prompts[b], WorldVocabulary.Prompt);
                var objectWords = scene.Items.SelectMany(i => RlRig.Diffusion.PromptTokenizer.Split(i.Text)).ToHashSet();
                for (var w = 0; w < 32; w++)
                {
                    var area = regions[b, w].sum().item<float>();
                    if (w < words.Count && objectWords.Contains(words[w])) Assert.True(area >= 4, $"\"{words[w]}\" (word {w} of \"{prompts[b]}\") has no region");
                    else Assert.True(area == 0, $"word {w} of \"{prompts[b]}\" names no object but has a region");
                }
                // Every drawn pixel lies in some word's region: the boxes are where the renderer drew, x and y not swapped.
                var covered = regions[b].amax([0]).gt(0);
                Assert.False(drawn[b].logical_and(covered.logical_not()).any().item<bool>(), $"drawn pixels outside every region in \"{prompts[b]}\"");
            }
        }
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
