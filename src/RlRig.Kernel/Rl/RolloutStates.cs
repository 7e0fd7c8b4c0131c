using RlRig.Loop;
using RlRig.SceneGraphs;
using RlRig.World;

namespace RlRig.Rl;

/// <summary>
/// The states Actor-GRPO learns on: (target, the Checker's reflection, the image) read off real Generate-Reflect-Edit
/// rollouts on training prompts, every round the Checker finds unsatisfied, so the Actor trains on the images and
/// reflections it meets in the loop (the Diffuser's first images and the edited ones), never on the evaluation set.
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
    /// (<see cref="Dispose"/>). <paramref name="progress"/> hears the number of prompts done after each batch.
    /// </summary>
    public static async Task<IReadOnlyList<ActorState>> CollectAsync(GenerateReflectEditLoop loop, IReadOnlyList<SceneGraph> prompts, int seed,
        int batchSize = 50, CancellationToken cancellationToken = default, IProgress<int>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(loop);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        var states = new List<ActorState>();
        for (var from = 0; from < prompts.Count; from += batchSize)
        {
            var requests = prompts.Skip(from).Take(batchSize).Select((p, j) => new GenerationRequest(p, seed + from + j)).ToList();
            var traces = await loop.RunAsync(requests, cancellationToken).ConfigureAwait(false);
            foreach (var trace in traces)
            {
                using (trace)
                    states.AddRange(trace.Rounds.Where(r => !r.Reflection.IsSatisfied)
                        .Select(r => new ActorState(trace.Target, r.Reflection, r.Image.Clone())));
            }
            progress?.Report(from + requests.Count);
        }
        return states;
    }

    /// <summary>
    /// The (image, instruction) pairs editor-GRPO learns on: each state with the instruction <paramref name="actor"/> (the
    /// loop's Actor) writes for it, those it would not edit ("done", text that does not parse) left out. A pair shares its
    /// state's image: dispose the states, not the pairs.
    /// </summary>
    public static async Task<IReadOnlyList<EditRequest>> EditRequestsAsync(IActor actor, IReadOnlyList<ActorState> states, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(actor);
        ArgumentNullException.ThrowIfNull(states);
        if (states.Count == 0) return [];
        var proposals = await actor.ActAsync(states, cancellationToken).ConfigureAwait(false);
        return [.. states.Select((s, i) => (s, proposals[i].Instruction)).Where(x => x.Instruction is not (NoEdit or InvalidEdit))
            .Select((x, k) => new EditRequest(x.s.Image, x.Instruction, x.s.Reflection, k))];
    }

    /// <summary>Disposes the states' images.</summary>
    public static void Dispose(IEnumerable<ActorState> states)
    {
        foreach (var s in states) s.Image.Dispose();
    }
}
