using System.Text.Json;
using System.Text.Json.Nodes;
using RlRig.Loop.Editors;

namespace RlRig.Rl;

/// <summary>Which editor's chain editor-GRPO trains.</summary>
public enum EditorChain
{
    /// <summary>The learned instruction-following editor's DDIM chain (<see cref="EditorPolicy"/>): its checkpoint is trained.</summary>
    Instruct,
    /// <summary>
    /// The training-free editor's region chain (<see cref="InpaintPolicy"/>): a copy of the Diffuser's weights, used only by
    /// the editor's passes, is trained; the Diffuser that draws the first image stays the committed one.
    /// </summary>
    Inpaint,
}

/// <summary>
/// Editor-GRPO's options: the algorithm's (<see cref="Grpo"/>, TRL's names), the run's (<see cref="Run"/>), how the
/// chain is sampled while training, and where the (image, instruction) pairs come from.
/// </summary>
public sealed record EditorGrpoOptions
{
    /// <summary>
    /// The algorithm, as the committed GRPO editor was trained. Defaults: G = 4 edits per (image, instruction), 16 per
    /// batch, learning rate 1e-4 (at 1e-5 the KL after two steps was 1.5e-8: the editor did not move; at 1e-4 over 200
    /// steps it moved the wrong way: on held-out edits it kept untouched objects 0-7 % of the time, against 10-60 % for
    /// the supervised editor, data/shapes-world/loop/results.md; no rate that helps is known yet), beta 0.01 (KL to the
    /// supervised editor, per step as Flow-GRPO), DDPO's tiny clip range would stall so few steps: epsilon 0.2,
    /// max_completion_length = the chain's steps.
    /// </summary>
    public GrpoOptions Grpo { get; init; } = new()
    {
        NumGenerations = 4,
        GenerationBatchSize = 16,
        LearningRate = 1e-4,
        Beta = 0.01,
        MaxCompletionLength = 10,
        LossType = GrpoLossType.Grpo,
    };
    /// <summary>The run: 200 steps, checkpoints every 25, into runs/editor-grpo by default.</summary>
    public GrpoRunOptions Run { get; init; } = new() { OutputDir = Path.Combine("runs", "editor-grpo"), TotalSteps = 200 };
    /// <summary>
    /// The chain while training: 10 steps (Flow-GRPO trains on a short chain and samples with the full one), eta 1,
    /// the supervised editor's guidance. Defaults to <see cref="LearnedEditorOptions"/> with 10 steps.
    /// </summary>
    public LearnedEditorOptions Sampling { get; init; } = new() { Steps = 10 };
    /// <summary>The chain trained: the learned editor's (<see cref="Sampling"/>) or the training-free editor's (<see cref="Inpainting"/>). Defaults to <see cref="EditorChain.Instruct"/>.</summary>
    public EditorChain Chain { get; init; } = EditorChain.Instruct;
    /// <summary>
    /// With <see cref="EditorChain.Inpaint"/>, the training-free editor whose last pass is the action: its strengths
    /// (0.4 to draw, 0.2 to clear: 8 and 4 steps of the 20-step grid, eta 1, guidance 3), the loop's defaults, so the
    /// chain trained is the chain the loop runs.
    /// </summary>
    public TrainingFreeEditorOptions Inpainting { get; init; } = new();
    /// <summary>Fraction of the chain's stochastic steps trained on each batch (DanceGRPO's timestep subset). Defaults to 0.6.</summary>
    public double TrainedStepFraction { get; init; } = 0.6;
    /// <summary>Whether a group's edits share their initial noise (DanceGRPO). Defaults to true.</summary>
    public bool ShareInitialNoise { get; init; } = true;
    /// <summary>
    /// Score every pair once before training (G edits by the starting weights) and keep only those whose edits earn
    /// different rewards: DAPO's dynamic sampling, done once up front, so a step's groups carry an advantage. Defaults to false.
    /// </summary>
    public bool FilterPool { get; init; }
    /// <summary>Training prompts whose loop rollouts give the (image, instruction) pairs (never evaluation prompts). Defaults to 150 (about 375 pairs).</summary>
    public int TrainingPrompts { get; init; } = 150;
    /// <summary>Edit rounds of each rollout; every instruction of every round is a pair. Defaults to 2.</summary>
    public int RolloutRounds { get; init; } = 2;

    /// <exception cref="ArgumentException">A field is out of range; the message says which and how to fix it.</exception>
    public EditorGrpoOptions Validate()
    {
        void Require(bool ok, string field, string how) { if (!ok) throw new ArgumentException($"EditorGrpoOptions.{field}: {how}", field); }
        (Grpo ?? throw new ArgumentException("EditorGrpoOptions.Grpo: give the algorithm's options", nameof(Grpo))).Validate();
        (Run ?? throw new ArgumentException("EditorGrpoOptions.Run: give the run's options", nameof(Run))).Validate();
        (Sampling ?? throw new ArgumentException("EditorGrpoOptions.Sampling: give the chain's options", nameof(Sampling))).Validate();
        (Inpainting ?? throw new ArgumentException("EditorGrpoOptions.Inpainting: give the training-free editor's options", nameof(Inpainting))).Validate();
        Require(Enum.IsDefined(Chain), nameof(Chain), $"{Chain} is not a chain: Instruct or Inpaint");
        var eta = Chain == EditorChain.Inpaint ? Inpainting.Sampler.Eta : Sampling.Eta;
        Require(eta > 0, Chain == EditorChain.Inpaint ? nameof(Inpainting) : nameof(Sampling), $"eta = {eta}: the chain is a policy only with eta > 0 (eta 0 is deterministic), e.g. 1");
        var steps = ChainSteps;
        Require(Grpo.MaxCompletionLength >= steps, nameof(Grpo),
            $"MaxCompletionLength = {Grpo.MaxCompletionLength} is shorter than the chain's {steps} steps; a step is a token here, set it to {steps}");
        Require(Grpo.RewardWeights is null || Grpo.RewardWeights.Count == 1, nameof(Grpo), "RewardWeights: there is one reward (edit_fidelity): give 1 weight or none");
        Require(TrainedStepFraction > 0 && TrainedStepFraction <= 1, nameof(TrainedStepFraction), $"{TrainedStepFraction} must be in (0, 1], e.g. 0.6");
        Require(TrainingPrompts >= Grpo.StatesPerBatch, nameof(TrainingPrompts), $"{TrainingPrompts} prompts cannot fill a batch of {Grpo.StatesPerBatch} pairs; use at least that many");
        Require(RolloutRounds >= 0, nameof(RolloutRounds), $"{RolloutRounds} must be >= 0");
        return this;
    }

    /// <summary>The steps of the longest chain an edit runs: a step is a token of the loss.</summary>
    public int ChainSteps => Chain == EditorChain.Inpaint ? InpaintPolicy.MaxStepsOf(Inpainting) : Sampling.Steps;

    /// <summary>
    /// What defines the run's results: the algorithm (TRL's names), the chain, and where the pairs come from. The
    /// learned editor's chain is written as before the inpainting chain existed, so its runs still resume.
    /// </summary>
    public JsonNode Identity()
    {
        var identity = new JsonObject { ["grpo"] = JsonNode.Parse(Grpo.ToJson()) };
        if (Chain == EditorChain.Inpaint)
        {
            identity["chain"] = "inpaint";
            identity["inpainting"] = JsonSerializer.SerializeToNode(Inpainting);
        }
        else identity["sampling"] = JsonSerializer.SerializeToNode(Sampling);
        identity["trained_step_fraction"] = TrainedStepFraction;
        identity["share_initial_noise"] = ShareInitialNoise;
        identity["training_prompts"] = TrainingPrompts;
        identity["rollout_rounds"] = RolloutRounds;
        if (FilterPool) identity["filter_pool"] = true;
        return identity;
    }

    /// <summary>Rebuilds the options of a run from its <see cref="Identity"/> and run options.</summary>
    public static EditorGrpoOptions From(JsonNode identity, GrpoRunOptions run) => new()
    {
        Grpo = GrpoOptions.FromJson(identity["grpo"]!.ToJsonString()),
        Chain = identity["chain"]?.GetValue<string>() == "inpaint" ? EditorChain.Inpaint : EditorChain.Instruct,
        Sampling = identity["sampling"]?.Deserialize<LearnedEditorOptions>() ?? new EditorGrpoOptions().Sampling,
        Inpainting = identity["inpainting"]?.Deserialize<TrainingFreeEditorOptions>() ?? new TrainingFreeEditorOptions(),
        TrainedStepFraction = identity["trained_step_fraction"]!.GetValue<double>(),
        ShareInitialNoise = identity["share_initial_noise"]!.GetValue<bool>(),
        TrainingPrompts = identity["training_prompts"]!.GetValue<int>(),
        RolloutRounds = identity["rollout_rounds"]!.GetValue<int>(),
        FilterPool = identity["filter_pool"]?.GetValue<bool>() ?? false,
        Run = run,
    };
}
