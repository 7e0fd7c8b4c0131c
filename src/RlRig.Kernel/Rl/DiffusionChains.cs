using TorchSharp;
using static TorchSharp.torch;

namespace RlRig.Rl;

/// <summary>
/// What the diffusion-chain policies (<see cref="EditorPolicy"/>, <see cref="InpaintPolicy"/>) share, DanceGRPO's
/// way: each sample's own noise from the step's seed, a group's shared start, and the subset of steps trained on.
/// </summary>
static class DiffusionChains
{
    /// <summary>One generator per sample of a step (the caller disposes them).</summary>
    public static List<Generator> Generators(long seed, int count) =>
        [.. Enumerable.Range(0, count).Select(i => new Generator(unchecked((ulong)(seed * 1_000_003 + i)), CPU))];

    /// <summary>
    /// (states x G, 3, size, size): one start noise per state, repeated for its group, so a group's samples differ by
    /// their step noise only and rewards compare what the policy chose, not where it started.
    /// </summary>
    public static Tensor SharedStart(long seed, int states, int numGenerations, int size)
    {
        using var shared = new Generator(unchecked((ulong)(seed * 7_919 + 17)), CPU);
        using var drawn = randn([states, 3, size, size], generator: shared);
        return drawn.repeat_interleave(numGenerations, 0);
    }

    /// <summary>
    /// Which of a chain's <paramref name="steps"/> are trained on: round(fraction x (steps - 1)) of the stochastic steps
    /// (at least one), drawn from the step's seed, the same for the whole batch; the last step is deterministic.
    /// </summary>
    public static bool[] TrainedSteps(int steps, double fraction, long seed)
    {
        var stochastic = Math.Max(1, steps - 1);
        var count = Math.Clamp((int)Math.Round(fraction * stochastic), 1, stochastic);
        var order = Enumerable.Range(0, stochastic).ToArray();
        new Random(unchecked((int)seed)).Shuffle(order);
        var trained = new bool[steps];
        foreach (var j in order.Take(count)) trained[j] = true;
        return trained;
    }
}
