using RlRig.Loop;
using RlRig.Loop.Checkers;
using RlRig.Loop.Editors;
using RlRig.SceneGraphs;
using RlRig.World;
using TorchSharp;
using static TorchSharp.torch;

namespace RlRig.Tests.Loop;

public sealed class EditorTrainingDataTests
{
    static readonly WorldOptions World = new();

    [Fact]
    public void Every_operation_gives_the_world_s_exact_effect_and_names_objects_as_the_Actor_does()
    {
        var data = new EditorTrainingData(World, []);
        var random = new Random(7);
        foreach (var kind in Enum.GetValues<EditorTrainingData.Kind>())
            for (var k = 0; k < 10; k++)
            {
                var example = data.Draw(random, kind);
                var expected = SceneEdit.Apply(World, example.Before, example.Instruction);
                Assert.NotNull(expected);
                Assert.Equal(expected.Select(i => (i.Text, i.Box)), example.After.Select(i => (i.Text, i.Box)));
                // The text round-trips through the edit language and its words are the vocabulary's.
                var prompt = EditorTrainingData.Prompt(example.Instruction);
                Assert.Equal(example.Instruction, EditLanguage.Parse(EditTokens.Decode(prompt.Split(' '))));
                Assert.All(prompt.Split(' '), w => Assert.Contains(w, EditTokens.Words));
                // A position only where another object fits the same words.
                foreach (var r in References(example.Instruction))
                    Assert.Equal(example.Before.Count((r with { At = null }).Matches) > 1, r.At is not null);
                Assert.Equal(kind switch
                {
                    EditorTrainingData.Kind.MoveRelative => typeof(MoveRelativeEdit), EditorTrainingData.Kind.MovePosition => typeof(MovePositionEdit),
                    EditorTrainingData.Kind.Recolour => typeof(RecolourEdit), EditorTrainingData.Kind.Resize => typeof(ResizeEdit),
                    EditorTrainingData.Kind.Remove => typeof(RemoveEdit), _ => typeof(AddEdit),
                }, example.Instruction.GetType());
            }
    }

    [Fact]
    public void A_batch_pairs_the_clean_render_of_the_after_scene_with_a_damaged_before_image()
    {
        var data = new EditorTrainingData(World, []);
        using var generator = new Generator(3, CPU);
        var (after, prompts, before) = data.NextConditionedBatch(6, generator);
        using (after) using (before)
        {
            Assert.Equal([6, 3, 32, 32], after.shape);
            Assert.Equal([6, 3, 32, 32], before.shape);
            Assert.Equal(6, prompts.Count);
            // The batch's examples are the ones Draw gives for the generator's first draw.
            using var again = new Generator(3, CPU);
            using var seed = randint(int.MaxValue, [1], generator: again);
            var random = new Random((int)seed.item<long>());
            for (var b = 0; b < 6; b++)
            {
                var example = data.Draw(random);
                Assert.Equal(EditorTrainingData.Prompt(example.Instruction), prompts[b]);
                var clean = ShapeRenderer.RenderHwc(new SceneGraph(example.After, []), World);
                using var expected = tensor(clean, [32, 32, 3]).permute(2, 0, 1) * 2 - 1;
                Assert.True(expected.allclose(after[b], atol: 1e-6));
                // Draw the before image's damage as the batch did, so the stream stays in step.
                CheckerTrainingData.Render(new SceneGraph(example.Before, []), World, data.Augmentation, random);
            }
        }
    }

    [Fact]
    public void The_evaluation_set_s_scenes_are_never_edited()
    {
        // The data's sampler draws the same scenes from the same seed: excluding the first 40 makes it skip every one of them.
        var sampler = new SceneSampler(World);
        var random = new Random(11);
        var excluded = Enumerable.Range(0, 40).Select(_ => sampler.Sample(random)).ToList();
        var data = new EditorTrainingData(World, excluded);
        var replay = new Random(11);
        for (var k = 0; k < 10; k++)
        {
            var before = data.Draw(replay, EditorTrainingData.Kind.Remove).Before;
            Assert.DoesNotContain(excluded, s => s.Items.Select(i => (i.Text, i.Box)).SequenceEqual(before.Take(s.Items.Count).Select(i => (i.Text, i.Box))));
        }
    }

    static IEnumerable<ObjectRef> References(EditInstruction instruction) => instruction switch
    {
        MoveRelativeEdit m => [m.Object, m.Anchor],
        MovePositionEdit m => [m.Object],
        RecolourEdit r => [r.Object],
        ResizeEdit r => [r.Object],
        RemoveEdit r => [r.Object],
        AddEdit a => [a.Anchor],
        _ => [],
    };
}
