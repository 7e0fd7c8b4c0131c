namespace RlRig.Rl;

/// <summary>
/// A reward function: one reward per sample, or null where it does not apply to that sample (as TRL's functions return
/// None). A NaN or infinite reward is a bug in the function, and an error that names it.
/// </summary>
/// <param name="Name">What the reward measures, for errors and for the logged metric "rewards/{Name}/mean".</param>
/// <param name="Score">(the state of each sample, the samples) -&gt; one reward or null per sample.</param>
public sealed record RewardFunction<TState, TSample>(
    string Name,
    Func<IReadOnlyList<TState>, IReadOnlyList<TSample>, CancellationToken, Task<IReadOnlyList<double?>>> Score);

/// <summary>Thrown when a reward function returns NaN or infinity, or the wrong number of rewards.</summary>
public sealed class RewardFunctionException(string message) : Exception(message);

/// <summary>Every sample's rewards: per function (null where it did not apply) and their weighted sum (NaN where none applied).</summary>
public sealed record RewardTable(IReadOnlyList<string> Names, IReadOnlyList<IReadOnlyList<double?>> PerFunction, IReadOnlyList<double> Total)
{
    /// <summary>
    /// The weighted sum over the functions that apply to each sample (TRL's nansum); a sample to which none applies has
    /// no reward (NaN) and gets no advantage.
    /// </summary>
    /// <exception cref="RewardFunctionException">A function gave a NaN or infinite reward, or not one reward per sample.</exception>
    public static RewardTable Combine(IReadOnlyList<string> names, IReadOnlyList<IReadOnlyList<double?>> perFunction, IReadOnlyList<double> weights, int samples)
    {
        if (names.Count != perFunction.Count || weights.Count != perFunction.Count)
            throw new ArgumentException($"{names.Count} names, {perFunction.Count} reward lists and {weights.Count} weights; give one of each per function");
        for (var f = 0; f < perFunction.Count; f++)
        {
            if (perFunction[f].Count != samples)
                throw new RewardFunctionException($"reward function '{names[f]}' returned {perFunction[f].Count} rewards for {samples} samples; return one per sample (null where it does not apply)");
            for (var i = 0; i < samples; i++)
                if (perFunction[f][i] is { } r && !double.IsFinite(r))
                    throw new RewardFunctionException($"reward function '{names[f]}' returned {r} for sample {i}; rewards must be finite (return null where a reward does not apply)");
        }
        var total = new double[samples];
        for (var i = 0; i < samples; i++)
        {
            var applied = Enumerable.Range(0, perFunction.Count).Where(f => perFunction[f][i] is not null).ToList();
            total[i] = applied.Count == 0 ? double.NaN : applied.Sum(f => weights[f] * perFunction[f][i]!.Value);
        }
        return new RewardTable(names, perFunction, total);
    }

    /// <summary>The mean of each function's rewards over the samples it applied to (NaN where it applied to none).</summary>
    public IReadOnlyDictionary<string, double> MeanPerFunction() =>
        Names.Select((n, f) => (n, values: PerFunction[f].OfType<double>().ToList()))
            .ToDictionary(x => x.n, x => x.values.Count == 0 ? double.NaN : x.values.Average());
}

/// <summary>
/// Advantages of a batch made of whole groups, and what was degenerate about it.
/// </summary>
/// <param name="Advantages">One per sample; 0 for a sample without a reward and for every sample of a group that gives no signal.</param>
/// <param name="FracRewardZeroStd">Fraction of groups whose valid rewards are all equal (TRL's frac_reward_zero_std): no signal.</param>
/// <param name="FracTooFewValid">Fraction of groups with fewer than 2 valid rewards: no relative advantage exists, so 0.</param>
public sealed record AdvantageResult(IReadOnlyList<double> Advantages, double FracRewardZeroStd, double FracTooFewValid);

/// <summary>
/// GRPO's group-relative advantage, A_i = (r_i - mean(group)) / (std + eps), std with Bessel's correction over the group
/// (<see cref="RewardScaling.Group"/>) or the whole batch (<see cref="RewardScaling.Batch"/>), or A_i = r_i - mean(group)
/// (<see cref="RewardScaling.None"/>). Samples without a reward (NaN) are left out of the statistics and get 0.
/// Pure arithmetic on doubles, independent of any model.
/// </summary>
public static class GroupAdvantages
{
    /// <param name="rewards">Group after group, <paramref name="groupSize"/> samples each; NaN where a sample has no reward.</param>
    public static AdvantageResult Compute(IReadOnlyList<double> rewards, int groupSize, RewardScaling scale, double stdEpsilon = 1e-4)
    {
        ArgumentNullException.ThrowIfNull(rewards);
        if (groupSize < 1 || rewards.Count % groupSize != 0)
            throw new ArgumentException($"{rewards.Count} rewards are not whole groups of {groupSize}", nameof(groupSize));
        var advantages = new double[rewards.Count];
        var groups = rewards.Count / groupSize;
        var (zeroStd, tooFew) = (0, 0);
        var batchStd = Std([.. rewards.Where(r => !double.IsNaN(r))]);
        for (var g = 0; g < groups; g++)
        {
            var members = Enumerable.Range(g * groupSize, groupSize).Where(i => !double.IsNaN(rewards[i])).ToList();
            if (members.Count < 2) { tooFew++; continue; }
            var values = members.Select(i => rewards[i]).ToList();
            var mean = values.Average();
            var std = Std(values);
            if (values.All(v => v == values[0])) { zeroStd++; continue; }
            var divisor = scale switch
            {
                RewardScaling.Group => std + stdEpsilon,
                RewardScaling.Batch => batchStd + stdEpsilon,
                _ => 1.0,
            };
            foreach (var i in members) advantages[i] = (rewards[i] - mean) / divisor;
        }
        return new AdvantageResult(advantages, groups == 0 ? 0 : (double)zeroStd / groups, groups == 0 ? 0 : (double)tooFew / groups);
    }

    // The sample standard deviation (Bessel's correction, as torch.std); 0 for fewer than 2 values.
    static double Std(IReadOnlyList<double> values)
    {
        if (values.Count < 2) return 0;
        var mean = values.Average();
        return Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (values.Count - 1));
    }
}
