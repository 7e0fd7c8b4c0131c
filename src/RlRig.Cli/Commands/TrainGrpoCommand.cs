using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using RlRig.Loop;
using RlRig.Loop.Actors;
using RlRig.Rl;
using RlRig.World;

namespace RlRig.Cli.Commands;

/// <summary><c>rlrig train actor-grpo</c>: Reflection-GRPO on the learned Actor.</summary>
static class TrainGrpoCommand
{
    public static Command ActorGrpo()
    {
        var defaults = new ActorGrpoOptions();
        var grpo = defaults.Grpo;
        var setup = new LoopSetup();
        // The rollouts that make the states are the policy's own by default (the loop greedy, as it runs in evaluation).
        setup.Actor.DefaultValueFactory = _ => "learned";
        var steps = new Option<int>("--steps") { Description = "GRPO steps (one batch of states each).", DefaultValueFactory = _ => defaults.Run.TotalSteps }.InRange(1, 10_000_000);
        var seed = new Option<long>("--seed") { Description = "Seed of the prompts, rollouts, state order, samples and edits.", DefaultValueFactory = _ => defaults.Run.Seed };
        var output = new Option<DirectoryInfo>("--out") { Description = "Run folder (actor.ckpt, training state, TensorBoard events).", DefaultValueFactory = _ => new DirectoryInfo(defaults.Run.OutputDir) };
        var resume = new Option<bool>("--resume") { Description = "Continue the run in --out exactly where it stopped, with its options (--steps may raise the total)." };
        var every = new Option<int>("--checkpoint-every") { Description = "Steps between checkpoints (0 = only at the end and when stopped).", DefaultValueFactory = _ => defaults.Run.CheckpointEvery }.InRange(0, 10_000_000);
        var threads = new Option<int>("--threads") { Description = "Torch CPU threads (0 = libtorch's default).", DefaultValueFactory = _ => defaults.Run.NumThreads }.InRange(0, 1024);
        var prompts = new Option<int>("--prompts") { Description = "Training prompts whose loop rollouts make the states (never evaluation prompts).", DefaultValueFactory = _ => defaults.TrainingPrompts }.InRange(1, 1_000_000);
        var rounds = new Option<int>("--rollout-rounds") { Description = "Edit rounds of each rollout; every unsatisfied round is a state.", DefaultValueFactory = _ => defaults.RolloutRounds }.InRange(0, 32);
        var evalSet = new Option<FileInfo>("--eval-set") { Description = "Evaluation prompts, never used for training.", DefaultValueFactory = _ => new FileInfo(EvaluationSet.RelativePath) };
        var generations = new Option<int>("--num-generations") { Description = "G: instructions sampled per state.", DefaultValueFactory = _ => grpo.NumGenerations };
        var batch = new Option<int>("--generation-batch-size") { Description = "Instructions per step (whole groups).", DefaultValueFactory = _ => grpo.GenerationBatchSize };
        var lr = new Option<double>("--lr") { Description = "AdamW learning rate.", DefaultValueFactory = _ => grpo.LearningRate };
        var beta = new Option<double>("--beta") { Description = "Weight of the KL to the supervised Actor (0 = none).", DefaultValueFactory = _ => grpo.Beta };
        var epsilon = new Option<double>("--epsilon") { Description = "Lower clip range of the ratio.", DefaultValueFactory = _ => grpo.Epsilon };
        var epsilonHigh = new Option<double?>("--epsilon-high") { Description = "Upper clip range (default: --epsilon)." };
        var temperature = new Option<double>("--temperature") { Description = "Sampling temperature.", DefaultValueFactory = _ => grpo.Temperature };
        var scale = new Option<RewardScaling>("--scale-rewards") { Description = "Advantage scaling: Group, Batch or None.", DefaultValueFactory = _ => grpo.ScaleRewards };
        var loss = new Option<GrpoLossType>("--loss-type") { Description = "Loss aggregation: Grpo, DrGrpo or Dapo.", DefaultValueFactory = _ => grpo.LossType };
        var iterations = new Option<int>("--num-iterations") { Description = "Optimisation passes per batch.", DefaultValueFactory = _ => grpo.NumIterations };
        var weights = new Option<double[]>("--reward-weights") { Description = "Weights of checker_gain and validity.", DefaultValueFactory = _ => [.. grpo.RewardWeights!], AllowMultipleArgumentsPerToken = true };
        var command = new Command("actor-grpo", "Train the learned Actor with Reflection-GRPO: instructions sampled in groups on states from loop rollouts on training prompts, each carried out by the editor, rewarded by the Checker's gain. Ctrl+C or SIGTERM saves a checkpoint and stops; --resume continues.")
        {
            steps, seed, output, resume, every, threads, prompts, rounds, evalSet, generations, batch, lr, beta, epsilon, epsilonHigh, temperature, scale, loss, iterations, weights,
        };
        foreach (var option in setup.All) command.Options.Add(option);
        command.SetAction((result, ct) =>
        {
            const string name = "rlrig train actor-grpo";
            try
            {
                var outputDir = result.GetValue(output)!.FullName;
                if (File.Exists(outputDir)) throw new CommandLineException($"--out {outputDir}: is a file; give a folder for the run");
                var evalSetPath = result.GetValue(evalSet)!.FullName;
                if (CommandFiles.ProblemWithInput(evalSetPath, "--eval-set") is { } problem) throw new CommandLineException(problem);
                if (CommandFiles.ProblemWithInput(setup.ActorCheckpointPath(result), "--actor-checkpoint") is { } missing) throw new CommandLineException(missing);
                ActorGrpoOptions options;
                if (result.GetValue(resume))
                {
                    RlRig.Torch.TorchRuntime.EnsureLoaded();
                    var saved = ActorGrpoTrainer.ReadRun(outputDir);
                    options = saved with
                    {
                        Run = saved.Run with
                        {
                            TotalSteps = result.GetResult(steps) is null or { Implicit: true } ? saved.Run.TotalSteps : result.GetValue(steps),
                            OutputDir = outputDir, Resume = true, NumThreads = result.GetValue(threads),
                        },
                    };
                }
                else
                {
                    options = new ActorGrpoOptions
                    {
                        Grpo = grpo with
                        {
                            NumGenerations = result.GetValue(generations), GenerationBatchSize = result.GetValue(batch), LearningRate = result.GetValue(lr),
                            Beta = result.GetValue(beta), Epsilon = result.GetValue(epsilon), EpsilonHigh = result.GetValue(epsilonHigh),
                            Temperature = result.GetValue(temperature), ScaleRewards = result.GetValue(scale), LossType = result.GetValue(loss),
                            NumIterations = result.GetValue(iterations), RewardWeights = result.GetValue(weights),
                        },
                        Run = new GrpoRunOptions
                        {
                            TotalSteps = result.GetValue(steps), Seed = result.GetValue(seed), OutputDir = outputDir, CheckpointEvery = result.GetValue(every),
                            NumThreads = result.GetValue(threads),
                        },
                        TrainingPrompts = result.GetValue(prompts), RolloutRounds = result.GetValue(rounds),
                    };
                }
                ValidateNamingFlags(options);
                var inputs = setup.Inputs(result).Append(new CommandInput(setup.ActorCheckpointPath(result), "--actor-checkpoint")).ToArray();
                OutputPolicy.RequireFolder(outputDir, "--out", ["actor.ckpt", "actor.ckpt.manifest.json", "training-state.bin"], ["tensorboard"], inputs);
                return Task.Factory.StartNew(() => RunAsync(name, setup, result, options, evalSetPath, ct), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
            }
            catch (Exception e) when (CommandErrors.IsUserFacing(e)) { return Task.FromResult(CommandErrors.Report(name, e)); }
        });
        return command;
    }

    // The options' own checks, reported by the flag that sets the field.
    static readonly Dictionary<string, string> Flags = new()
    {
        [nameof(GrpoOptions.NumGenerations)] = "--num-generations", [nameof(GrpoOptions.GenerationBatchSize)] = "--generation-batch-size",
        [nameof(GrpoOptions.LearningRate)] = "--lr", [nameof(GrpoOptions.Beta)] = "--beta", [nameof(GrpoOptions.Epsilon)] = "--epsilon",
        [nameof(GrpoOptions.EpsilonHigh)] = "--epsilon-high", [nameof(GrpoOptions.Temperature)] = "--temperature",
        [nameof(GrpoOptions.NumIterations)] = "--num-iterations", [nameof(GrpoOptions.RewardWeights)] = "--reward-weights",
        [nameof(ActorGrpoOptions.Grpo)] = "--reward-weights", [nameof(GrpoRunOptions.TotalSteps)] = "--steps",
        [nameof(ActorGrpoOptions.TrainingPrompts)] = "--prompts", [nameof(ActorGrpoOptions.RolloutRounds)] = "--rollout-rounds", [nameof(GrpoRunOptions.Seed)] = "--seed",
    };

    static void ValidateNamingFlags(ActorGrpoOptions options)
    {
        try { options.Validate(); }
        catch (ArgumentException e) when (e.ParamName is { } field && Flags.TryGetValue(field, out var flag))
        {
            var reason = e.Message[(e.Message.IndexOf(": ", StringComparison.Ordinal) + 2)..];
            var cut = reason.LastIndexOf(" (Parameter '", StringComparison.Ordinal);
            throw new CommandLineException($"{flag}: {(cut >= 0 ? reason[..cut] : reason)}");
        }
    }

    /// <summary>
    /// What <paramref name="collect"/> reads off the loop's rollouts (<see cref="RolloutStates"/>) with the loaded components
    /// on <paramref name="prompts"/> training prompts (never one of the evaluation set), <paramref name="rounds"/> edit
    /// rounds each, all drawn from <paramref name="seed"/>.
    /// </summary>
    internal static Task<IReadOnlyList<T>> Rollouts<T>(LoopSetup.Components components, string evalSetPath, int prompts, int rounds, long seed,
        Func<GenerateReflectEditLoop, IReadOnlyList<RlRig.SceneGraphs.SceneGraph>, int, int, CancellationToken, Task<IReadOnlyList<T>>> collect, CancellationToken ct)
    {
        var trainingPrompts = RolloutStates.TrainingPrompts(components.World, EvaluationSet.Read(evalSetPath), prompts, (int)seed);
        var loop = new GenerateReflectEditLoop(components.Diffuser, components.Checker, components.Actor, components.Editor, new LoopOptions { MaxRounds = rounds });
        return collect(loop, trainingPrompts, unchecked((int)seed * 100_003), 50, ct);
    }

    static async Task<int> RunAsync(string name, LoopSetup setup, ParseResult result, ActorGrpoOptions options, string evalSetPath, CancellationToken ct)
    {
        LoopSetup.Components components;
        LearnedActor policy, reference;
        try
        {
            RlRig.Torch.TorchRuntime.EnsureLoaded();
            components = setup.Load(result);
            var actorPath = setup.ActorCheckpointPath(result);
            policy = LearnedActor.Load(actorPath, components.World);
            reference = LearnedActor.Load(actorPath, components.World);
        }
        catch (Exception e) when (CommandErrors.IsUserFacing(e)) { return CommandErrors.Report(name, e); }
        using (components)
        using (policy)
        using (reference)
        {
            var clock = Stopwatch.StartNew();
            var commit = TrainCommand.GitCommit();
            Console.Error.WriteLine($"Collecting states: {options.TrainingPrompts} training prompts, {options.RolloutRounds} rollout rounds each ...");
            IReadOnlyList<ActorState> pool;
            try { pool = await Rollouts(components, evalSetPath, options.TrainingPrompts, options.RolloutRounds, options.Run.Seed, RolloutStates.CollectAsync, ct); }
            catch (OperationCanceledException) { Console.Error.WriteLine($"{name}: interrupted while collecting states; nothing was trained"); return ExitCodes.Interrupted; }
            try
            {
                ActorGrpoTrainer trainer;
                try { trainer = new ActorGrpoTrainer(policy, reference, components.Checker, components.Editor, pool, options); }
                catch (Exception e) when (CommandErrors.IsUserFacing(e)) { return CommandErrors.Report(name, e); }
                using (trainer)
                {
                    Console.Error.WriteLine($"Training {options.Run.TotalSteps} steps ({options.Grpo.StatesPerBatch} states x {options.Grpo.NumGenerations} instructions, pool of {trainer.PoolSize} states) from step {trainer.Step} into {options.Run.OutputDir}");
                    GrpoProgress? last = null;
                    await foreach (var p in trainer.TrainAsync(ct))
                    {
                        last = p;
                        if (Console.IsErrorRedirected && p.Step % 10 != 0 && p.Step != p.TotalSteps) continue;
                        Console.Error.Write(string.Create(CultureInfo.InvariantCulture,
                            $"\rstep {p.Step}/{p.TotalSteps}  reward {p.Reward:F3} ± {p.RewardStd:F3}  gain {p.Metrics["rewards/checker_gain/mean"]:F3}  valid {1 + p.Metrics["rewards/validity/mean"]:P0}  kl {p.Kl:F4}  clip {p.ClipRatio:P1}  zero-std {p.FracRewardZeroStd:P0}  {p.StepsPerSecond:F2} steps/s  ETA {p.Eta:hh\\:mm\\:ss}   "));
                        if (Console.IsErrorRedirected) Console.Error.WriteLine();
                    }
                    Console.Error.WriteLine();
                    var stopped = trainer.Step < options.Run.TotalSteps;
                    var checkpoint = ActorGrpoTrainer.CheckpointPath(options.Run.OutputDir);
                    if (!stopped) TrainCommand.RecordProvenance(checkpoint, clock.Elapsed, options.Run.Resume, commit);
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"{(stopped ? "Stopped" : "Finished")} at step {trainer.Step} after {clock.Elapsed:hh\\:mm\\:ss}; last reward {last?.Reward:F3}; checkpoint {checkpoint}{(stopped ? " (continue with --resume)" : "")}"));
                    return 0;
                }
            }
            finally { RolloutStates.Dispose(pool); }
        }
    }
}
