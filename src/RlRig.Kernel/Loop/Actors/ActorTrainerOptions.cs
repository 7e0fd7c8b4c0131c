using System.Text.Json;
using RlRig.Diffusion;

namespace RlRig.Loop.Actors;

/// <summary>
/// Everything that configures an <see cref="ActorTrainer"/> run (the architecture is <see cref="ActorConfig"/>, the
/// data's errors <see cref="ActorErrorMix"/>). The defaults are the committed checkpoint's recipe.
/// </summary>
public sealed record ActorTrainerOptions
{
    // ---- Length and batch ----
    /// <summary>Optimizer steps of the whole run (a resumed run continues to this count). Defaults to 2500 (about 25 minutes on the shared 2-core machine, at 1 to 2 steps/s).</summary>
    public int TotalSteps { get; init; } = 2500;
    /// <summary>States per step, each with one of its correct instructions. Defaults to 32.</summary>
    public int BatchSize { get; init; } = 32;

    // ---- Optimizer (AdamW) ----
    /// <summary>Peak learning rate, in (0, 1). Defaults to 1e-3 (nanoGPT's rate for a model this small).</summary>
    public double LearningRate { get; init; } = 1e-3;
    /// <summary>Linear warm-up from 0 over this many steps. Defaults to 100.</summary>
    public int WarmupSteps { get; init; } = 100;
    /// <summary>Final learning rate of the cosine decay as a fraction of the peak, in [0, 1]. Defaults to 0.1.</summary>
    public double MinLearningRateRatio { get; init; } = 0.1;
    /// <summary>AdamW's decoupled weight decay, >= 0. Defaults to 0.01.</summary>
    public double WeightDecay { get; init; } = 0.01;
    /// <summary>Gradients are rescaled to at most this global L2 norm; 0 disables clipping. Defaults to 1.0.</summary>
    public double GradClipNorm { get; init; } = 1.0;

    // ---- Reproducibility, output ----
    /// <summary>Seed of weight initialisation and of the data generator. Defaults to 0.</summary>
    public long Seed { get; init; }
    /// <summary>Write checkpoints every this many steps (and always at the end and on cancellation); 0 = only then. Defaults to 500.</summary>
    public int CheckpointEvery { get; init; } = 500;
    /// <summary>Write loss, token accuracy and learning rate to TensorBoard every this many steps; 0 disables TensorBoard. Defaults to 10.</summary>
    public int LogEvery { get; init; } = 10;
    /// <summary>Run folder: checkpoint, training state, TensorBoard events. Defaults to "runs/actor".</summary>
    public string OutputDir { get; init; } = Path.Combine("runs", "actor");
    /// <summary>Continue from the training state in <see cref="OutputDir"/> (weights, AdamW moments, generator, step). Defaults to false.</summary>
    public bool Resume { get; init; }
    /// <summary>torch intra-op threads; 0 leaves torch's default. Defaults to 1 (bit-reproducible, and fastest on the shared 2-core machine, as for the Checker).</summary>
    public int NumThreads { get; init; } = 1;

    /// <summary>Checks every option; returns this for chaining.</summary>
    /// <exception cref="ArgumentException">An option is out of range; the message says which and how to fix it.</exception>
    public ActorTrainerOptions Validate()
    {
        void Require(bool ok, string name, string how) { if (!ok) throw new ArgumentException($"ActorTrainerOptions.{name}: {how}", name); }
        Require(TotalSteps >= 1, nameof(TotalSteps), $"{TotalSteps} must be at least 1");
        Require(BatchSize >= 1, nameof(BatchSize), $"{BatchSize} must be at least 1 (32 is the default)");
        Require(double.IsFinite(LearningRate) && LearningRate > 0 && LearningRate < 1, nameof(LearningRate), $"{LearningRate} must be in (0, 1) (1e-3 is the default)");
        Require(WarmupSteps >= 0, nameof(WarmupSteps), $"{WarmupSteps} must be >= 0");
        Require(MinLearningRateRatio is >= 0 and <= 1, nameof(MinLearningRateRatio), $"{MinLearningRateRatio} must be in [0, 1]");
        Require(WeightDecay >= 0 && double.IsFinite(WeightDecay), nameof(WeightDecay), $"{WeightDecay} must be >= 0");
        Require(GradClipNorm >= 0 && double.IsFinite(GradClipNorm), nameof(GradClipNorm), $"{GradClipNorm} must be >= 0 (0 disables clipping)");
        Require(CheckpointEvery >= 0, nameof(CheckpointEvery), $"{CheckpointEvery} must be >= 0 (0 = only at the end)");
        Require(LogEvery >= 0, nameof(LogEvery), $"{LogEvery} must be >= 0 (0 disables TensorBoard)");
        Require(!string.IsNullOrWhiteSpace(OutputDir), nameof(OutputDir), "give a folder for checkpoints and logs");
        Require(NumThreads >= 0, nameof(NumThreads), $"{NumThreads} must be >= 0 (0 = torch's default)");
        return this;
    }

    /// <summary>The learning rate at 0-based <paramref name="step"/>: linear warm-up, then cosine decay (<see cref="LrSchedule"/>).</summary>
    public double LearningRateAt(long step) => LrSchedule.At(step, TotalSteps, LearningRate, WarmupSteps, LrDecay.Cosine, MinLearningRateRatio);

    public string ToJson() => JsonSerializer.Serialize(this, DiffuserConfig.Json);

    public static ActorTrainerOptions FromJson(string json) =>
        JsonSerializer.Deserialize<ActorTrainerOptions>(json, DiffuserConfig.Json) ?? throw new JsonException("the options JSON is null");
}
