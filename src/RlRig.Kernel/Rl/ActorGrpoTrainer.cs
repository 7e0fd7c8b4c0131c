using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json.Nodes;
using RlRig.IO;
using RlRig.Loop;
using RlRig.Loop.Actors;
using RlRig.Torch;
using TorchSharp;
using static TorchSharp.torch;

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
/// the frozen reference of the KL term. TensorBoard scalars and atomic checkpoints that resume exactly; the judge is
/// never asked.
/// </summary>
/// <remarks>
/// The run folder holds <c>actor.ckpt</c> (+ manifest: an ordinary Actor checkpoint, loaded by <see cref="LearnedActor.Load"/>),
/// <c>training-state.bin</c> (weights, AdamW moments, step, options) and <c>tensorboard/</c>. Every step's randomness
/// (which states, the samples, the edits) is a function of the seed and the step, so a resumed run repeats the
/// uninterrupted one. Build it and enumerate <see cref="TrainAsync"/> on one thread.
/// </remarks>
public sealed class ActorGrpoTrainer : IDisposable
{
    internal const string TrainingMagic = "RLRIGAG1";
    readonly ActorPolicy policy;
    readonly ActorPolicy reference;
    readonly GrpoTrainer<ActorState, ActorSample> grpo;
    readonly IReadOnlyList<ActorState> pool;
    readonly IChecker checker;
    readonly IInverseDiffuser editor;
    TorchSharp.Modules.SummaryWriter? tensorboard;

    /// <param name="actor">The policy, starting from the supervised Actor; trained in place.</param>
    /// <param name="referenceActor">A frozen copy of the supervised Actor (the KL's reference).</param>
    /// <param name="pool">The states to learn on (<see cref="RolloutStates.CollectAsync"/>); the caller owns their images.</param>
    /// <exception cref="ArgumentException">Invalid options, or no usable state.</exception>
    /// <exception cref="ActorCheckpointException">Resume was asked for and the training state is missing, damaged, or of another run.</exception>
    public ActorGrpoTrainer(LearnedActor actor, LearnedActor referenceActor, IChecker checker, IInverseDiffuser editor, IReadOnlyList<ActorState> pool, ActorGrpoOptions options)
    {
        Options = (options ?? throw new ArgumentNullException(nameof(options))).Validate();
        if (options.NumThreads > 0) set_num_threads(options.NumThreads);
        this.checker = checker ?? throw new ArgumentNullException(nameof(checker));
        this.editor = editor ?? throw new ArgumentNullException(nameof(editor));
        policy = new ActorPolicy(actor);
        reference = new ActorPolicy(referenceActor);
        foreach (var p in referenceActor.Model.parameters()) p.requires_grad = false;
        // A state the Actor cannot read whole (longer than its context with room for an instruction) is left out, not truncated.
        this.pool = [.. pool.Where(s => ActorTokens.StateIds(s.Reflection, actor.World).Length + options.Grpo.MaxCompletionLength <= actor.Model.Config.ContextLength)];
        if (this.pool.Count < options.Grpo.StatesPerBatch)
            throw new ArgumentException($"only {this.pool.Count} usable states for batches of {options.Grpo.StatesPerBatch}; collect more (TrainingPrompts) or use a smaller GenerationBatchSize", nameof(pool));
        var rewards = new ActorEditRewards<ActorSample>(checker, editor, s => s.Proposal, i => EditSeed(Step, i));
        grpo = new GrpoTrainer<ActorState, ActorSample>(policy, [rewards.CheckerGain, rewards.Validity], options.Grpo, reference);
        if (options.Resume) LoadTrainingState();
    }

    public ActorGrpoOptions Options { get; }
    public LearnedActor Actor => policy.Actor;
    public int PoolSize => pool.Count;
    /// <summary>Optimisation steps done.</summary>
    public int Step { get; private set; }

    public static string CheckpointPath(string outputDir) => Path.Combine(outputDir, "actor.ckpt");
    public static string TrainingStatePath(string outputDir) => Path.Combine(outputDir, "training-state.bin");

    /// <summary>Trains to <see cref="ActorGrpoOptions.TotalSteps"/>, a report after every step; on cancellation it writes a checkpoint and ends normally.</summary>
#pragma warning disable CS1998 // Deliberately synchronous: the components run on the caller's thread, as the other trainers.
    public async IAsyncEnumerable<GrpoProgress> TrainAsync([EnumeratorCancellation] CancellationToken ct = default)
#pragma warning restore CS1998
    {
        foreach (var report in TrainingLoop.Run(() => Step, Options.TotalSteps, Options.CheckpointEvery, () => TrainStep(ct), SaveCheckpoint,
            (r, rate, eta, saved) => r with { StepsPerSecond = rate, Eta = eta, CheckpointPath = saved }, ct))
            yield return report;
    }

    /// <summary>One GRPO step on the next batch of states, TensorBoard included; the speed fields are 0.</summary>
    public GrpoProgress TrainStep(CancellationToken ct = default)
    {
        var states = BatchAt(Step);
        var report = grpo.StepAsync(states, StepSeed(Step), ct).GetAwaiter().GetResult();
        Step++;
        var metrics = report.Metrics();
        Log(metrics);
        return new GrpoProgress(Step, Options.TotalSteps, metrics, 0, TimeSpan.Zero, null);
    }

    // The states of step `step`: the pool in an order shuffled once per pass over it, from the seed and the pass.
    List<ActorState> BatchAt(int step)
    {
        var per = Options.Grpo.StatesPerBatch;
        var batch = new List<ActorState>(per);
        for (var k = 0; k < per; k++)
        {
            var index = (long)step * per + k;
            var pass = (int)(index / pool.Count);
            var order = Enumerable.Range(0, pool.Count).ToArray();
            new Random(unchecked((int)Options.Seed * 7919 + pass)).Shuffle(order);
            batch.Add(pool[order[(int)(index % pool.Count)]]);
        }
        return batch;
    }

    long StepSeed(int step) => unchecked(Options.Seed * 1_000_003 + step);

    int EditSeed(int step, int sample) => unchecked((int)(Options.Seed * 31 + step) * 4099 + sample);

    void Log(IReadOnlyDictionary<string, double> metrics)
    {
        if (Options.LogEvery == 0 || Step % Options.LogEvery != 0) return;
        tensorboard ??= utils.tensorboard.SummaryWriter(Path.Combine(Options.OutputDir, "tensorboard"));
        foreach (var (name, value) in metrics)
            if (double.IsFinite(value)) tensorboard.add_scalar("train/" + name, (float)value, Step);
    }

    /// <summary>Writes the Actor checkpoint (+ manifest) and the training state, each atomically; returns the checkpoint's path.</summary>
    public string SaveCheckpoint()
    {
        Directory.CreateDirectory(Options.OutputDir);
        var header = new JsonObject
        {
            ["format"] = "rlrig-actor-grpo-training-state",
            ["step"] = Step,
            ["options"] = JsonNode.Parse(Options.ToJson()),
            ["config"] = JsonNode.Parse(Actor.Model.Config.ToJson()),
        };
        CheckpointFile.Write(TrainingStatePath(Options.OutputDir), TrainingMagic, header, payload =>
        {
            using var w = new BinaryWriter(payload, Encoding.UTF8, leaveOpen: true);
            Actor.Model.save(w);
            grpo.Optimizer.save_state_dict(w);
        });
        var path = CheckpointPath(Options.OutputDir);
        LearnedActor.Save(path, Actor.Model, Step, JsonNode.Parse(Options.ToJson()));
        return path;
    }

    static ActorCheckpointException Error(string message, Exception? inner) => new(message, inner);

    /// <summary>The options and step of the run in <paramref name="outputDir"/>, for a resume.</summary>
    /// <exception cref="ActorCheckpointException">There is no training state, or its header is damaged.</exception>
    public static (ActorGrpoOptions Options, int Step) ReadRun(string outputDir)
    {
        var path = TrainingStatePath(outputDir);
        if (!File.Exists(path)) throw new ActorCheckpointException($"nothing to resume: {path} does not exist (train without --resume first, or give the run's --out)");
        var header = CheckpointFile.ReadHeader(path, TrainingMagic, "an Actor-GRPO training state", Error);
        try { return (ActorGrpoOptions.FromJson(header["options"]!.ToJsonString()), header["step"]!.GetValue<int>()); }
        catch (Exception e) when (e is System.Text.Json.JsonException or NullReferenceException or InvalidOperationException or KeyNotFoundException)
        {
            throw new ActorCheckpointException($"checkpoint {path} has unreadable options or step: {e.Message}", e);
        }
    }

    void LoadTrainingState()
    {
        var path = TrainingStatePath(Options.OutputDir);
        if (!File.Exists(path)) throw new ActorCheckpointException($"nothing to resume: {path} does not exist (train without resume first, or point the run folder at it)");
        var (header, payload) = CheckpointFile.Read(path, TrainingMagic, "an Actor-GRPO training state", Error);
        var found = ActorGrpoOptions.FromJson(header["options"]!.ToJsonString());
        if (found with { TotalSteps = 0, Resume = false, OutputDir = "", Grpo = Options.Grpo } != Options with { TotalSteps = 0, Resume = false, OutputDir = "" }
            || found.Grpo.ToJson() != Options.Grpo.ToJson())
            throw new ActorCheckpointException($"checkpoint {path} was written with other options ({header["options"]!.ToJsonString()}); resume with the same ones");
        using var r = new BinaryReader(new MemoryStream(payload));
        CheckpointFile.LoadWeights(path, Actor.Model, r, "weights", Error);
        try { grpo.Optimizer.load_state_dict(r); }
        catch (Exception e) when (e is not CheckpointException) { throw new ActorCheckpointException($"checkpoint {path}: the optimizer state is unreadable: {e.Message}", e); }
        Step = header["step"]!.GetValue<int>();
        if (Step > Options.TotalSteps)
            throw new ActorCheckpointException($"checkpoint {path} is at step {Step}, beyond TotalSteps = {Options.TotalSteps}; raise TotalSteps to continue");
    }

    public void Dispose()
    {
        tensorboard = null;
        grpo.Dispose();
    }
}
