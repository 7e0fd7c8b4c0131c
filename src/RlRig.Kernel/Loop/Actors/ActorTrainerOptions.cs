using System.Text.Json;
using RlRig.Diffusion;
using RlRig.Torch;

namespace RlRig.Loop.Actors;

/// <summary>
/// Everything that configures an <see cref="ActorTrainer"/> run (the architecture is <see cref="ActorConfig"/>, the
/// data's errors <see cref="ActorErrorMix"/>). The defaults are the first part of the committed checkpoint's recipe:
/// 1600 steps of 32 states, AdamW at a peak of 1e-3 (nanoGPT's rate for a model this small) decaying to 10 %, into
/// "runs/actor"; the rest as <see cref="TrainerOptions"/> says. The committed checkpoint was then resumed to 3200 steps
/// (data/shapes-world/README.md).
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

    /// <summary>Checks every option; returns this for chaining.</summary>
    /// <exception cref="ArgumentException">An option is out of range; the message says which and how to fix it.</exception>
    public ActorTrainerOptions Validate()
    {
        ValidateShared("1e-3");
        if (!(WeightDecay >= 0 && double.IsFinite(WeightDecay))) throw new ArgumentException($"ActorTrainerOptions.WeightDecay: {WeightDecay} must be >= 0", nameof(WeightDecay));
        return this;
    }

    public string ToJson() => JsonSerializer.Serialize(this, DiffuserConfig.Json);

    public static ActorTrainerOptions FromJson(string json) =>
        JsonSerializer.Deserialize<ActorTrainerOptions>(json, DiffuserConfig.Json) ?? throw new JsonException("the options JSON is null");
}
