using RlRig.Diffusion;

namespace RlRig.Torch;

/// <summary>
/// The options every small-model trainer shares (length, AdamW-style optimizer, schedule, checkpoints, logging,
/// threads), as TRL's configs share TrainingArguments. Each trainer's sealed record sets its own defaults and adds its own.
/// </summary>
public abstract record TrainerOptions
{
    // ---- Length and batch ----
    /// <summary>Optimizer steps of the whole run (a resumed run continues to this count).</summary>
    public int TotalSteps { get; init; } = 1000;
    /// <summary>Examples per step.</summary>
    public int BatchSize { get; init; } = 16;

    // ---- Optimizer ----
    /// <summary>Peak learning rate, in (0, 1).</summary>
    public double LearningRate { get; init; } = 1e-3;
    /// <summary>Linear warm-up from 0 over this many steps. Defaults to 100.</summary>
    public int WarmupSteps { get; init; } = 100;
    /// <summary>Final learning rate of the cosine decay as a fraction of the peak, in [0, 1].</summary>
    public double MinLearningRateRatio { get; init; } = 0.1;
    /// <summary>Gradients are rescaled to at most this global L2 norm; 0 disables clipping. Defaults to 1.0.</summary>
    public double GradClipNorm { get; init; } = 1.0;

    // ---- Reproducibility, output ----
    /// <summary>Seed of weight initialisation and of the data generator. Defaults to 0.</summary>
    public long Seed { get; init; }
    /// <summary>Write checkpoints every this many steps (and always at the end and on cancellation); 0 = only then. Defaults to 500.</summary>
    public int CheckpointEvery { get; init; } = 500;
    /// <summary>Write the loss, the trainer's accuracy and the learning rate to TensorBoard every this many steps; 0 disables TensorBoard. Defaults to 10.</summary>
    public int LogEvery { get; init; } = 10;
    /// <summary>Run folder: checkpoint, training state, TensorBoard events.</summary>
    public string OutputDir { get; init; } = "runs";
    /// <summary>Continue from the training state in <see cref="OutputDir"/> (weights, optimizer moments, generator, step). Defaults to false.</summary>
    public bool Resume { get; init; }
    /// <summary>
    /// torch intra-op threads; 0 leaves torch's default. Defaults to 1: bit-reproducible, and for these small networks on
    /// this project's shared 2-core machine one thread trained the Checker at 11.5 steps/s at batch 8 where torch's
    /// default managed about 0.4 steps/s at batch 32 (its threads spin while other processes hold the cores).
    /// </summary>
    public int NumThreads { get; init; } = 1;

    /// <summary>Checks the shared options, naming the record in messages.</summary>
    /// <exception cref="ArgumentException">An option is out of range; the message says which and how to fix it.</exception>
    protected void ValidateShared(string defaultLearningRate)
    {
        var type = GetType().Name;
        void Require(bool ok, string name, string how) { if (!ok) throw new ArgumentException($"{type}.{name}: {how}", name); }
        Require(TotalSteps >= 1, nameof(TotalSteps), $"{TotalSteps} must be at least 1");
        Require(BatchSize >= 1, nameof(BatchSize), $"{BatchSize} must be at least 1");
        Require(double.IsFinite(LearningRate) && LearningRate > 0 && LearningRate < 1, nameof(LearningRate), $"{LearningRate} must be in (0, 1) ({defaultLearningRate} is the default)");
        Require(WarmupSteps >= 0, nameof(WarmupSteps), $"{WarmupSteps} must be >= 0");
        Require(MinLearningRateRatio is >= 0 and <= 1, nameof(MinLearningRateRatio), $"{MinLearningRateRatio} must be in [0, 1]");
        Require(GradClipNorm >= 0 && double.IsFinite(GradClipNorm), nameof(GradClipNorm), $"{GradClipNorm} must be >= 0 (0 disables clipping)");
        Require(CheckpointEvery >= 0, nameof(CheckpointEvery), $"{CheckpointEvery} must be >= 0 (0 = only at the end)");
        Require(LogEvery >= 0, nameof(LogEvery), $"{LogEvery} must be >= 0 (0 disables TensorBoard)");
        Require(!string.IsNullOrWhiteSpace(OutputDir), nameof(OutputDir), "give a folder for checkpoints and logs");
        Require(NumThreads >= 0, nameof(NumThreads), $"{NumThreads} must be >= 0 (0 = torch's default)");
    }

    /// <summary>The learning rate at 0-based <paramref name="step"/>: linear warm-up, then cosine decay (<see cref="LrSchedule"/>).</summary>
    public double LearningRateAt(long step) => LrSchedule.At(step, TotalSteps, LearningRate, WarmupSteps, LrDecay.Cosine, MinLearningRateRatio);
}
