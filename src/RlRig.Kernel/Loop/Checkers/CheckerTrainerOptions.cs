using System.Text.Json;
using RlRig.Diffusion;
using RlRig.Torch;

namespace RlRig.Loop.Checkers;

/// <summary>
/// Everything that configures a <see cref="CheckerTrainer"/> run (the architecture is <see cref="CheckerConfig"/>, the
/// data's damage <see cref="CheckerAugmentation"/>). The defaults are the committed checkpoint's recipe: 4000 steps
/// (about 12 minutes on 2 shared cores) of 16 images, Adam at a peak of 3e-3 (a small per-pixel classifier trains fast
/// at it) decaying to 5 %, into "runs/checker"; the rest as <see cref="TrainerOptions"/> says.
/// </summary>
public sealed record CheckerTrainerOptions : TrainerOptions
{
    public CheckerTrainerOptions()
    {
        TotalSteps = 4000;
        BatchSize = 16;
        LearningRate = 3e-3;
        MinLearningRateRatio = 0.05;
        OutputDir = Path.Combine("runs", "checker");
    }

    /// <summary>Checks every option; returns this for chaining.</summary>
    /// <exception cref="ArgumentException">An option is out of range; the message says which and how to fix it.</exception>
    public CheckerTrainerOptions Validate()
    {
        ValidateShared("3e-3");
        return this;
    }

    public string ToJson() => JsonSerializer.Serialize(this, DiffuserConfig.Json);

    public static CheckerTrainerOptions FromJson(string json) =>
        JsonSerializer.Deserialize<CheckerTrainerOptions>(json, DiffuserConfig.Json) ?? throw new JsonException("the options JSON is null");
}
