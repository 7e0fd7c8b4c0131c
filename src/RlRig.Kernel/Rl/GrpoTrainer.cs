using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace RlRig.Rl;

/// <summary>
/// A policy GRPO can train: it draws groups of samples for states and scores samples' per-token log-probabilities under
/// its current weights. The learned Actor (tokens of an instruction) and the learned editor (steps of a denoising chain)
/// both are one; so is the toy bandit of the tests.
/// </summary>
public interface IGrpoPolicy<TState, TSample>
{
    /// <summary>
    /// <paramref name="numGenerations"/> samples for each state, state after state (the group of state s is samples
    /// [s G, (s + 1) G)), drawn at <see cref="GrpoOptions.Temperature"/> (and top-k/top-p where they apply) from
    /// <paramref name="seed"/> (the same seed, states and weights give the same samples), without gradients.
    /// </summary>
    GrpoRollout<TSample> Sample(IReadOnlyList<TState> states, int numGenerations, GrpoOptions options, long seed);

    /// <summary>
    /// (B, T) per-token log-probabilities of the samples, sample i being for <c>states[i]</c>, under the current weights
    /// and the tempered distribution they were drawn from; with gradients unless the caller disabled them.
    /// </summary>
    Tensor LogProbs(IReadOnlyList<TState> states, GrpoRollout<TSample> rollout, GrpoOptions options);

    /// <summary>The weights GRPO optimises.</summary>
    IEnumerable<Parameter> TrainableParameters();
}

/// <summary>
/// Samples drawn by a policy: the samples, (B, T) their log-probabilities when drawn, (B, T) which tokens are real, and
/// whatever else the policy keeps to score them again (a diffusion chain's latents), disposed with the rollout.
/// </summary>
public sealed record GrpoRollout<TSample>(IReadOnlyList<TSample> Samples, Tensor LogProbs, Tensor Mask, IDisposable? Kept = null) : IDisposable
{
    public void Dispose()
    {
        LogProbs.Dispose();
        Mask.Dispose();
        Kept?.Dispose();
    }
}

/// <summary>
/// A batch as GRPO sees it before learning from it: the states, <see cref="GrpoOptions.NumGenerations"/> samples for each
/// (sample i is for state i / G), their rewards and their group-relative advantages.
/// </summary>
public sealed record GrpoBatch<TState, TSample>(IReadOnlyList<TState> States, IReadOnlyList<TSample> Samples, RewardTable Rewards, AdvantageResult Advantages);

/// <summary>One GRPO step: the batch it learned from and the figures TRL logs (<see cref="Metrics"/> gives them under TRL's names).</summary>
public sealed record GrpoStepReport<TState, TSample>(
    GrpoBatch<TState, TSample> Batch,
    double RewardMean,
    double RewardStd,
    double Loss,
    double Kl,
    double ClipRatioLow,
    double ClipRatioHigh,
    double ClipRatioRegion,
    double GradNorm)
{
    /// <summary>The figures under TRL's metric names ("reward", "reward_std", "rewards/NAME/mean", "kl", "clip_ratio/region_mean", "frac_reward_zero_std", ...).</summary>
    public IReadOnlyDictionary<string, double> Metrics()
    {
        var metrics = new Dictionary<string, double>
        {
            ["reward"] = RewardMean,
            ["reward_std"] = RewardStd,
            ["loss"] = Loss,
            ["kl"] = Kl,
            ["clip_ratio/low_mean"] = ClipRatioLow,
            ["clip_ratio/high_mean"] = ClipRatioHigh,
            ["clip_ratio/region_mean"] = ClipRatioRegion,
            ["frac_reward_zero_std"] = Batch.Advantages.FracRewardZeroStd,
            ["frac_too_few_valid_rewards"] = Batch.Advantages.FracTooFewValid,
            ["grad_norm"] = GradNorm,
        };
        foreach (var (name, mean) in Batch.Rewards.MeanPerFunction()) metrics[$"rewards/{name}/mean"] = mean;
        return metrics;
    }
}

/// <summary>
/// Group Relative Policy Optimisation over any <see cref="IGrpoPolicy{TState, TSample}"/>: per batch of states, draw
/// G samples each, score them with the weighted reward functions, turn rewards into group-relative advantages, and take
/// <see cref="GrpoOptions.NumIterations"/> AdamW steps on the clipped surrogate (with the k3 KL to a frozen reference
/// when beta &gt; 0), the log-probabilities before the first step kept as the old policy's. The trainers of the Actor
/// and the editor feed it states and keep checkpoints; this class owns only the algorithm and its optimiser.
/// </summary>
public sealed class GrpoTrainer<TState, TSample> : IDisposable
{
    readonly IGrpoPolicy<TState, TSample> policy;
    readonly IGrpoPolicy<TState, TSample>? reference;
    readonly IReadOnlyList<RewardFunction<TState, TSample>> rewardFunctions;
    readonly IReadOnlyList<double> weights;
    readonly Parameter[] parameters;

    /// <param name="reference">The frozen policy of the KL term; required when beta &gt; 0, ignored otherwise.</param>
    public GrpoTrainer(IGrpoPolicy<TState, TSample> policy, IReadOnlyList<RewardFunction<TState, TSample>> rewardFunctions, GrpoOptions options,
        IGrpoPolicy<TState, TSample>? reference = null)
    {
        this.policy = policy ?? throw new ArgumentNullException(nameof(policy));
        ArgumentNullException.ThrowIfNull(rewardFunctions);
        Options = (options ?? throw new ArgumentNullException(nameof(options))).Validate();
        if (rewardFunctions.Count == 0) throw new ArgumentException("give at least one reward function", nameof(rewardFunctions));
        var duplicate = rewardFunctions.GroupBy(f => f.Name).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null) throw new ArgumentException($"two reward functions are named '{duplicate.Key}'; names label the logged metrics, give each its own", nameof(rewardFunctions));
        if (options.Beta > 0 && reference is null) throw new ArgumentException($"beta = {options.Beta} needs a reference policy (the frozen starting point); give one, or set beta to 0", nameof(reference));
        this.rewardFunctions = rewardFunctions;
        weights = options.WeightsFor(rewardFunctions.Count);
        this.reference = options.Beta > 0 ? reference : null;
        parameters = [.. policy.TrainableParameters()];
        Optimizer = optim.AdamW(parameters, options.LearningRate);
    }

    public GrpoOptions Options { get; }

    /// <summary>The AdamW optimiser, for a trainer's checkpoint (its state must be saved for an exact resume).</summary>
    public AdamW Optimizer { get; }

    /// <summary>One step on <paramref name="states"/> (<see cref="GrpoOptions.StatesPerBatch"/> of them, or any number of whole groups' worth).</summary>
    /// <exception cref="RewardFunctionException">A reward function returned a NaN or infinite reward; the message names it.</exception>
    /// <param name="seed">All of the step's sampling randomness (a trainer derives it from its step, so a resumed run repeats it).</param>
    public async Task<GrpoStepReport<TState, TSample>> StepAsync(IReadOnlyList<TState> states, long seed, CancellationToken cancellationToken = default)
    {
        var (drawn, batch) = await DrawAndScoreAsync(states, seed, cancellationToken).ConfigureAwait(false);
        using var rollout = drawn;
        var perSample = PerSample(states);
        cancellationToken.ThrowIfCancellationRequested();
        using var scope = NewDisposeScope();
        var advantageTensor = tensor(batch.Advantages.Advantages.Select(a => (float)a).ToArray());
        Tensor? referenceLogProbs = null;
        Tensor? oldLogProbs = null;
        using (no_grad())
        {
            if (reference is not null) referenceLogProbs = reference.LogProbs(perSample, rollout, Options);
            // With one pass the old policy is the current one (ratio 1, as TRL detaches); with more, it is fixed before the first update.
            if (Options.NumIterations > 1) oldLogProbs = policy.LogProbs(perSample, rollout, Options);
        }
        double gradNorm = double.NaN, loss = double.NaN, kl = double.NaN, clipLow = 0, clipHigh = 0, clipRegion = 0;
        for (var iteration = 0; iteration < Options.NumIterations; iteration++)
        {
            using var stepScope = NewDisposeScope();
            Optimizer.zero_grad();
            var logProbs = policy.LogProbs(perSample, rollout, Options);
            var output = GrpoLoss.Compute(logProbs, oldLogProbs ?? logProbs.detach(), referenceLogProbs, advantageTensor, rollout.Mask, Options);
            output.Loss.backward();
            gradNorm = Options.MaxGradNorm > 0 ? nn.utils.clip_grad_norm_(parameters, Options.MaxGradNorm) : GlobalNorm();
            Optimizer.step();
            (loss, kl, clipLow, clipHigh, clipRegion) = (output.Loss.item<float>(), output.Kl, output.ClipRatioLow, output.ClipRatioHigh, output.ClipRatioRegion);
        }
        var valid = batch.Rewards.Total.Where(r => !double.IsNaN(r)).ToList();
        var mean = valid.Count == 0 ? double.NaN : valid.Average();
        var std = valid.Count < 2 ? 0 : Math.Sqrt(valid.Sum(r => (r - mean) * (r - mean)) / (valid.Count - 1));
        return new GrpoStepReport<TState, TSample>(batch, mean, std, loss, kl, clipLow, clipHigh, clipRegion, gradNorm);
    }

    /// <summary>
    /// What <see cref="StepAsync"/> would learn from, without learning: the samples it would draw for <paramref name="states"/>
    /// from <paramref name="seed"/> under the current weights, their rewards and advantages. The policy and the optimiser are
    /// untouched; a step with the same states and seed draws the same samples. What the rollout owns is disposed before
    /// this returns (an editor chain's images): such samples are for their rewards, not to be read.
    /// </summary>
    /// <exception cref="RewardFunctionException">A reward function returned a NaN or infinite reward; the message names it.</exception>
    public async Task<GrpoBatch<TState, TSample>> ScoreAsync(IReadOnlyList<TState> states, long seed, CancellationToken cancellationToken = default)
    {
        var (rollout, batch) = await DrawAndScoreAsync(states, seed, cancellationToken).ConfigureAwait(false);
        rollout.Dispose();
        return batch;
    }

    List<TState> PerSample(IReadOnlyList<TState> states) => [.. states.SelectMany(s => Enumerable.Repeat(s, Options.NumGenerations))];

    // Group sampling, the weighted rewards and the group-relative advantages: everything of a step before the loss.
    async Task<(GrpoRollout<TSample> Rollout, GrpoBatch<TState, TSample> Batch)> DrawAndScoreAsync(IReadOnlyList<TState> states, long seed, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(states);
        if (states.Count == 0) throw new ArgumentException("give at least one state", nameof(states));
        var g = Options.NumGenerations;
        var perSample = PerSample(states);
        var rollout = SampleInScope(states, g, seed);
        try
        {
            if (rollout.Samples.Count != perSample.Count)
                throw new InvalidOperationException($"the policy drew {rollout.Samples.Count} samples for {states.Count} states x {g} generations");
            var scores = new List<IReadOnlyList<double?>>();
            foreach (var function in rewardFunctions)
                scores.Add(await function.Score(perSample, rollout.Samples, cancellationToken).ConfigureAwait(false));
            var rewards = RewardTable.Combine([.. rewardFunctions.Select(f => f.Name)], scores, weights, perSample.Count);
            var advantages = GroupAdvantages.Compute(rewards.Total, g, Options.ScaleRewards, Options.StdEpsilon);
            return (rollout, new GrpoBatch<TState, TSample>(states, rollout.Samples, rewards, advantages));
        }
        catch
        {
            rollout.Dispose();
            throw;
        }
    }

    // The policy's intermediate tensors die with the scope; only the rollout's two leave it (the caller disposes them).
    GrpoRollout<TSample> SampleInScope(IReadOnlyList<TState> states, int numGenerations, long seed)
    {
        using var scope = NewDisposeScope();
        var rollout = policy.Sample(states, numGenerations, Options, seed);
        rollout.LogProbs.MoveToOuterDisposeScope();
        rollout.Mask.MoveToOuterDisposeScope();
        return rollout;
    }

    double GlobalNorm()
    {
        using var scope = NewDisposeScope();
        var grads = parameters.Where(p => p.grad is not null).Select(p => p.grad!.pow(2).sum()).ToArray();
        return grads.Length == 0 ? 0 : stack(grads).sum().sqrt().item<float>();
    }

    public void Dispose() => Optimizer.Dispose();
}
