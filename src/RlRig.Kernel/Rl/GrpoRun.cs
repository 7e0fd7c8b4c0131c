using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using RlRig.IO;
using RlRig.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace RlRig.Rl;

/// <summary>A GRPO run's training state cannot be read or does not fit; the message names the file and what is wrong.</summary>
public sealed class GrpoCheckpointException(string message, Exception? inner = null) : CheckpointException(message, inner);

/// <summary>What every GRPO run has besides the algorithm: its length, seed, checkpoints, logs and folder.</summary>
public sealed record GrpoRunOptions
{
    /// <summary>Optimisation steps (one batch of states each). Defaults to 300.</summary>
    public int TotalSteps { get; init; } = 300;
    /// <summary>All randomness of the run: the order of states, the samples, the edits. Defaults to 0.</summary>
    public long Seed { get; init; }
    /// <summary>Steps between checkpoints (0 = only at the end and when stopped). Defaults to 25.</summary>
    public int CheckpointEvery { get; init; } = 25;
    /// <summary>Write the step's metrics to TensorBoard every this many steps; 0 disables it. Defaults to 1.</summary>
    public int LogEvery { get; init; } = 1;
    /// <summary>The run folder: the inference checkpoint (+ manifest), training-state.bin, tensorboard/. Required.</summary>
    public string OutputDir { get; init; } = "";
    /// <summary>Continue the run in <see cref="OutputDir"/> where it stopped. Defaults to false.</summary>
    public bool Resume { get; init; }
    /// <summary>Torch CPU threads; 0 keeps libtorch's default. Defaults to 1 (see environment.md).</summary>
    public int NumThreads { get; init; } = 1;

    /// <exception cref="ArgumentException">A field is out of range; the message says which and how to fix it.</exception>
    public GrpoRunOptions Validate()
    {
        void Require(bool ok, string field, string how) { if (!ok) throw new ArgumentException($"GrpoRunOptions.{field}: {how}", field); }
        Require(TotalSteps >= 1, nameof(TotalSteps), $"{TotalSteps} must be at least 1");
        Require(Seed >= 0, nameof(Seed), $"{Seed} must be >= 0");
        Require(CheckpointEvery >= 0, nameof(CheckpointEvery), $"{CheckpointEvery} must be >= 0 (0: only at the end)");
        Require(LogEvery >= 0, nameof(LogEvery), $"{LogEvery} must be >= 0 (0 disables TensorBoard)");
        Require(!string.IsNullOrWhiteSpace(OutputDir), nameof(OutputDir), "give a folder for the run");
        Require(NumThreads >= 0, nameof(NumThreads), $"{NumThreads} must be >= 0 (0 = libtorch's default)");
        return this;
    }

    /// <summary>The fields that must agree for a resume (not the length, the folder, the threads, or resume itself).</summary>
    internal GrpoRunOptions Identity => this with { TotalSteps = 0, OutputDir = "", Resume = false, NumThreads = 0 };
}

/// <summary>A GRPO trainer over a pool of states (Actor-GRPO, editor-GRPO), as a command or a notebook cell drives it.</summary>
public interface IGrpoPoolTrainer : IDisposable
{
    /// <summary>The states it learns on.</summary>
    int PoolSize { get; }
    /// <summary>Optimisation steps done.</summary>
    int Step { get; }
    /// <summary>Trains to the run's last step, a report after every step; on cancellation it writes a checkpoint and ends normally.</summary>
    IAsyncEnumerable<GrpoProgress> TrainAsync(CancellationToken ct = default);
}

/// <summary>
/// A GRPO run over a pool of states, whatever the policy: the batches (the pool in an order shuffled once per pass, from
/// the seed), the steps' seeds, TensorBoard scalars, and atomic checkpoints that resume exactly (the policy's weights,
/// AdamW's moments, the step, the options). The Actor-GRPO and editor-GRPO trainers are this with their policy, rewards
/// and inference checkpoint.
/// </summary>
public sealed class GrpoRun<TState, TSample> : IDisposable
{
    const string TrainingMagic = "RLRIGGR1";
    readonly GrpoTrainer<TState, TSample> grpo;
    readonly nn.Module weights;
    readonly IReadOnlyList<TState> pool;
    readonly JsonNode options;
    readonly Func<string, int, string> saveInference;
    TorchSharp.Modules.SummaryWriter? tensorboard;

    /// <param name="weights">The module whose weights GRPO trains (saved in the training state).</param>
    /// <param name="options">Everything that defines the run, as JSON (the algorithm's and the trainer's options); a resume must match it but for <paramref name="run"/>'s length, folder and threads.</param>
    /// <param name="saveInference">Writes the inference checkpoint into the run folder (folder, step) and returns its path.</param>
    public GrpoRun(GrpoTrainer<TState, TSample> grpo, nn.Module weights, IReadOnlyList<TState> pool, GrpoRunOptions run, JsonNode options, Func<string, int, string> saveInference)
    {
        this.grpo = grpo ?? throw new ArgumentNullException(nameof(grpo));
        this.weights = weights ?? throw new ArgumentNullException(nameof(weights));
        Run = (run ?? throw new ArgumentNullException(nameof(run))).Validate();
        this.pool = pool ?? throw new ArgumentNullException(nameof(pool));
        if (pool.Count < grpo.Options.StatesPerBatch)
            throw new ArgumentException($"only {pool.Count} usable states for batches of {grpo.Options.StatesPerBatch}; collect more or use a smaller generation batch size", nameof(pool));
        this.options = options ?? throw new ArgumentNullException(nameof(options));
        this.saveInference = saveInference ?? throw new ArgumentNullException(nameof(saveInference));
        if (run.NumThreads > 0) set_num_threads(run.NumThreads);
        if (run.Resume) LoadTrainingState();
    }

    public GrpoRunOptions Run { get; }
    public int PoolSize => pool.Count;
    /// <summary>Optimisation steps done.</summary>
    public int Step { get; private set; }

    public static string TrainingStatePath(string outputDir) => TrainingState.PathIn(outputDir);

    /// <summary>The seed of sample <paramref name="sample"/> of the step being taken (a reward function's edit, say).</summary>
    public int SampleSeed(int sample) => unchecked((int)(Run.Seed * 31 + Step) * 4099 + sample);

    /// <summary>Trains to <see cref="GrpoRunOptions.TotalSteps"/>, a report after every step; on cancellation it writes a checkpoint and ends normally.</summary>
#pragma warning disable CS1998 // Deliberately synchronous: the components run on the caller's thread, as the other trainers.
    public async IAsyncEnumerable<GrpoProgress> TrainAsync([EnumeratorCancellation] CancellationToken ct = default)
#pragma warning restore CS1998
    {
        // An interrupt stops a step in its edits at once (an editor-GRPO step takes seconds); the step has changed nothing
        // yet, so the loop saves the last whole step and a resume redoes this one exactly.
        foreach (var report in TrainingLoop.Run(() => Step, Run.TotalSteps, Run.CheckpointEvery, () => TrainStep(ct), SaveCheckpoint,
            (r, rate, eta, saved) => r with { StepsPerSecond = rate, Eta = eta, CheckpointPath = saved }, ct))
            yield return report;
    }

    /// <summary>One GRPO step on the next batch of states, TensorBoard included, then the C heap's free pages handed back; the speed fields are 0.</summary>
    public GrpoProgress TrainStep(CancellationToken ct = default)
    {
        var report = grpo.StepAsync(BatchAt(Step), unchecked(Run.Seed * 1_000_003 + Step), ct).GetAwaiter().GetResult();
        // Prompts, instructions and edits differ in size from step to step: without it RSS rose 44 MiB over 1,000
        // Actor-GRPO steps with live tensors constant (NativeHeap says why); with it, 6 MiB, for 2 % more CPU.
        NativeHeap.Trim();
        Step++;
        var metrics = report.Metrics();
        Log(metrics);
        return new GrpoProgress(Step, Run.TotalSteps, metrics, 0, TimeSpan.Zero, null);
    }

    List<TState> BatchAt(int step)
    {
        var per = grpo.Options.StatesPerBatch;
        var batch = new List<TState>(per);
        int[]? order = null;
        var orderPass = -1;
        for (var k = 0; k < per; k++)
        {
            var index = (long)step * per + k;
            var pass = (int)(index / pool.Count);
            if (pass != orderPass)
            {
                order = [.. Enumerable.Range(0, pool.Count)];
                new Random(unchecked((int)Run.Seed * 7919 + pass)).Shuffle(order);
                orderPass = pass;
            }
            batch.Add(pool[order![(int)(index % pool.Count)]]);
        }
        return batch;
    }

    void Log(IReadOnlyDictionary<string, double> metrics)
    {
        if (Run.LogEvery == 0 || Step % Run.LogEvery != 0) return;
        tensorboard ??= utils.tensorboard.SummaryWriter(Path.Combine(Run.OutputDir, "tensorboard"));
        foreach (var (name, value) in metrics)
            if (double.IsFinite(value)) tensorboard.add_scalar("train/" + name, (float)value, Step);
    }

    JsonNode Identity => new JsonObject { ["options"] = options.DeepClone(), ["run"] = JsonSerializer.SerializeToNode(Run.Identity) };

    /// <summary>Writes the training state and the inference checkpoint, each atomically; returns the inference checkpoint's path.</summary>
    /// <remarks>
    /// The training state is a <see cref="TrainingState"/> whose configuration is the run's identity (what a resume must
    /// match) and whose options are <see cref="Run"/>; it has no data generator: a step's randomness comes from its index.
    /// </remarks>
    public string SaveCheckpoint()
    {
        TrainingState.Write(Run.OutputDir, TrainingMagic, "rlrig-grpo-training-state", Step, Identity, JsonSerializer.SerializeToNode(Run)!, weights, grpo.Optimizer, data: null);
        return saveInference(Run.OutputDir, Step);
    }

    static GrpoCheckpointException Error(string message, Exception? inner) => new(message, inner);

    /// <summary>The run options and step of the run in <paramref name="outputDir"/>, and its identity (the options a resume must match).</summary>
    /// <exception cref="GrpoCheckpointException">There is no training state, or its header is damaged.</exception>
    public static (GrpoRunOptions Run, int Step, JsonNode Options) ReadRun(string outputDir)
    {
        var (header, run, step) = TrainingState.ReadRun(outputDir, TrainingMagic, "a GRPO training state", Error,
            json => JsonSerializer.Deserialize<GrpoRunOptions>(json) ?? throw new JsonException("the run options are null"));
        return header["config"]?["options"] is { } options ? (run, step, options.DeepClone())
            : throw Error($"checkpoint {TrainingStatePath(outputDir)} has no run identity (\"config\".\"options\")", null);
    }

    void LoadTrainingState() =>
        Step = TrainingState.Load(Run.OutputDir, TrainingMagic, "a GRPO training state", Error, (path, header) =>
        {
            if (!JsonNode.DeepEquals(header["config"], Identity))
                throw Error($"checkpoint {path} was written with other options ({header["config"]?.ToJsonString()}); resume with the same ones", null);
        }, weights, grpo.Optimizer, data: null, Run.TotalSteps);

    public void Dispose()
    {
        tensorboard = null;
        grpo.Dispose();
    }
}
