using System.CommandLine;
using System.Globalization;
using RlRig.Loop.Actors;
using RlRig.Rl;

namespace RlRig.Cli.Commands;

/// <summary><c>rlrig train actor-grpo</c>: the learned Actor's instructions sampled in groups, carried out by the editor, rewarded by the Checker's gain.</summary>
sealed class ActorGrpoCommand
{
    const string Name = "rlrig train actor-grpo";
    readonly Option<double> temperature;
    readonly Option<double[]> weights;

    public ActorGrpoCommand()
    {
        var defaults = new ActorGrpoOptions();
        // The rollouts that make the states are the policy's own by default (the loop greedy, as it runs in evaluation).
        Setup.Actor.DefaultValueFactory = _ => LoopSetup.Learned;
        Flags = new GrpoFlags(defaults.Grpo, defaults.Run, defaults.TrainingPrompts, defaults.RolloutRounds, "instructions sampled per state", "the supervised Actor");
        temperature = Flags.Sets(new Option<double>("--temperature") { Description = "Sampling temperature.", DefaultValueFactory = _ => defaults.Grpo.Temperature }, nameof(GrpoOptions.Temperature));
        weights = Flags.Sets(new Option<double[]>("--reward-weights") { Description = "Weights of checker_gain and validity.", DefaultValueFactory = _ => [.. defaults.Grpo.RewardWeights!], AllowMultipleArgumentsPerToken = true },
            nameof(GrpoOptions.RewardWeights), nameof(ActorGrpoOptions.Grpo));
        Command = new Command("actor-grpo", "Train the learned Actor with Reflection-GRPO: instructions sampled in groups on states from loop rollouts on training prompts, each carried out by the editor, rewarded by the Checker's gain. Ctrl+C or SIGTERM saves a checkpoint and stops; --resume continues.");
        foreach (var option in Flags.All.Concat(Setup.All)) Command.Options.Add(option);
        Command.SetAction((result, ct) => TrainGrpoCommand.Start(Name, () => Prepare(result), prepared => RunAsync(result, prepared, ct)));
    }

    public Command Command { get; }
    public GrpoFlags Flags { get; }
    public LoopSetup Setup { get; } = new();

    /// <summary>The run's options (the run folder's for --resume) and where its states come from, with every file it reads and writes checked.</summary>
    public (ActorGrpoOptions Options, TrainGrpoCommand.Rollouts Rollouts) Prepare(ParseResult result)
    {
        var defaults = new ActorGrpoOptions();
        var options = Flags.Saved(result, ActorGrpoTrainer.ReadRun) is { } saved
            ? saved with { Run = Flags.Resumed(result, saved.Run) }
            : new ActorGrpoOptions
            {
                Grpo = Flags.Grpo(result, defaults.Grpo) with { Temperature = result.GetValue(temperature), RewardWeights = result.GetValue(weights) },
                Run = Flags.Run(result, defaults.Run),
                TrainingPrompts = result.GetValue(Flags.Prompts), RolloutRounds = result.GetValue(Flags.Rounds),
            };
        Flags.Checked(options.Validate);
        return (options, TrainGrpoCommand.CheckFiles(result, Flags, Setup, options.Run, options.TrainingPrompts, options.RolloutRounds, ActorGrpoTrainer.CheckpointPath(""), TrainGrpoCommand.PolicyStart.Actor));
    }

    Task<int> RunAsync(ParseResult result, (ActorGrpoOptions Options, TrainGrpoCommand.Rollouts Rollouts) run, CancellationToken ct)
    {
        var options = run.Options;
        return TrainGrpoCommand.WithModelsAsync(Name, Setup, result, components => LearnedActor.Load(Setup.ActorCheckpointPath(result), components.World),
            (components, policy, reference) => TrainGrpoCommand.TrainOnRolloutsAsync(Name, components, options.Run, run.Rollouts,
                states => Task.FromResult<IGrpoPoolTrainer>(new ActorGrpoTrainer(policy, reference, components.Checker, components.Editor, states, options)),
                trainer => $"{options.Grpo.StatesPerBatch} states x {options.Grpo.NumGenerations} instructions, pool of {trainer.PoolSize} states",
                p => string.Create(CultureInfo.InvariantCulture, $"  gain {p.Metrics["rewards/checker_gain/mean"]:F3}  valid {1 + p.Metrics["rewards/validity/mean"]:P0}"),
                ActorGrpoTrainer.CheckpointPath(options.Run.OutputDir), ct));
    }
}
