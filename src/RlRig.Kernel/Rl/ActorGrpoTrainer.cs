using System.Runtime.CompilerServices;
using RlRig.Loop;
using RlRig.Loop.Actors;

namespace RlRig.Rl;

/// <summary>A GRPO step's report: the metrics under TRL's names, the speed, and the checkpoint written after it.</summary>
public sealed record GrpoProgress(int Step, int TotalSteps, IReadOnlyDictionary<string, double> Metrics, double StepsPerSecond, TimeSpan Eta, string? CheckpointPath)
{
    public double Reward => Metrics["reward"];
    public double RewardStd => Metrics["reward_std"];
    public double Kl => Metrics["kl"];
    public double ClipRatio => Metrics["clip_ratio/region_mean"];
    public double FracRewardZeroStd => Metrics["frac_reward_zero_std"];
}

/// <summary>
/// Actor-GRPO: Reflection-GRPO on the learned Actor. For each state of the pool (real loop rollouts on training
/// prompts, <see cref="RolloutStates"/>), G instructions are sampled, each is carried out by the editor, and the
/// Checker's gain (plus a validity term) is the reward (<see cref="ActorEditRewards{TSample}"/>); the supervised Actor is
/// the frozen reference of the KL term. The judge is never asked.
/// </summary>
/// <remarks>
/// The run folder holds <c>actor.ckpt</c> (+ manifest: an ordinary Actor checkpoint, loaded by <see cref="LearnedActor.Load"/>),
/// <c>training-state.bin</c> and <c>tensorboard/</c> (<see cref="GrpoRun{TState, TSample}"/>). Build it and enumerate
/// <see cref="TrainAsync"/> on one thread.
/// </remarks>
public sealed class ActorGrpoTrainer : IGrpoPoolTrainer
{
    readonly GrpoRun<ActorState, ActorSample> run;
    readonly GrpoTrainer<ActorState, ActorSample> grpo;

    /// <param name="actor">The policy, starting from the supervised Actor; trained in place.</param>
    /// <param name="referenceActor">A frozen copy of the supervised Actor (the KL's reference).</param>
    /// <param name="pool">The states to learn on (<see cref="RolloutStates.CollectAsync"/>); the caller owns their images.</param>
    /// <exception cref="ArgumentException">Invalid options, or too few usable states.</exception>
    /// <exception cref="GrpoCheckpointException">Resume was asked for and the training state is missing, damaged, or of another run.</exception>
    public ActorGrpoTrainer(LearnedActor actor, LearnedActor referenceActor, IChecker checker, IInverseDiffuser editor, IReadOnlyList<ActorState> pool, ActorGrpoOptions options)
    {
        Options = (options ?? throw new ArgumentNullException(nameof(options))).Validate();
        ArgumentNullException.ThrowIfNull(checker);
        ArgumentNullException.ThrowIfNull(editor);
        Actor = actor ?? throw new ArgumentNullException(nameof(actor));
        foreach (var p in referenceActor.Model.parameters()) p.requires_grad = false;
        // A state the Actor cannot read whole (longer than its context with room for an instruction) is left out, not truncated.
        List<ActorState> usable = [.. pool.Where(s => ActorTokens.StateIds(s.Reflection, actor.World).Length + options.Grpo.MaxCompletionLength <= actor.Model.Config.ContextLength)];
        GrpoRun<ActorState, ActorSample>? built = null;
        var rewards = new ActorEditRewards<ActorSample>(checker, editor, s => s.Proposal, i => built!.SampleSeed(i));
        grpo = new GrpoTrainer<ActorState, ActorSample>(new ActorPolicy(actor), [rewards.CheckerGain, rewards.Validity], options.Grpo, new ActorPolicy(referenceActor));
        try
        {
            built = new GrpoRun<ActorState, ActorSample>(grpo, actor.Model, usable, options.Run, options.Identity(),
                (folder, step) => Save(CheckpointPath(folder), step));
        }
        catch { grpo.Dispose(); throw; }
        run = built;
    }

    public ActorGrpoOptions Options { get; }
    public LearnedActor Actor { get; }
    public int PoolSize => run.PoolSize;
    public int Step => run.Step;

    public static string CheckpointPath(string outputDir) => Path.Combine(outputDir, "actor.ckpt");

    string Save(string path, int step)
    {
        LearnedActor.Save(path, Actor.Model, step, System.Text.Json.Nodes.JsonNode.Parse(Options.Identity().ToJsonString()));
        return path;
    }

    /// <summary>Trains to the run's last step, a report after every step; on cancellation it writes a checkpoint and ends normally.</summary>
    public IAsyncEnumerable<GrpoProgress> TrainAsync(CancellationToken ct = default) => run.TrainAsync(ct);

    /// <summary>
    /// The group a step would draw for <paramref name="states"/> from <paramref name="seed"/> under the current policy:
    /// G instructions per state, each carried out by the editor (with the edit seeds of the run's next step), its rewards
    /// and advantage, without learning from them (to show what GRPO sees in a state of the pool, say).
    /// </summary>
    public Task<GrpoBatch<ActorState, ActorSample>> ScoreAsync(IReadOnlyList<ActorState> states, long seed, CancellationToken ct = default) =>
        grpo.ScoreAsync(states, seed, ct);

    /// <summary>The options of the run in <paramref name="outputDir"/>, for a resume.</summary>
    public static ActorGrpoOptions ReadRun(string outputDir)
    {
        var (runOptions, _, identity) = GrpoRun<ActorState, ActorSample>.ReadRun(outputDir);
        try { return ActorGrpoOptions.From(identity, runOptions); }
        catch (Exception e) when (e is System.Text.Json.JsonException or NullReferenceException or InvalidOperationException)
        {
            throw new GrpoCheckpointException($"{GrpoRun<ActorState, ActorSample>.TrainingStatePath(outputDir)} is not an Actor-GRPO run: {e.Message}", e);
        }
    }

    public void Dispose() => run.Dispose();
}
