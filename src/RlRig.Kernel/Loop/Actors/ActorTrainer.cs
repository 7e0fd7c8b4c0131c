using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json.Nodes;
using RlRig.Diffusion;
using RlRig.IO;
using RlRig.Torch;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace RlRig.Loop.Actors;

/// <summary>
/// Trains an <see cref="ActorNet"/> by supervised learning on the world's exact (state, correct instruction) pairs
/// (<see cref="ActorTrainingData"/>): cross-entropy on the instruction's tokens only, AdamW with warm-up and cosine
/// decay, gradient clipping, TensorBoard scalars and atomic checkpoints that resume bit-exactly.
/// </summary>
/// <remarks>
/// The run folder holds <c>actor.ckpt</c> (+ manifest: the inference checkpoint), <c>training-state.bin</c> (weights,
/// AdamW moments, the data generator's state, step, options, config) and <c>tensorboard/</c>. All randomness comes from
/// one torch generator (data) and the seeded initialisation. As with the Checker's trainer, build it and enumerate
/// <see cref="TrainAsync"/> on one thread.
/// </remarks>
public sealed class ActorTrainer : IDisposable
{
    internal const string TrainingMagic = "RLRIGAT2";
    readonly AdamW optimizer;
    readonly Generator dataGenerator;
    readonly Parameter[] parameters;
    SummaryWriter? tensorboard;

    /// <exception cref="ArgumentException">Invalid options or configuration.</exception>
    /// <exception cref="ActorCheckpointException">Resume was asked for and the training state is missing, damaged, or of another configuration.</exception>
    public ActorTrainer(ActorConfig config, ActorTrainerOptions options)
    {
        Config = (config ?? throw new ArgumentNullException(nameof(config))).Validate();
        Options = (options ?? throw new ArgumentNullException(nameof(options))).Validate();
        if (options.NumThreads > 0) set_num_threads(options.NumThreads);
        random.manual_seed(options.Seed);
        Model = new ActorNet(config);
        if (options.InitFrom is { } init && !options.Resume) InitialiseFrom(init);
        parameters = Model.parameters().ToArray();
        optimizer = optim.AdamW(parameters, options.LearningRate, weight_decay: options.WeightDecay);
        dataGenerator = new Generator((ulong)options.Seed * 2 + 1, CPU);
        if (options.Resume) LoadTrainingState();
    }

    public ActorConfig Config { get; }
    public ActorTrainerOptions Options { get; }
    public ActorNet Model { get; }
    /// <summary>Optimizer steps done.</summary>
    public int Step { get; private set; }

    /// <summary>The inference checkpoint path of a run folder.</summary>
    public static string CheckpointPath(string outputDir) => Path.Combine(outputDir, "actor.ckpt");
    /// <summary>The full training state path of a run folder.</summary>
    public static string TrainingStatePath(string outputDir) => TrainingState.PathIn(outputDir);

    /// <summary>
    /// Trains to <see cref="TrainerOptions.TotalSteps"/>, yielding a report after every step (its
    /// <see cref="TrainProgress.GroundingLoss"/> slot carries the batch's token accuracy on the instructions). On
    /// cancellation it writes a checkpoint and the sequence ends normally.
    /// </summary>
#pragma warning disable CS1998 // Deliberately synchronous, as DiffuserTrainer.TrainAsync.
    public async IAsyncEnumerable<TrainProgress> TrainAsync(ActorTrainingData data, [EnumeratorCancellation] CancellationToken ct = default)
#pragma warning restore CS1998
    {
        ArgumentNullException.ThrowIfNull(data);
        foreach (var report in TrainingLoop.Run(() => Step, Options.TotalSteps, Options.CheckpointEvery, () =>
        {
            var r = TrainStep(data);
            Log(r);
            return r;
        }, SaveCheckpoint, ct))
            yield return report;
    }

    /// <summary>
    /// One optimisation step on a fresh batch, without logging or checkpoints, then the C heap's free pages handed back
    /// (<see cref="NativeHeap"/>). Returns the report with speed fields 0.
    /// </summary>
    public TrainProgress TrainStep(ActorTrainingData data)
    {
        ArgumentNullException.ThrowIfNull(data);
        TrainProgress report;
        using (NewDisposeScope())
        {
            var (ids, valid, targets) = data.NextBatch(Options.BatchSize, dataGenerator, Config.References);
            report = TrainStep(ids, valid, targets);
        }
        // Without it RSS climbs with the heap's fragmentation (686 to 884 MiB over 2,000 steps, live tensors constant);
        // padding every batch to one length did not stop that. It costs about a fifth of a step: the next step faults
        // its pages in again (data/shapes-world/README.md, "Speed and memory").
        NativeHeap.Trim();
        return report;
    }

    /// <summary>One optimisation step on a given batch (<see cref="ActorTrainingData.Batch"/>: tokens, mask, targets, each (B, T)).</summary>
    public TrainProgress TrainStep(Tensor ids, Tensor valid, Tensor targets)
    {
        var lr = Options.LearningRateAt(Step);
        using var scope = NewDisposeScope();
        Model.train();
        if (ids.shape[1] > Config.ContextLength)
            throw new InvalidOperationException($"a training sequence of {ids.shape[1]} tokens exceeds the context of {Config.ContextLength}; raise ActorConfig.ContextLength");
        var logits = Model.call(ids, valid);                                            // (B, T, V)
        var loss = nn.functional.cross_entropy(logits.view(-1, logits.shape[2]), targets.view(-1), ignore_index: -100);
        optimizer.zero_grad();
        loss.backward();
        var gradNorm = Options.GradClipNorm > 0 ? nn.utils.clip_grad_norm_(parameters, Options.GradClipNorm) : double.NaN;
        foreach (var group in optimizer.ParamGroups) group.LearningRate = lr;
        optimizer.step();
        Step++;
        double accuracy;
        using (no_grad())
        {
            var counted = targets.ne(-100);
            accuracy = logits.argmax(-1).eq(targets).logical_and(counted).sum().ToSingle() / Math.Max(1f, counted.sum().ToSingle());
        }
        return new TrainProgress(Step, Options.TotalSteps, loss.ToSingle(), lr, gradNorm, 0, TimeSpan.Zero, null, accuracy);
    }

    void Log(TrainProgress report)
    {
        if (Options.LogEvery == 0 || Step % Options.LogEvery != 0) return;
        tensorboard ??= utils.tensorboard.SummaryWriter(Path.Combine(Options.OutputDir, "tensorboard"));
        tensorboard.add_scalar("train/loss", (float)report.Loss, Step);
        tensorboard.add_scalar("train/token_accuracy", (float)report.GroundingLoss, Step);
        tensorboard.add_scalar("train/lr", (float)report.LearningRate, Step);
        if (!double.IsNaN(report.GradNorm)) tensorboard.add_scalar("train/grad_norm", (float)report.GradNorm, Step);
    }

    /// <summary>Writes the inference checkpoint (+ manifest) and the full training state, each atomically.</summary>
    /// <returns>The inference checkpoint's path.</returns>
    public string SaveCheckpoint()
    {
        // The vocabulary travels with the weights: token ids mean nothing without it.
        TrainingState.Write(Options.OutputDir, TrainingMagic, "rlrig-actor-training-state", Step, JsonNode.Parse(Config.ToJson())!, JsonNode.Parse(Options.ToJson())!,
            Model, optimizer, dataGenerator, new JsonObject { ["vocabulary"] = LearnedActor.VocabularyJson() });
        var path = CheckpointPath(Options.OutputDir);
        LearnedActor.Save(path, Model, Step, JsonNode.Parse(Options.ToJson()));
        return path;
    }

    /// <summary>What a run folder's training state says: the architecture, the options it was started with, its step.</summary>
    /// <exception cref="ActorCheckpointException">There is no training state, or its header is damaged or truncated.</exception>
    public static ActorRun ReadRun(string outputDir)
    {
        var (header, options, step) = TrainingState.ReadRun(outputDir, TrainingMagic, "an Actor training state", Error, ActorTrainerOptions.FromJson);
        return new ActorRun(LearnedActor.ConfigFrom(TrainingStatePath(outputDir), header), options, step);
    }

    static ActorCheckpointException Error(string message, Exception? inner) => new(message, inner);

    // A fine-tune starts from a trained Actor's weights; only the optimizer and the data are new.
    void InitialiseFrom(string path)
    {
        using var source = LearnedActor.Load(path, new World.WorldOptions());
        if (source.Model.Config != Config)
            throw new ActorCheckpointException($"checkpoint {path} has another architecture than the run: {source.Model.Config.ToJson()} (the run's {Config.ToJson()}); start from scratch or use its architecture");
        using var _ = no_grad();
        foreach (var (to, from) in Model.parameters().Zip(source.Model.parameters())) to.copy_(from);
    }

    void LoadTrainingState() =>
        Step = TrainingState.Load(Options.OutputDir, TrainingMagic, "an Actor training state", Error, (path, header) =>
        {
            var found = LearnedActor.ConfigFrom(path, header);
            if (found != Config)
                throw new ActorCheckpointException($"checkpoint {path} was written for another architecture: {found.ToJson()} (expected {Config.ToJson()})");
        }, Model, optimizer, dataGenerator, Options.TotalSteps);

    public void Dispose()
    {
        tensorboard = null;
        optimizer.Dispose();
        Model.Dispose();
        dataGenerator.Dispose();
    }
}

/// <summary>A run folder's training state as <see cref="ActorTrainer.ReadRun"/> reads it.</summary>
public sealed record ActorRun(ActorConfig Config, ActorTrainerOptions Options, int Step);
