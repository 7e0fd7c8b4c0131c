using System.Text.Json;
using RlRig.Diffusion;
using RlRig.Torch;

namespace RlRig.Loop.Actors;

/// <summary>
/// Everything that configures an <see cref="ActorTrainer"/> run (the architecture is <see cref="ActorConfig"/>, the
/// synthetic data's errors <see cref="ActorErrorMix"/>). The defaults are the synthetic recipe of the first learned
/// Actor: 1600 steps of 32 states, AdamW at a peak of 1e-3 (nanoGPT's rate for a model this small) decaying to 10 %,
/// from scratch, synthetic states only, into "runs/actor"; the rest as <see cref="TrainerOptions"/> says. The committed
/// checkpoint's recipe (a fine-tune on real rollout states) is in data/shapes-world/README.md.
/// </summary>
public sealed record ActorTrainerOptions : TrainerOptions
{
    public ActorTrainerOptions()
    {
        TotalSteps = 1600;
        BatchSize = 32;
        LearningRate = 1e-3;
        MinLearningRateRatio = 0.1;
        OutputDir = Path.Combine("runs", "actor");
    }

    /// <summary>AdamW's decoupled weight decay, >= 0. Defaults to 0.01.</summary>
    public double WeightDecay { get; init; } = 0.01;

    /// <summary>
    /// An Actor checkpoint whose weights the run starts from (its architecture must be the run's), or null for a fresh
    /// initialisation. A resumed run takes its weights from the training state instead. Defaults to null.
    /// </summary>
    public string? InitFrom { get; init; }

    /// <summary>
    /// Training prompts (never evaluation prompts) whose Generate-Reflect-Edit rollouts give real states: the Checker's
    /// readings of the Diffuser's images and of edited ones, labelled exactly by <see cref="ActorTrainingData.CorrectInstructions"/>.
    /// The prompts and the rollouts' seeds derive from <see cref="TrainerOptions.Seed"/>, so the states are the same every
    /// time (a resumed run collects them again and gets the same pool). 0 = synthetic states only. Defaults to 0.
    /// </summary>
    public int RealPrompts { get; init; }

    /// <summary>Edit rounds of each rollout (the loop's K); every round the Checker finds unsatisfied is a state. Defaults to 4, the loop's K in data/shapes-world/loop/results.md.</summary>
    public int RealRounds { get; init; } = 4;

    /// <summary>
    /// The share of each batch drawn from the real states (rounded to whole states), the rest synthetic, in [0, 1];
    /// must be 0 without <see cref="RealPrompts"/> and above 0 with them. Defaults to 0.
    /// </summary>
    public double RealFraction { get; init; }

    /// <summary>
    /// Teach a move to a position only where no other correct instruction fixes the state (<see cref="ActorTrainingData.Targets"/>).
    /// Defaults to false, the recipe of the Actors before it.
    /// </summary>
    public bool PreferRelativeMoves { get; init; }

    /// <summary>Checks every option; returns this for chaining.</summary>
    /// <exception cref="ArgumentException">An option is out of range; the message says which and how to fix it.</exception>
    public ActorTrainerOptions Validate()
    {
        ValidateShared("1e-3");
        void Require(bool ok, string name, string how) { if (!ok) throw new ArgumentException($"ActorTrainerOptions.{name}: {how}", name); }
        Require(WeightDecay >= 0 && double.IsFinite(WeightDecay), nameof(WeightDecay), $"{WeightDecay} must be >= 0");
        Require(InitFrom is null || !string.IsNullOrWhiteSpace(InitFrom), nameof(InitFrom), "give an Actor checkpoint, or null to start from scratch");
        Require(RealPrompts >= 0, nameof(RealPrompts), $"{RealPrompts} must be >= 0 (0 = synthetic states only)");
        Require(RealRounds >= 0, nameof(RealRounds), $"{RealRounds} must be >= 0 (0 = the Diffuser's first images only)");
        Require(RealFraction is >= 0 and <= 1, nameof(RealFraction), $"{RealFraction} must be in [0, 1]");
        Require(RealPrompts == 0 || RealFraction > 0, nameof(RealFraction), $"is 0 with RealPrompts {RealPrompts}: the real states would be collected and never used; give a fraction above 0 or RealPrompts 0");
        Require(RealPrompts > 0 || RealFraction == 0, nameof(RealFraction), $"is {RealFraction} without real states; give RealPrompts above 0 (e.g. 200) or RealFraction 0");
        return this;
    }

    public string ToJson() => JsonSerializer.Serialize(this, DiffuserConfig.Json);

    public static ActorTrainerOptions FromJson(string json) =>
        JsonSerializer.Deserialize<ActorTrainerOptions>(json, DiffuserConfig.Json) ?? throw new JsonException("the options JSON is null");
}
