using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json.Nodes;
using RlRig.Diffusion;
using RlRig.IO;
using RlRig.Torch;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace RlRig.Loop.Checkers;

/// <summary>
/// Trains a <see cref="CheckerNet"/> to label every pixel of a render (cross-entropy against <see cref="CheckerLabels.Mask"/>,
/// the world's ground truth; never the judge's output), with Adam, warm-up and cosine decay, gradient clipping,
/// TensorBoard scalars and atomic checkpoints that resume bit-exactly.
/// </summary>
/// <remarks>
/// The run folder holds <c>checker.ckpt</c> (+ manifest: the small inference checkpoint), <c>training-state.bin</c>
/// (weights, Adam moments, the data generator's state, step, options, config) and <c>tensorboard/</c>. All randomness
/// comes from one torch generator (data) and the seeded initialisation; no unseeded System.Random is used. As with the
/// Diffuser's trainer, build it and enumerate <see cref="TrainAsync"/> on one thread (see DiffuserTrainer.TrainAsync).
/// </remarks>
public sealed class CheckerTrainer : IDisposable
{
    internal const string TrainingMagic = "RLRIGCT2";
    readonly Adam optimizer;
    readonly Generator dataGenerator;
    readonly Parameter[] parameters;
    SummaryWriter? tensorboard;

    /// <exception cref="ArgumentException">Invalid options or configuration.</exception>
    /// <exception cref="CheckerCheckpointException">Resume was asked for and the training state is missing, damaged, or of another configuration.</exception>
    public CheckerTrainer(CheckerConfig config, CheckerTrainerOptions options)
    {
        Config = (config ?? throw new ArgumentNullException(nameof(config))).Validate();
        Options = (options ?? throw new ArgumentNullException(nameof(options))).Validate();
        if (options.NumThreads > 0) set_num_threads(options.NumThreads);
        random.manual_seed(options.Seed);
        Model = new CheckerNet(config);
        parameters = Model.parameters().ToArray();
        optimizer = optim.Adam(parameters, options.LearningRate);
        dataGenerator = new Generator((ulong)options.Seed * 2 + 1, CPU);
        if (options.Resume) LoadTrainingState();
    }

    public CheckerConfig Config { get; }
    public CheckerTrainerOptions Options { get; }
    public CheckerNet Model { get; }
    /// <summary>Optimizer steps done.</summary>
    public int Step { get; private set; }

    /// <summary>The inference checkpoint path of a run folder.</summary>
    public static string CheckpointPath(string outputDir) => Path.Combine(outputDir, "checker.ckpt");
    /// <summary>The full training state path of a run folder.</summary>
    public static string TrainingStatePath(string outputDir) => TrainingState.PathIn(outputDir);

    /// <summary>
    /// Trains to <see cref="TrainerOptions.TotalSteps"/>, yielding a report after every step (its
    /// <see cref="TrainProgress.GroundingLoss"/> slot carries the batch's pixel accuracy). On cancellation it writes a
    /// checkpoint and the sequence ends normally.
    /// </summary>
#pragma warning disable CS1998 // Deliberately synchronous, as DiffuserTrainer.TrainAsync.
    public async IAsyncEnumerable<TrainProgress> TrainAsync(CheckerTrainingData data, [EnumeratorCancellation] CancellationToken ct = default)
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

    /// <summary>One optimisation step on a fresh batch, without logging or checkpoints. Returns the report with speed fields 0.</summary>
    public TrainProgress TrainStep(CheckerTrainingData data)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (data.World.CanvasSize != Config.ImageSize)
            throw new ArgumentException($"the data's canvas is {data.World.CanvasSize} px, the model reads {Config.ImageSize} px", nameof(data));
        var lr = Options.LearningRateAt(Step);
        using var scope = NewDisposeScope();
        Model.train();
        var (images, labels) = data.NextBatch(Options.BatchSize, dataGenerator);       // (B, 3, S, S), (B, S, S)
        var logits = Model.call(images);                                               // (B, classes, S, S)
        var loss = nn.functional.cross_entropy(logits, labels);
        optimizer.zero_grad();
        loss.backward();
        var gradNorm = Options.GradClipNorm > 0 ? nn.utils.clip_grad_norm_(parameters, Options.GradClipNorm) : double.NaN;
        foreach (var group in optimizer.ParamGroups) group.LearningRate = lr;
        optimizer.step();
        Step++;
        double accuracy;
        using (no_grad()) accuracy = logits.argmax(1).eq(labels).to(float32).mean().ToSingle();
        return new TrainProgress(Step, Options.TotalSteps, loss.ToSingle(), lr, gradNorm, 0, TimeSpan.Zero, null, accuracy);
    }

    void Log(TrainProgress report)
    {
        if (Options.LogEvery == 0 || Step % Options.LogEvery != 0) return;
        tensorboard ??= utils.tensorboard.SummaryWriter(Path.Combine(Options.OutputDir, "tensorboard"));
        tensorboard.add_scalar("train/loss", (float)report.Loss, Step);
        tensorboard.add_scalar("train/pixel_accuracy", (float)report.GroundingLoss, Step);
        tensorboard.add_scalar("train/lr", (float)report.LearningRate, Step);
        if (!double.IsNaN(report.GradNorm)) tensorboard.add_scalar("train/grad_norm", (float)report.GradNorm, Step);
    }

    /// <summary>Writes the inference checkpoint (+ manifest) and the full training state, each atomically.</summary>
    /// <returns>The inference checkpoint's path.</returns>
    public string SaveCheckpoint()
    {
        TrainingState.Write(Options.OutputDir, TrainingMagic, "rlrig-checker-training-state", Step, JsonNode.Parse(Config.ToJson())!, JsonNode.Parse(Options.ToJson())!,
            Model, optimizer, dataGenerator);
        var path = CheckpointPath(Options.OutputDir);
        ShapesChecker.Save(path, Model, Step, Options);
        return path;
    }

    /// <summary>What a run folder's training state says: the architecture, the options it was started with, its step.</summary>
    /// <exception cref="CheckerCheckpointException">There is no training state, or its header is damaged or truncated.</exception>
    public static CheckerRun ReadRun(string outputDir)
    {
        var (header, options, step) = TrainingState.ReadRun(outputDir, TrainingMagic, "a Checker training state", Error, CheckerTrainerOptions.FromJson);
        return new CheckerRun(ShapesChecker.ConfigFrom(TrainingStatePath(outputDir), header), options, step);
    }

    static CheckerCheckpointException Error(string message, Exception? inner) => new(message, inner);

    void LoadTrainingState() =>
        Step = TrainingState.Load(Options.OutputDir, TrainingMagic, "a Checker training state", Error, (path, header) =>
        {
            var found = ShapesChecker.ConfigFrom(path, header);
            if (found != Config)
                throw new CheckerCheckpointException($"checkpoint {path} was written for another architecture: {found.ToJson()} (expected {Config.ToJson()})");
        }, Model, optimizer, dataGenerator, Options.TotalSteps);

    public void Dispose()
    {
        tensorboard = null;
        optimizer.Dispose();
        Model.Dispose();
        dataGenerator.Dispose();
    }
}

/// <summary>A run folder's training state as <see cref="CheckerTrainer.ReadRun"/> reads it.</summary>
public sealed record CheckerRun(CheckerConfig Config, CheckerTrainerOptions Options, int Step);
