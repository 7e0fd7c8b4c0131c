using RlRig.Diffusion;
using RlRig.Loop.Editors;
using RlRig.Rl;
using RlRig.Tests.Diffusion;
using RlRig.Tests.Loop;
using RlRig.Tests.Support;
using RlRig.World;
using Xunit;

namespace RlRig.Tests.Rl;

/// <summary>
/// The GRPO trainers' memory runs (what <c>rlrig bench actor-grpo|editor-grpo</c> measure) with tiny models: between
/// steps a run holds its weights, AdamW's moments and the reference, so a tensor a step leaves alive (a rollout, a
/// log-probability, an edited image's tensor) shows in the count.
/// </summary>
[Collection(ProcessMemoryCollection.Name)]
public sealed class GrpoMemoryTests : TorchTestBase
{
    static readonly MemoryFlatnessCriterion Criterion = new() { MaxRssGrowthBytes = 64L << 20 };

    [Fact]
    public async Task Actor_grpo_steps_free_every_tensor_they_make()
    {
        var w = new FakeWorld();
        var pool = await ActorGrpoTrainerTests.Pool(w);
        using var actor = ActorGrpoTrainerTests.TinyActor(3);
        using var reference = ActorGrpoTrainerTests.TinyActor(3);
        var recipe = new ActorGrpoOptions();
        var options = recipe with
        {
            Grpo = recipe.Grpo with { NumGenerations = 2, GenerationBatchSize = 4, NumIterations = 2, MaxCompletionLength = 12 },
            Run = recipe.Run with { CheckpointEvery = 5, NumThreads = 0 },
            TrainingPrompts = 4,
        };
        var result = GrpoBenchmarks.ActorMemoryFlatness(actor, reference, new FakeWorld.Checker(w), new FakeWorld.Editor(w), pool, options, steps: 8, warmupSteps: 2);
        Assert.Null(result.Check(Criterion));
        Assert.Equal(8, result.Samples[^1].Step);
    }

    [Fact]
    public async Task Editor_grpo_steps_free_every_tensor_they_make()
    {
        using var checker = EditorGrpoTests.Checker();
        var pool = await EditorGrpoTests.Pool(checker, 2);
        try
        {
            using var editor = EditorGrpoTests.TinyEditor(2);
            using var reference = EditorGrpoTests.TinyEditor(2);
            var recipe = new EditorGrpoOptions();
            var options = recipe with
            {
                Grpo = recipe.Grpo with { NumGenerations = 2, GenerationBatchSize = 2, MaxCompletionLength = 3 },
                Sampling = new LearnedEditorOptions { Steps = 3, Strength = 1 },
                Run = recipe.Run with { CheckpointEvery = 2, NumThreads = 0 },
                TrainingPrompts = 2,
            };
            var result = GrpoBenchmarks.EditorMemoryFlatness(editor, reference, checker, new WorldOptions(), pool, options, steps: 4, warmupSteps: 1);
            Assert.Null(result.Check(Criterion));
        }
        finally { foreach (var request in pool) request.Image.Dispose(); }
    }
}
