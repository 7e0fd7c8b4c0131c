using System.Text.Json;
using System.Text.Json.Serialization;

namespace RlRig.Rl;

/// <summary>How group-relative advantages are scaled (TRL's <c>scale_rewards</c>).</summary>
public enum RewardScaling
{
    /// <summary>By the standard deviation of the sample's group (TRL's default, "group").</summary>
    Group,
    /// <summary>By the standard deviation of the whole batch ("batch", as PPO Lite recommends).</summary>
    Batch,
    /// <summary>Not at all ("none", as Dr. GRPO recommends: scaling by the std favours easy and hopeless states).</summary>
    None,
}

/// <summary>How per-token losses become one number (TRL's <c>loss_type</c>).</summary>
public enum GrpoLossType
{
    /// <summary>"grpo": mean over each sequence's tokens, then over sequences (biased towards short positive and long negative completions).</summary>
    Grpo,
    /// <summary>"dr_grpo": sum over all tokens divided by batch size times <see cref="GrpoOptions.MaxCompletionLength"/>, a constant.</summary>
    DrGrpo,
    /// <summary>"dapo" (TRL's default): sum over all tokens divided by the number of active tokens.</summary>
    Dapo,
}

/// <summary>
/// The algorithm's options, named and defaulted as TRL's <c>GRPOConfig</c> names and defaults them (TRL's snake_case
/// name in each summary), so a recipe reads the same in both. Only what is independent of the model is here; the
/// trainers built on it (Actor-GRPO, editor-GRPO) add their steps, seeds and folders.
/// </summary>
public sealed record GrpoOptions
{
    /// <summary>num_generations: samples per state, G. At least 2 (a group of one has no relative advantage). Defaults to 8.</summary>
    public int NumGenerations { get; init; } = 8;
    /// <summary>generation_batch_size: samples per optimisation batch, whole groups only (a multiple of <see cref="NumGenerations"/>). Defaults to 64 (TRL derives it from the device batch).</summary>
    public int GenerationBatchSize { get; init; } = 64;
    /// <summary>beta: weight of the k3 KL estimate to the frozen reference; 0 needs no reference. Defaults to 0.0.</summary>
    public double Beta { get; init; }
    /// <summary>epsilon: the lower clip range of the ratio, 1 - epsilon. Defaults to 0.2.</summary>
    public double Epsilon { get; init; } = 0.2;
    /// <summary>epsilon_high: the upper clip range, 1 + epsilon_high; null means <see cref="Epsilon"/> (DAPO recommends 0.28). Defaults to null.</summary>
    public double? EpsilonHigh { get; init; }
    /// <summary>learning_rate: AdamW's learning rate. Defaults to 1e-6 (TRL's, for billion-parameter models; small models want far more).</summary>
    public double LearningRate { get; init; } = 1e-6;
    /// <summary>temperature: sampling temperature; log-probabilities are those of the tempered distribution. Defaults to 1.0.</summary>
    public double Temperature { get; init; } = 1.0;
    /// <summary>top_k: sample among the k most likely tokens; 0 disables. Defaults to 0.</summary>
    public int TopK { get; init; }
    /// <summary>top_p: sample among the most likely tokens whose probabilities sum to p, in (0, 1]; 1 disables. Defaults to 1.0.</summary>
    public double TopP { get; init; } = 1.0;
    /// <summary>scale_rewards: <see cref="RewardScaling"/>. Defaults to <see cref="RewardScaling.Group"/>.</summary>
    public RewardScaling ScaleRewards { get; init; } = RewardScaling.Group;
    /// <summary>The epsilon added to the standard deviation before dividing by it (TRL fixes it at 1e-4). Defaults to 1e-4.</summary>
    public double StdEpsilon { get; init; } = 1e-4;
    /// <summary>loss_type: <see cref="GrpoLossType"/>. Defaults to <see cref="GrpoLossType.Dapo"/>.</summary>
    public GrpoLossType LossType { get; init; } = GrpoLossType.Dapo;
    /// <summary>num_iterations: optimisation passes over each batch (mu), the sampling log-probs kept as the old policy. Defaults to 1.</summary>
    public int NumIterations { get; init; } = 1;
    /// <summary>max_completion_length: the longest completion, in tokens (for a diffusion chain, steps); dr_grpo's constant. Defaults to 256.</summary>
    public int MaxCompletionLength { get; init; } = 256;
    /// <summary>reward_weights: one weight per reward function, in order; null weighs each 1.0. Defaults to null.</summary>
    public IReadOnlyList<double>? RewardWeights { get; init; }
    /// <summary>max_grad_norm: gradient clipping by global norm; 0 disables. Defaults to 1.0.</summary>
    public double MaxGradNorm { get; init; } = 1.0;

    /// <summary>The upper clip range in use: <see cref="EpsilonHigh"/>, or <see cref="Epsilon"/> when it is not set.</summary>
    [JsonIgnore] public double UpperEpsilon => EpsilonHigh ?? Epsilon;

    /// <summary>States per batch: <see cref="GenerationBatchSize"/> / <see cref="NumGenerations"/>.</summary>
    [JsonIgnore] public int StatesPerBatch => GenerationBatchSize / NumGenerations;

    /// <summary>Checks every field and the fields against each other; returns this for chaining.</summary>
    /// <exception cref="ArgumentException">A field is out of range; the message names it (by TRL's name too) and says how to fix it.</exception>
    public GrpoOptions Validate()
    {
        void Require(bool ok, string field, string how) { if (!ok) throw new ArgumentException($"GrpoOptions.{field}: {how}", field); }
        Require(NumGenerations >= 2, nameof(NumGenerations),
            $"GRPO requires at least 2 generations per state to compute the advantages (num_generations = {NumGenerations}); use 2 or more, e.g. 8");
        Require(GenerationBatchSize >= 1, nameof(GenerationBatchSize), $"{GenerationBatchSize} must be at least 1");
        Require(GenerationBatchSize % NumGenerations == 0, nameof(GenerationBatchSize),
            $"generation_batch_size ({GenerationBatchSize}) must be divisible by num_generations ({NumGenerations}), so that every group is whole; use {Math.Max(1, GenerationBatchSize / NumGenerations) * NumGenerations}");
        Require(double.IsFinite(Beta) && Beta >= 0, nameof(Beta), $"beta = {Beta} must be a finite number >= 0 (0 disables the KL term)");
        Require(double.IsFinite(Epsilon) && Epsilon > 0 && Epsilon < 1, nameof(Epsilon), $"epsilon = {Epsilon} must be in (0, 1), e.g. 0.2");
        Require(EpsilonHigh is null || (double.IsFinite(EpsilonHigh.Value) && EpsilonHigh > 0), nameof(EpsilonHigh),
            $"epsilon_high = {EpsilonHigh} must be a positive number (DAPO uses 0.28) or null for epsilon");
        Require(double.IsFinite(LearningRate) && LearningRate > 0 && LearningRate < 1, nameof(LearningRate), $"learning_rate = {LearningRate} must be in (0, 1), e.g. 1e-4 for a small model");
        Require(double.IsFinite(Temperature) && Temperature > 0, nameof(Temperature), $"temperature = {Temperature} must be a positive number (1.0 samples the model's own distribution)");
        Require(TopK >= 0, nameof(TopK), $"top_k = {TopK} must be >= 0 (0 disables top-k)");
        Require(double.IsFinite(TopP) && TopP > 0 && TopP <= 1, nameof(TopP), $"top_p = {TopP} must be in (0, 1] (1 disables top-p)");
        Require(double.IsFinite(StdEpsilon) && StdEpsilon > 0, nameof(StdEpsilon), $"{StdEpsilon} must be a positive number, e.g. 1e-4");
        Require(Enum.IsDefined(ScaleRewards), nameof(ScaleRewards), $"{ScaleRewards} is not one of group, batch, none");
        Require(Enum.IsDefined(LossType), nameof(LossType), $"{LossType} is not one of grpo, dr_grpo, dapo");
        Require(NumIterations >= 1, nameof(NumIterations), $"num_iterations = {NumIterations} must be at least 1");
        Require(MaxCompletionLength >= 1, nameof(MaxCompletionLength), $"max_completion_length = {MaxCompletionLength} must be at least 1");
        Require(RewardWeights is null || RewardWeights.All(double.IsFinite), nameof(RewardWeights), "every reward weight must be a finite number");
        Require(double.IsFinite(MaxGradNorm) && MaxGradNorm >= 0, nameof(MaxGradNorm), $"max_grad_norm = {MaxGradNorm} must be >= 0 (0 disables clipping)");
        return this;
    }

    /// <summary>The weight of each of <paramref name="functionCount"/> reward functions.</summary>
    /// <exception cref="ArgumentException">The weights are given but not one per function.</exception>
    public IReadOnlyList<double> WeightsFor(int functionCount)
    {
        if (RewardWeights is null) return [.. Enumerable.Repeat(1.0, functionCount)];
        if (RewardWeights.Count != functionCount)
            throw new ArgumentException($"GrpoOptions.RewardWeights: {RewardWeights.Count} weights for {functionCount} reward functions; give one weight per function, in order, or none (all 1.0)", nameof(RewardWeights));
        return RewardWeights;
    }

    static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };

    /// <summary>The options as JSON with TRL's names ("num_generations", "loss_type": "dr_grpo").</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Json);

    public static GrpoOptions FromJson(string json) =>
        JsonSerializer.Deserialize<GrpoOptions>(json, Json) ?? throw new JsonException("the GRPO options JSON is null");
}
