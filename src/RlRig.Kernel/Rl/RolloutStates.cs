using RlRig.Loop;
using RlRig.SceneGraphs;
using RlRig.World;

namespace RlRig.Rl;

/// <summary>
/// The states Actor-GRPO learns on: (target, the Checker's reflection, the image) read off real Generate-Reflect-Edit
/// rollouts on training prompts, every round the Checker finds unsatisfied, so the Actor trains on the images and
/// reflections it meets in the loop (the Diffuser's first images and the edited ones), never on the evaluation set; and
/// the (image, instruction) pairs editor-GRPO learns on, read off the same rollouts.
/// </summary>
public static class RolloutStates
{
    /// <summary>
    /// <paramref name="count"/> prompts from the world's scene sampler, drawn from <paramref name="seed"/>, none of them
    /// one of <paramref name="excluded"/> (the evaluation set, compared by <see cref="EvaluationSet.Key"/>).
    /// </summary>
    public static IReadOnlyList<SceneGraph> TrainingPrompts(WorldOptions world, IEnumerable<SceneGraph> excluded, int count, int seed)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var skip = excluded.Select(EvaluationSet.Key).ToHashSet();
        var sampler = new SceneSampler(world);
        var random = new Random(seed);
        var prompts = new List<SceneGraph>(count);
        while (prompts.Count < count)
        {
            var scene = sampler.Sample(random);
            if (!skip.Contains(EvaluationSet.Key(scene))) prompts.Add(scene);
        }
        return prompts;
    }

    /// <summary>
    /// Runs <paramref name="loop"/> on every prompt (prompt i with seed <paramref name="seed"/> + i) and returns each
    /// round's state that still has something to fix. The states own clones of the images; the caller disposes them
    /// (<see cref="Dispose(IEnumerable{ActorState})"/>).
    /// </summary>
    public static Task<IReadOnlyList<ActorState>> CollectAsync(GenerateReflectEditLoop loop, IReadOnlyList<SceneGraph> prompts, int seed,
        int batchSize = 50, CancellationToken cancellationToken = default) =>
        CollectAsync(loop, prompts, seed, batchSize, trace => trace.Rounds.Where(r => !r.Reflection.IsSatisfied)
            .Select(r => new ActorState(trace.Target, r.Reflection, r.Image.Clone())), cancellationToken);

    /// <summary>
    /// Runs <paramref name="loop"/> as <see cref="CollectAsync(GenerateReflectEditLoop, IReadOnlyList{SceneGraph}, int, int, CancellationToken)"/>
    /// and returns every edit its Actor asked for: (the image before, the instruction, the Checker's reflection on that
    /// image), "done" and instructions that do not parse left out, each with its own seed (<paramref name="seed"/> + its
    /// index). The requests own clones of the images; the caller disposes them (<see cref="Dispose(IEnumerable{EditRequest})"/>).
    /// </summary>
    public static async Task<IReadOnlyList<EditRequest>> CollectEditsAsync(GenerateReflectEditLoop loop, IReadOnlyList<SceneGraph> prompts, int seed,
        int batchSize = 50, CancellationToken cancellationToken = default)
    {
        var edits = await CollectAsync(loop, prompts, seed, batchSize, trace => trace.Rounds.Skip(1)
            .Where(r => r.Proposal!.Instruction is not (NoEdit or InvalidEdit))
            .Select(r => (Before: trace.Rounds[r.Round - 1], r.Proposal!.Instruction))
            .Select(e => new EditRequest(e.Before.Image.Clone(), e.Instruction, e.Before.Reflection, 0)), cancellationToken).ConfigureAwait(false);
        return [.. edits.Select((e, i) => e with { Seed = unchecked(seed + i) })];
    }

    // Runs the loop batch by batch and keeps what `take` reads off each trace before the trace's images are freed.
    static async Task<IReadOnlyList<T>> CollectAsync<T>(GenerateReflectEditLoop loop, IReadOnlyList<SceneGraph> prompts, int seed, int batchSize,
        Func<LoopTrace, IEnumerable<T>> take, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(loop);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        var kept = new List<T>();
        for (var from = 0; from < prompts.Count; from += batchSize)
        {
            var requests = prompts.Skip(from).Take(batchSize).Select((p, j) => new GenerationRequest(p, seed + from + j)).ToList();
            var traces = await loop.RunAsync(requests, cancellationToken).ConfigureAwait(false);
            foreach (var trace in traces)
            {
                using (trace) kept.AddRange(take(trace));
            }
        }
        return kept;
    }

    /// <summary>Disposes the states' images.</summary>
    public static void Dispose(IEnumerable<ActorState> states)
    {
        foreach (var s in states) s.Image.Dispose();
    }

    /// <summary>Disposes the requests' images.</summary>
    public static void Dispose(IEnumerable<EditRequest> requests)
    {
        foreach (var r in requests) r.Image.Dispose();
    }
}
