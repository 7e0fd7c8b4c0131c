using RlRig.Diffusion;
using RlRig.Loop;
using RlRig.Loop.Actors;
using RlRig.World;

namespace RlRig.Rl;

/// <summary>
/// Measurements behind <c>rlrig bench actor-grpo</c> and <c>rlrig bench editor-grpo</c>: RSS and live tensors over a long
/// run of the real GRPO trainers, taken as <c>train actor-grpo</c> takes it (TensorBoard every step, a checkpoint every
/// <see cref="GrpoRunOptions.CheckpointEvery"/> steps, into a temporary folder deleted afterwards). The caller gives the
/// models, the pool and the options (a small configuration fits a thousand steps in minutes); the policy is trained in place.
/// </summary>
public static class GrpoBenchmarks
{
    /// <summary>Actor-GRPO for <paramref name="warmupSteps"/> + <paramref name="steps"/> steps with <paramref name="options"/>' algorithm and checkpoint cadence.</summary>
    public static MemoryFlatnessResult ActorMemoryFlatness(LearnedActor actor, LearnedActor reference, IChecker checker, IInverseDiffuser editor,
        IReadOnlyList<ActorState> pool, ActorGrpoOptions options, int steps, int warmupSteps = 20, IProgress<RssSample>? progress = null) =>
        InTemporaryRun(options.Run, steps, warmupSteps, run =>
        {
            using var trainer = new ActorGrpoTrainer(actor, reference, checker, editor, pool, options with { Run = run });
            return Track(trainer.TrainAsync(), steps, warmupSteps, options.Grpo, progress);
        });

    /// <summary>Editor-GRPO for <paramref name="warmupSteps"/> + <paramref name="steps"/> steps with <paramref name="options"/>' algorithm, chain and checkpoint cadence.</summary>
    public static MemoryFlatnessResult EditorMemoryFlatness(TextToImageDiffuser editor, TextToImageDiffuser reference, IChecker checker, WorldOptions world,
        IReadOnlyList<EditRequest> pool, EditorGrpoOptions options, int steps, int warmupSteps = 20, IProgress<RssSample>? progress = null) =>
        InTemporaryRun(options.Run, steps, warmupSteps, run =>
        {
            using var trainer = new EditorGrpoTrainer(editor, reference, checker, world, pool, options with { Run = run });
            return Track(trainer.TrainAsync(), steps, warmupSteps, options.Grpo, progress);
        });

    static MemoryFlatnessResult Track(IAsyncEnumerable<GrpoProgress> run, int steps, int warmupSteps, GrpoOptions grpo, IProgress<RssSample>? progress) =>
        DiffuserBenchmarks.TrackMemory(run.ToBlockingEnumerable(), p => p.Step, steps, warmupSteps, grpo.GenerationBatchSize, progress);

    static MemoryFlatnessResult InTemporaryRun(GrpoRunOptions recipe, int steps, int warmupSteps, Func<GrpoRunOptions, MemoryFlatnessResult> measure)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(steps, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(warmupSteps);
        var folder = Directory.CreateTempSubdirectory("rlrig-bench-").FullName;
        try { return measure(recipe with { TotalSteps = warmupSteps + steps, OutputDir = folder, Resume = false }); }
        finally { Directory.Delete(folder, recursive: true); }
    }
}
