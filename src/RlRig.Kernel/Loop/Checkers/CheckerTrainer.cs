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
    public static string TrainingStatePath(string outputDir) => Path.Combine(outputDir, "training-state.bin");

    /// <summary>
    /// Trains to <see cref="CheckerTrainerOptions.TotalSteps"/>, yielding a report after every step (its
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
        Directory.CreateDirectory(Options.OutputDir);
        var header = new JsonObject
        {
            ["format"] = "rlrig-checker-training-state",
            ["step"] = Step,
            ["config"] = JsonNode.Parse(Config.ToJson()),
            ["options"] = JsonNode.Parse(Options.ToJson()),
        };
        CheckpointFile.Write(TrainingStatePath(Options.OutputDir), TrainingMagic, header, payload =>
        {
            using var w = new BinaryWriter(payload, Encoding.UTF8, leaveOpen: true);
            Model.save(w);
            optimizer.save_state_dict(w);
            using var state = dataGenerator.get_state();
            state.Save(w);
        });
        var path = CheckpointPath(Options.OutputDir);
        ShapesChecker.Save(path, Model, Step, Options);
        return path;
    }

    /// <summary>What a run folder's training state says: the architecture, the options it was started with, its step.</summary>
    /// <exception cref="CheckerCheckpointException">There is no training state, or its header is damaged or truncated.</exception>
    public static CheckerRun ReadRun(string outputDir)
    {
        var path = RequireTrainingState(outputDir);
        var header = CheckpointFile.ReadHeader(path, TrainingMagic, "a Checker training state", Error);
        try
        {
            return new CheckerRun(ShapesChecker.ConfigFrom(path, header), CheckerTrainerOptions.FromJson(header["options"]!.ToJsonString()), header["step"]!.GetValue<int>());
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or NullReferenceException or InvalidOperationException or FormatException)
        {
            throw new CheckerCheckpointException($"checkpoint {path} has unreadable training options or step: {e.Message}", e);
        }
    }

    static CheckerCheckpointException Error(string message, Exception? inner) => new(message, inner);

    static string RequireTrainingState(string outputDir)
    {
        var path = TrainingStatePath(outputDir);
        if (!File.Exists(path))
            throw new CheckerCheckpointException($"nothing to resume: {path} does not exist (train without Resume first, or point OutputDir at the run folder)");
        return path;
    }

    void LoadTrainingState()
    {
        var path = RequireTrainingState(Options.OutputDir);
        var (header, payload) = CheckpointFile.Read(path, TrainingMagic, "a Checker training state", Error);
        var found = ShapesChecker.ConfigFrom(path, header);
        if (found != Config)
            throw new CheckerCheckpointException($"checkpoint {path} was written for another architecture: {found.ToJson()} (expected {Config.ToJson()})");
        using var r = new BinaryReader(new MemoryStream(payload));
        CheckpointFile.LoadWeights(path, Model, r, "weights", Error);
        try
        {
            optimizer.load_state_dict(r);
            using var state = TensorExtensionMethods.Load(r);
            dataGenerator.set_state(state);
        }
        catch (Exception e) when (e is not CheckpointException)
        {
            throw new CheckerCheckpointException($"checkpoint {path}: the optimizer or generator state is unreadable: {e.Message}", e);
        }
        Step = header["step"]!.GetValue<int>();
        if (Step > Options.TotalSteps)
            throw new CheckerCheckpointException($"checkpoint {path} is at step {Step}, beyond TotalSteps = {Options.TotalSteps}; raise TotalSteps to continue");
    }

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
