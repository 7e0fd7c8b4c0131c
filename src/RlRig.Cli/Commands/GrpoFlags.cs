using System.CommandLine;
using System.Text.RegularExpressions;
using RlRig.Rl;
using RlRig.World;

namespace RlRig.Cli.Commands;

/// <summary>
/// The flags every Reflection-GRPO command has (<c>train actor-grpo</c>, <c>train editor-grpo</c>): the run's, the
/// algorithm's under TRL's names, and where the states come from, with their defaults from the trainer's options. The
/// options' own checks (<c>Validate</c>) are reported by the flag that sets the field, before any model loads; a resumed
/// run keeps the options it started with, so a flag that would change them is refused instead of being ignored.
/// </summary>
sealed partial class GrpoFlags
{
    readonly Dictionary<string, Option> flagOf = [];
    readonly List<Option> all = [], identity = [];

    /// <param name="grpo">The trainer's default algorithm options.</param>
    /// <param name="samples">What a group is, for --num-generations: "instructions sampled per state".</param>
    /// <param name="reference">The KL's frozen reference, for --beta: "the supervised Actor".</param>
    public GrpoFlags(GrpoOptions grpo, GrpoRunOptions run, int trainingPrompts, int rolloutRounds, string samples, string reference)
    {
        Steps = new Option<int>("--steps") { Description = "GRPO steps (one batch of states each).", DefaultValueFactory = _ => run.TotalSteps }.InRange(1, 10_000_000);
        Seed = new Option<long>("--seed") { Description = "Seed of the prompts, rollouts, state order, samples and edits.", DefaultValueFactory = _ => run.Seed };
        Output = new Option<DirectoryInfo>("--out") { Description = "Run folder (checkpoint, training state, TensorBoard events).", DefaultValueFactory = _ => new DirectoryInfo(run.OutputDir) };
        Resume = new Option<bool>("--resume") { Description = "Continue the run in --out exactly where it stopped, with its options (--steps may raise the total)." };
        Every = new Option<int>("--checkpoint-every") { Description = "Steps between checkpoints (0 = only at the end and when stopped).", DefaultValueFactory = _ => run.CheckpointEvery }.InRange(0, 10_000_000);
        Threads = new Option<int>("--threads") { Description = "Torch CPU threads (0 = libtorch's default; 1 is fastest on a shared 2-core machine).", DefaultValueFactory = _ => run.NumThreads }.InRange(0, 1024);
        Prompts = new Option<int>("--prompts") { Description = "Training prompts whose loop rollouts make the states (never evaluation prompts).", DefaultValueFactory = _ => trainingPrompts }.InRange(1, 1_000_000);
        Rounds = new Option<int>("--rollout-rounds") { Description = "Edit rounds of each rollout; every unsatisfied round is a state.", DefaultValueFactory = _ => rolloutRounds }.InRange(0, 32);
        EvalSet = new Option<FileInfo>("--eval-set") { Description = "Evaluation prompts, never used for training.", DefaultValueFactory = _ => new FileInfo(EvaluationSet.RelativePath) };
        Generations = new Option<int>("--num-generations") { Description = $"G: {samples}.", DefaultValueFactory = _ => grpo.NumGenerations };
        Batch = new Option<int>("--generation-batch-size") { Description = "Samples per step (whole groups).", DefaultValueFactory = _ => grpo.GenerationBatchSize };
        Lr = new Option<double>("--lr") { Description = "AdamW learning rate.", DefaultValueFactory = _ => grpo.LearningRate };
        Beta = new Option<double>("--beta") { Description = $"Weight of the KL to {reference} (0 = none).", DefaultValueFactory = _ => grpo.Beta };
        Epsilon = new Option<double>("--epsilon") { Description = "Lower clip range of the ratio.", DefaultValueFactory = _ => grpo.Epsilon };
        EpsilonHigh = new Option<double?>("--epsilon-high") { Description = "Upper clip range (default: --epsilon)." };
        Scale = new Option<RewardScaling>("--scale-rewards") { Description = "Advantage scaling: Group, Batch or None.", DefaultValueFactory = _ => grpo.ScaleRewards };
        Loss = new Option<GrpoLossType>("--loss-type") { Description = "Loss aggregation: Grpo, DrGrpo or Dapo.", DefaultValueFactory = _ => grpo.LossType };
        Iterations = new Option<int>("--num-iterations") { Description = "Optimisation passes per batch.", DefaultValueFactory = _ => grpo.NumIterations };
        Sets(Steps, nameof(GrpoRunOptions.TotalSteps));
        Sets(Seed, nameof(GrpoRunOptions.Seed));
        all.AddRange([Output, Resume]);
        Sets(Every, nameof(GrpoRunOptions.CheckpointEvery));
        all.Add(Threads);
        Sets(Prompts, "TrainingPrompts");
        Sets(Rounds, "RolloutRounds");
        all.Add(EvalSet);
        Sets(Generations, nameof(GrpoOptions.NumGenerations));
        Sets(Batch, nameof(GrpoOptions.GenerationBatchSize));
        Sets(Lr, nameof(GrpoOptions.LearningRate));
        Sets(Beta, nameof(GrpoOptions.Beta));
        Sets(Epsilon, nameof(GrpoOptions.Epsilon));
        Sets(EpsilonHigh, nameof(GrpoOptions.EpsilonHigh));
        Sets(Scale, nameof(GrpoOptions.ScaleRewards));
        Sets(Loss, nameof(GrpoOptions.LossType));
        Sets(Iterations, nameof(GrpoOptions.NumIterations));
    }

    public Option<int> Steps { get; }
    public Option<long> Seed { get; }
    public Option<DirectoryInfo> Output { get; }
    public Option<bool> Resume { get; }
    public Option<int> Every { get; }
    public Option<int> Threads { get; }
    public Option<int> Prompts { get; }
    public Option<int> Rounds { get; }
    public Option<FileInfo> EvalSet { get; }
    public Option<int> Generations { get; }
    public Option<int> Batch { get; }
    public Option<double> Lr { get; }
    public Option<double> Beta { get; }
    public Option<double> Epsilon { get; }
    public Option<double?> EpsilonHigh { get; }
    public Option<RewardScaling> Scale { get; }
    public Option<GrpoLossType> Loss { get; }
    public Option<int> Iterations { get; }

    /// <summary>Every flag, the command's own (<see cref="Sets"/>) included, for the command's option list.</summary>
    public IReadOnlyList<Option> All => all;

    /// <summary>
    /// Says that <paramref name="option"/> sets the fields <paramref name="fields"/> of the run's options: their checks
    /// are reported by it, and a resume refuses it (except --steps, which may raise the total). Returns the option.
    /// </summary>
    public T Sets<T>(T option, params string[] fields) where T : Option
    {
        foreach (var field in fields) flagOf[field] = option;
        if (!all.Contains(option)) all.Add(option);
        if (option != Steps && !identity.Contains(option)) identity.Add(option);
        return option;
    }

    public string OutputDir(ParseResult result) => result.GetValue(Output)!.FullName;

    /// <summary>The algorithm's options from the command line, over the trainer's <paramref name="start"/>.</summary>
    public GrpoOptions Grpo(ParseResult result, GrpoOptions start) => start with
    {
        NumGenerations = result.GetValue(Generations), GenerationBatchSize = result.GetValue(Batch), LearningRate = result.GetValue(Lr),
        Beta = result.GetValue(Beta), Epsilon = result.GetValue(Epsilon), EpsilonHigh = result.GetValue(EpsilonHigh),
        ScaleRewards = result.GetValue(Scale), LossType = result.GetValue(Loss), NumIterations = result.GetValue(Iterations),
    };

    /// <summary>The run's options from the command line, for a new run.</summary>
    public GrpoRunOptions Run(ParseResult result, GrpoRunOptions start) => start with
    {
        TotalSteps = result.GetValue(Steps), Seed = result.GetValue(Seed), OutputDir = OutputDir(result), CheckpointEvery = result.GetValue(Every),
        NumThreads = result.GetValue(Threads), Resume = false,
    };

    /// <summary>
    /// For --resume, the options of the run in --out (read by <paramref name="readRun"/>), else null. A flag that would
    /// change them is refused here, before libtorch loads the models, not when the training state is found to differ.
    /// </summary>
    public TOptions? Saved<TOptions>(ParseResult result, Func<string, TOptions> readRun) where TOptions : class
    {
        if (!result.GetValue(Resume)) return null;
        if (identity.FirstOrDefault(o => result.GetResult(o) is { Implicit: false }) is { } given)
            throw new CommandLineException($"{given.Name}: a resumed run keeps the options it started with; leave {given.Name} out, or start a new run in another --out");
        RlRig.Torch.TorchRuntime.EnsureLoaded();
        return readRun(OutputDir(result));
    }

    /// <summary>A resumed run's options: the saved ones, with the command line's --steps (when given), folder and threads.</summary>
    public GrpoRunOptions Resumed(ParseResult result, GrpoRunOptions saved) => saved with
    {
        TotalSteps = result.GetResult(Steps) is null or { Implicit: true } ? saved.TotalSteps : result.GetValue(Steps),
        OutputDir = OutputDir(result), Resume = true, NumThreads = result.GetValue(Threads),
    };

    /// <summary>Runs the options' <c>Validate</c>; a field's error becomes "--flag: how to fix it" (<see cref="CommandLineException"/>).</summary>
    public T Checked<T>(Func<T> validate)
    {
        try { return validate(); }
        catch (ArgumentException e) when (e.ParamName is { } field && flagOf.TryGetValue(field, out var flag))
        {
            throw new CommandLineException($"{flag.Name}: {Reason(e)}");
        }
    }

    // "EditorGrpoOptions.Grpo: RewardWeights: give 1 weight (Parameter 'Grpo')" -> "RewardWeights: give 1 weight"; a range error keeps its value.
    static string Reason(ArgumentException e)
    {
        var text = OwnerPrefix().Replace(e.Message.Split(" (Parameter '")[0], "");
        return e is ArgumentOutOfRangeException { ActualValue: { } value } ? $"{text} (got {value})" : text;
    }

    [GeneratedRegex(@"^\w+Options\.\w+: ")]
    private static partial Regex OwnerPrefix();

    /// <summary>The evaluation set the training prompts must avoid, in full; it must exist.</summary>
    public string EvalSetPath(ParseResult result)
    {
        var path = result.GetValue(EvalSet)!.FullName;
        return CommandFiles.ProblemWithInput(path, "--eval-set") is { } problem ? throw new CommandLineException(problem) : path;
    }
}
