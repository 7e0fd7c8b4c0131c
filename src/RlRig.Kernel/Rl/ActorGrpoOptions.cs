using System.Text.Json;
using System.Text.Json.Nodes;

namespace RlRig.Rl;

/// <summary>
/// Actor-GRPO's options: the algorithm's (<see cref="Grpo"/>, TRL's names), the run's (<see cref="Run"/>), and where
/// its states come from. Defaults are the committed recipe's where one exists.
/// </summary>
public sealed record ActorGrpoOptions
{
    /// <summary>
    /// The algorithm, as the committed GRPO Actor was trained. Defaults: G = 8 instructions per state, 64 per batch
    /// (8 states), learning rate 1e-4 (the supervised Actor's was 1e-3; at 1e-5 a 0.9 M-parameter Actor hardly moved in
    /// 50 steps), 4 passes per batch (a batch's edits are the cost, its passes nearly free; over the first 50 steps the
    /// share of invalid instructions fell from 48 to 41 % with one pass and from 57 to 37 % with four, in noisy 8-state
    /// batches), beta 0.04 (the supervised Actor as
    /// reference keeps the policy writing the language), temperature 1, at most 24 tokens, reward weights
    /// (checker_gain 1, validity 0.25).
    /// </summary>
    public GrpoOptions Grpo { get; init; } = new()
    {
        NumGenerations = 8,
        GenerationBatchSize = 64,
        LearningRate = 1e-4,
        NumIterations = 4,
        Beta = 0.04,
        MaxCompletionLength = 24,
        RewardWeights = [1.0, 0.25],
    };
    /// <summary>The run: 100 steps, checkpoints every 25, into runs/actor-grpo by default.</summary>
    public GrpoRunOptions Run { get; init; } = new() { OutputDir = Path.Combine("runs", "actor-grpo"), TotalSteps = 100 };
    /// <summary>Training prompts whose loop rollouts make the pool of states (never evaluation prompts). Defaults to 300 (about 600 states).</summary>
    public int TrainingPrompts { get; init; } = 300;
    /// <summary>Edit rounds of each rollout; every unsatisfied round is a state. Defaults to 2.</summary>
    public int RolloutRounds { get; init; } = 2;

    /// <exception cref="ArgumentException">A field is out of range; the message says which and how to fix it.</exception>
    public ActorGrpoOptions Validate()
    {
        void Require(bool ok, string field, string how) { if (!ok) throw new ArgumentException($"ActorGrpoOptions.{field}: {how}", field); }
        (Grpo ?? throw new ArgumentException("ActorGrpoOptions.Grpo: give the algorithm's options", nameof(Grpo))).Validate();
        (Run ?? throw new ArgumentException("ActorGrpoOptions.Run: give the run's options", nameof(Run))).Validate();
        Require(Grpo.RewardWeights is null || Grpo.RewardWeights.Count == 2, nameof(Grpo),
            "RewardWeights: give 2 weights, for checker_gain and validity in that order, or none (both 1.0)");
        Require(TrainingPrompts >= Grpo.StatesPerBatch, nameof(TrainingPrompts), $"{TrainingPrompts} prompts cannot fill a batch of {Grpo.StatesPerBatch} states; use at least that many");
        Require(RolloutRounds >= 0, nameof(RolloutRounds), $"{RolloutRounds} must be >= 0 (0: only the Diffuser's first images)");
        return this;
    }

    /// <summary>What defines the run's results: the algorithm (TRL's names) and where the states come from.</summary>
    public JsonNode Identity() => new JsonObject
    {
        ["grpo"] = JsonNode.Parse(Grpo.ToJson()),
        ["training_prompts"] = TrainingPrompts,
        ["rollout_rounds"] = RolloutRounds,
    };

    /// <summary>Rebuilds the options of a run from its <see cref="Identity"/> and run options.</summary>
    public static ActorGrpoOptions From(JsonNode identity, GrpoRunOptions run) => new()
    {
        Grpo = GrpoOptions.FromJson(identity["grpo"]!.ToJsonString()),
        TrainingPrompts = identity["training_prompts"]!.GetValue<int>(),
        RolloutRounds = identity["rollout_rounds"]!.GetValue<int>(),
        Run = run,
    };
}
