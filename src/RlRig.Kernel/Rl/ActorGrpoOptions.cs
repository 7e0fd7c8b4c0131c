using System.Text.Json;
using System.Text.Json.Nodes;

namespace RlRig.Rl;

/// <summary>
/// Actor-GRPO's options: the algorithm's (<see cref="Grpo"/>, TRL's names) and the run's. Defaults are the committed
/// recipe's where one exists.
/// </summary>
public sealed record ActorGrpoOptions
{
    /// <summary>
    /// The algorithm. Defaults: G = 8 instructions per state, 64 per batch (8 states), learning rate 1e-5 (the supervised
    /// Actor's was 1e-3; an RL step moves it far less), beta 0.04 (the supervised Actor as reference keeps the policy
    /// writing the language), temperature 1, at most 24 tokens, reward weights (checker_gain 1, validity 0.25).
    /// </summary>
    public GrpoOptions Grpo { get; init; } = new()
    {
        NumGenerations = 8,
        GenerationBatchSize = 64,
        LearningRate = 1e-5,
        Beta = 0.04,
        MaxCompletionLength = 24,
        RewardWeights = [1.0, 0.25],
    };
    /// <summary>Optimisation steps (one batch each). Defaults to 300.</summary>
    public int TotalSteps { get; init; } = 300;
    /// <summary>Training prompts whose loop rollouts make the pool of states (never evaluation prompts). Defaults to 600.</summary>
    public int TrainingPrompts { get; init; } = 600;
    /// <summary>Edit rounds of each rollout; every unsatisfied round is a state. Defaults to 2.</summary>
    public int RolloutRounds { get; init; } = 2;
    /// <summary>All randomness: the prompts, the rollouts, the order of states, the samples and the edits. Defaults to 0.</summary>
    public long Seed { get; init; }
    /// <summary>Steps between checkpoints (0 = only at the end). Defaults to 25.</summary>
    public int CheckpointEvery { get; init; } = 25;
    /// <summary>Write the step's metrics to TensorBoard every this many steps; 0 disables it. Defaults to 1.</summary>
    public int LogEvery { get; init; } = 1;
    /// <summary>Run folder: actor.ckpt (+ manifest), training-state.bin, tensorboard/. Defaults to "runs/actor-grpo".</summary>
    public string OutputDir { get; init; } = Path.Combine("runs", "actor-grpo");
    /// <summary>Continue the run in <see cref="OutputDir"/> where it stopped. Defaults to false.</summary>
    public bool Resume { get; init; }
    /// <summary>Torch CPU threads; 0 keeps libtorch's default. Defaults to 1 (see environment.md).</summary>
    public int NumThreads { get; init; } = 1;

    /// <exception cref="ArgumentException">A field is out of range; the message says which and how to fix it.</exception>
    public ActorGrpoOptions Validate()
    {
        void Require(bool ok, string field, string how) { if (!ok) throw new ArgumentException($"ActorGrpoOptions.{field}: {how}", field); }
        (Grpo ?? throw new ArgumentException("ActorGrpoOptions.Grpo: give the algorithm's options", nameof(Grpo))).Validate();
        Require(Grpo.RewardWeights is null || Grpo.RewardWeights.Count == 2, nameof(Grpo),
            "RewardWeights: give 2 weights, for checker_gain and validity in that order, or none (both 1.0)");
        Require(TotalSteps >= 1, nameof(TotalSteps), $"{TotalSteps} must be at least 1");
        Require(TrainingPrompts >= Grpo.StatesPerBatch, nameof(TrainingPrompts), $"{TrainingPrompts} prompts cannot fill a batch of {Grpo.StatesPerBatch} states; use at least that many");
        Require(RolloutRounds >= 0, nameof(RolloutRounds), $"{RolloutRounds} must be >= 0 (0: only the Diffuser's first images)");
        Require(Seed >= 0, nameof(Seed), $"{Seed} must be >= 0");
        Require(CheckpointEvery >= 0, nameof(CheckpointEvery), $"{CheckpointEvery} must be >= 0 (0: only at the end)");
        Require(LogEvery >= 0, nameof(LogEvery), $"{LogEvery} must be >= 0 (0 disables TensorBoard)");
        Require(!string.IsNullOrWhiteSpace(OutputDir), nameof(OutputDir), "give a folder for the run");
        Require(NumThreads >= 0, nameof(NumThreads), $"{NumThreads} must be >= 0 (0 = libtorch's default)");
        return this;
    }

    static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    /// <summary>{"grpo": the algorithm's options under TRL's names, "run": the rest}.</summary>
    public string ToJson()
    {
        var run = JsonSerializer.SerializeToNode(this, Json)!.AsObject();
        run.Remove(nameof(Grpo));
        return new JsonObject { ["grpo"] = JsonNode.Parse(Grpo.ToJson()), ["run"] = run }.ToJsonString(Json);
    }

    public static ActorGrpoOptions FromJson(string json)
    {
        using var doc = JsonDocument.Parse(json);
        var run = JsonSerializer.Deserialize<ActorGrpoOptions>(doc.RootElement.GetProperty("run").GetRawText(), Json) ?? throw new JsonException("the run options are null");
        return run with { Grpo = GrpoOptions.FromJson(doc.RootElement.GetProperty("grpo").GetRawText()) };
    }
}
