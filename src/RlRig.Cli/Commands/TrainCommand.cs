using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using RlRig.Diffusion;
using RlRig.Loop.Actors;
using RlRig.Loop.Checkers;
using RlRig.Loop.Editors;
using RlRig.World;

namespace RlRig.Cli.Commands;

/// <summary><c>rlrig train diffuser|checker|editor|actor|actor-grpo|editor-grpo</c>: trains the shapes world's models.</summary>
public static class TrainCommand
{
    public static Command Create() => new("train", "Train a model.") { Diffuser(), Checker(), Editor(), Actor(), TrainGrpoCommand.ActorGrpo(), TrainGrpoCommand.EditorGrpo() };

    static Command Diffuser()
    {
        var defaults = ShapesWorldDiffuser.TrainerOptions;
        var steps = new Option<int>("--steps") { Description = "Optimizer steps.", DefaultValueFactory = _ => defaults.TotalSteps }.AtLeast(1);
        var batch = new Option<int>("--batch") { Description = "Images per step.", DefaultValueFactory = _ => defaults.BatchSize }.AtLeast(1);
        var seed = new Option<long>("--seed") { Description = "Seed of weights, data and noise.", DefaultValueFactory = _ => 0 };
        var output = new Option<DirectoryInfo>("--out") { Description = "Run folder (checkpoint, training state, TensorBoard events).", DefaultValueFactory = _ => new DirectoryInfo(defaults.OutputDir) };
        var resume = new Option<bool>("--resume") { Description = "Continue the run in --out exactly where it stopped, with its architecture and options (flags given override them)." };
        var every = new Option<int>("--checkpoint-every") { Description = "Steps between checkpoints (0 = only at the end and when stopped).", DefaultValueFactory = _ => defaults.CheckpointEvery }.AtLeast(0);
        var threads = new Option<int>("--threads") { Description = "Torch CPU threads (0 = libtorch's default).", DefaultValueFactory = _ => 0 }.InRange(0, 1024);
        var lr = new Option<double>("--lr") { Description = "Peak learning rate.", DefaultValueFactory = _ => defaults.LearningRate }.Finite(0, 1, minExclusive: true, maxExclusive: true);
        var minSnr = new Option<double>("--min-snr-gamma") { Description = "Min-SNR loss weighting gamma (0 = plain MSE).", DefaultValueFactory = _ => defaults.MinSnrGamma }.Finite(min: 0);
        var prediction = new Option<PredictionType>("--prediction") { Description = "What the U-Net predicts: Epsilon or VPrediction.", DefaultValueFactory = _ => new DiffuserConfig().PredictionType };
        var recipe = ShapesWorldDiffuser.Config(new WorldOptions());
        var mask = new Option<bool>("--mask-padding") { Description = "Attention ignores the prompt's padding tokens (--mask-padding false: it does not).", DefaultValueFactory = _ => recipe.MaskPadding };
        var textConv = new Option<int>("--text-conv") { Description = "Width in words of the text encoder's causal convolution (0 = none).", DefaultValueFactory = _ => recipe.TextConvWidth }.AtLeast(0);
        var textLayers = new Option<int>("--text-layers") { Description = "Transformer layers of the text encoder.", DefaultValueFactory = _ => recipe.TextLayers };
        var pooled = new Option<bool>("--pooled-text") { Description = "Add the prompt's mean encoding to the timestep embedding.", DefaultValueFactory = _ => recipe.PooledText };
        var cross = new Option<int[]>("--cross-attention") { Description = "Image sides at which the U-Net attends to the prompt, e.g. 32 16 8 4.", DefaultValueFactory = _ => [.. recipe.CrossAttentionResolutions], AllowMultipleArgumentsPerToken = true }.EachAtLeast(1);
        var grounding = new Option<double>("--grounding") { Description = "Weight of the grounding loss on the U-Net's attention to the prompt (0 = none).", DefaultValueFactory = _ => defaults.GroundingWeight }.Finite(min: 0);
        var evalSet = new Option<FileInfo>("--eval-set") { Description = "Evaluation prompts excluded from training.", DefaultValueFactory = _ => new FileInfo(EvaluationSet.RelativePath) };
        var command = new Command("diffuser", "Train the shapes world's Diffuser (DDPM objective, EMA, CFG dropout). Ctrl+C or SIGTERM saves a checkpoint and stops; --resume continues.")
        {
            steps, batch, seed, output, resume, every, threads, lr, minSnr, prediction, mask, textConv, textLayers, pooled, cross, grounding, evalSet,
        };
        command.SetAction((result, ct) =>
        {
            var world = new WorldOptions();
            var evalSetPath = result.GetValue(evalSet)!.FullName;
            // Refused now, not at the first checkpoint minutes into training.
            var outputDir = OutputPolicy.RequireFolder(result.GetValue(output)!.ToString(), "--out",
                files: [Path.GetFileName(DiffuserTrainer.CheckpointPath("")), Path.GetFileName(DiffuserCheckpoint.ManifestPath(DiffuserTrainer.CheckpointPath(""))), Path.GetFileName(DiffuserTrainer.TrainingStatePath(""))],
                folders: ["tensorboard"], new CommandInput(evalSetPath, "--eval-set"));
            // A resumed run continues as it was started: what the command line does not say comes from the run folder,
            // so `--out DIR --resume` is enough, whatever the defaults were when the run began.
            DiffuserRun? saved = null;
            if (result.GetValue(resume))
            {
                try { saved = DiffuserTrainer.ReadRun(outputDir); }
                catch (Exception e) when (CommandErrors.IsUserFacing(e)) { return Task.FromResult(CommandErrors.Report("rlrig train diffuser", e)); }
            }
            T Value<T>(Option<T> option, Func<DiffuserRun, T> fromRun) => FromRunOr(result, saved, option, fromRun);
            return RunOnOwnThread(new RunFlags(steps, batch, seed, resume, every, threads, lr).Apply(result, saved, new DiffuserTrainerOptions(), outputDir) with
            {
                MinSnrGamma = Value(minSnr, r => r.Options.MinSnrGamma),
                GroundingWeight = Value(grounding, r => r.Options.GroundingWeight),
            }, (saved?.Config ?? ShapesWorldDiffuser.Config(world)) with
            {
                PredictionType = Value(prediction, r => r.Config.PredictionType),
                MaskPadding = Value(mask, r => r.Config.MaskPadding),
                TextConvWidth = Value(textConv, r => r.Config.TextConvWidth),
                TextLayers = Value(textLayers, r => r.Config.TextLayers),
                PooledText = Value(pooled, r => r.Config.PooledText),
                CrossAttentionResolutions = Value(cross, r => r.Config.CrossAttentionResolutions.ToArray()),
            }, "rlrig train diffuser", () => new ShapesWorldDataset(world, ReadEvaluationSet(result.GetValue(evalSet)!)), ct);
        });
        return command;
    }

    static Command Editor()
    {
        var defaults = ShapesWorldEditor.TrainerOptions;
        var steps = new Option<int>("--steps") { Description = "Optimizer steps.", DefaultValueFactory = _ => defaults.TotalSteps }.InRange(1, 10_000_000);
        var batch = new Option<int>("--batch") { Description = "Edits per step.", DefaultValueFactory = _ => defaults.BatchSize }.InRange(1, 4096);
        var seed = new Option<long>("--seed") { Description = "Seed of data, noise and the new words' embeddings.", DefaultValueFactory = _ => 0 }.Check(s => s >= 0, "a non-negative integer");
        var output = new Option<DirectoryInfo>("--out") { Description = "Run folder (checkpoint, training state, TensorBoard events).", DefaultValueFactory = _ => new DirectoryInfo(defaults.OutputDir) };
        var resume = new Option<bool>("--resume") { Description = "Continue the run in --out exactly where it stopped, with its architecture and options (flags given override them)." };
        var every = new Option<int>("--checkpoint-every") { Description = "Steps between checkpoints (0 = only at the end and when stopped).", DefaultValueFactory = _ => defaults.CheckpointEvery }.InRange(0, 10_000_000);
        var threads = new Option<int>("--threads") { Description = "Torch CPU threads (0 = libtorch's default; 1 is fastest on a shared 2-core machine and bit-reproducible).", DefaultValueFactory = _ => 1 }.InRange(0, 1024);
        var lr = new Option<double>("--lr") { Description = "Peak learning rate.", DefaultValueFactory = _ => defaults.LearningRate }.Finite(0, 1, minExclusive: true, maxExclusive: true);
        var init = new Option<FileInfo>("--init") { Description = "The Diffuser checkpoint the editor starts from (every tensor copied; the source image's input channels start at zero).", DefaultValueFactory = _ => new FileInfo(defaults.InitFrom!) };
        var evalSet = new Option<FileInfo>("--eval-set") { Description = "Evaluation prompts whose scenes are never edited in training.", DefaultValueFactory = _ => new FileInfo(EvaluationSet.RelativePath) };
        var prediction = new Option<PredictionType>("--prediction") { Description = "What the U-Net predicts: Sample (x0), Epsilon or VPrediction.", DefaultValueFactory = _ => ShapesWorldEditor.Prediction };
        var residual = new Option<bool>("--source-residual") { Description = "With --prediction Sample: the U-Net predicts the change from the source image (x0 = source + output), starting as the identity edit (--source-residual false: the whole image).", DefaultValueFactory = _ => ShapesWorldEditor.SourceResidual };
        var maxTimestep = new Option<int>("--max-timestep") { Description = "Training timesteps are drawn from [0, this); 0 = every timestep (strength 0.5 of the 20-step grid samples from t = 499 down).", DefaultValueFactory = _ => defaults.MaxTimestep }.InRange(0, 1_000_000);
        var minSnr = new Option<double>("--min-snr-gamma") { Description = "Min-SNR loss weighting gamma (0 = plain MSE).", DefaultValueFactory = _ => defaults.MinSnrGamma }.Finite(min: 0);
        var share = new Option<bool>("--share-input-weights") { Description = "Start the source image's input weights as half the Diffuser's image weights, and the noisy image's as the other half (--share-input-weights false: zeros for the source, as InstructPix2Pix).", DefaultValueFactory = _ => defaults.ShareInputWeights };
        var command = new Command("editor", "Train the learned editor (InstructPix2Pix-style: the source image as extra input channels, the instruction as words) on (before, instruction, after) triples the world renders exactly, starting from the Diffuser. Ctrl+C or SIGTERM saves a checkpoint and stops; --resume continues.")
        {
            steps, batch, seed, output, resume, every, threads, lr, init, evalSet, prediction, residual, maxTimestep, minSnr, share,
        };
        command.SetAction((result, ct) =>
        {
            const string name = "rlrig train editor";
            var world = new WorldOptions();
            try
            {
                var initPath = result.GetValue(init)!.FullName;
                var evalSetPath = result.GetValue(evalSet)!.FullName;
                var outputDir = OutputPolicy.RequireFolder(result.GetValue(output)!.ToString(), "--out",
                    files: [defaults.CheckpointName, Path.GetFileName(DiffuserCheckpoint.ManifestPath(defaults.CheckpointName)), Path.GetFileName(DiffuserTrainer.TrainingStatePath(""))],
                    folders: ["tensorboard"], new CommandInput(evalSetPath, "--eval-set"), new CommandInput(initPath, "--init"));
                RlRig.Torch.TorchRuntime.EnsureLoaded();
                DiffuserRun? saved = result.GetValue(resume) ? DiffuserTrainer.ReadRun(outputDir) : null;
                DiffuserConfig config;
                if (saved is not null) config = saved.Config;
                else
                {
                    if (!File.Exists(initPath)) throw new FileNotFoundException($"--init {initPath}: no such Diffuser checkpoint (the editor starts from one; the committed one is {ShapesWorldEditor.DiffuserPath})");
                    using var diffuser = DiffuserCheckpoint.Load(initPath);
                    config = ShapesWorldEditor.Config(diffuser.Config);
                }
                config = config with
                {
                    PredictionType = FromRunOr(result, saved, prediction, r => r.Config.PredictionType),
                    SourceResidual = FromRunOr(result, saved, residual, r => r.Config.SourceResidual),
                };
                var options = new RunFlags(steps, batch, seed, resume, every, threads, lr).Apply(result, saved, saved?.Options ?? defaults, outputDir) with
                {
                    InitFrom = FromRunOr(result, saved, init, r => new FileInfo(r.Options.InitFrom ?? initPath)).FullName,
                    MaxTimestep = FromRunOr(result, saved, maxTimestep, r => r.Options.MaxTimestep),
                    MinSnrGamma = FromRunOr(result, saved, minSnr, r => r.Options.MinSnrGamma),
                    ShareInputWeights = FromRunOr(result, saved, share, r => r.Options.ShareInputWeights),
                };
                // The flags' combination is checked now, with the option's fix-it message, not when the trainer starts.
                if (config.SourceResidual && config.PredictionType != PredictionType.Sample)
                    throw new ArgumentException($"--source-residual: the change from the source is an x0 prediction; give --prediction Sample, or --source-residual false for --prediction {config.PredictionType}");
                if (options.MaxTimestep > config.NumTrainTimesteps)
                    throw new ArgumentException($"--max-timestep: {options.MaxTimestep} is beyond the schedule's {config.NumTrainTimesteps} timesteps; give at most {config.NumTrainTimesteps}, or 0 for all");
                config.Validate();
                options.Validate();
                world = world with { CanvasSize = config.ImageSize };
                return RunOnOwnThread(options, config, name, () => new EditorTrainingData(world, ReadEvaluationSet(result.GetValue(evalSet)!)), ct);
            }
            catch (Exception e) when (CommandErrors.IsUserFacing(e))
            {
                return Task.FromResult(CommandErrors.Report(name, e));
            }
        });
        return command;
    }

    // A resumed run continues as it was started: a flag the command line does not give comes from the run folder.
    static T FromRunOr<T>(ParseResult result, DiffuserRun? saved, Option<T> option, Func<DiffuserRun, T> fromRun) =>
        saved is not null && result.GetResult(option) is null or { Implicit: true } ? fromRun(saved) : result.GetValue(option)!;

    /// <summary>The flags every Diffuser run has (text-to-image or editor), and the options they give.</summary>
    sealed record RunFlags(Option<int> Steps, Option<int> Batch, Option<long> Seed, Option<bool> Resume, Option<int> Every, Option<int> Threads, Option<double> Lr)
    {
        public DiffuserTrainerOptions Apply(ParseResult result, DiffuserRun? saved, DiffuserTrainerOptions start, string outputDir) => start with
        {
            TotalSteps = FromRunOr(result, saved, Steps, r => r.Options.TotalSteps),
            BatchSize = FromRunOr(result, saved, Batch, r => r.Options.BatchSize),
            Seed = FromRunOr(result, saved, Seed, r => r.Options.Seed),
            OutputDir = outputDir,
            Resume = result.GetValue(Resume),
            CheckpointEvery = FromRunOr(result, saved, Every, r => r.Options.CheckpointEvery),
            NumThreads = result.GetValue(Threads),
            LearningRate = FromRunOr(result, saved, Lr, r => r.Options.LearningRate),
        };
    }

    static Command Checker()
    {
        var flags = new TrainerFlags(new CheckerTrainerOptions(), "Images per step.",
            "Torch CPU threads (0 = libtorch's default). 1, the default, is bit-reproducible and on a shared 2-core machine about 30 times faster for this small network than libtorch's default.", "3e-3");
        var channels = new Option<int>("--channels") { Description = "Hidden channels of the network.", DefaultValueFactory = _ => new CheckerConfig().Channels };
        var command = new Command("checker", "Train the shapes world's Checker (per-pixel colour and shape labels from the world's ground truth, never the judge). Ctrl+C or SIGTERM saves a checkpoint and stops; --resume continues.");
        foreach (var option in flags.All.Append(channels)) command.Options.Add(option);
        command.SetAction((result, ct) =>
        {
            const string name = "rlrig train checker";
            var problem = flags.Problem(result)
                ?? (result.GetValue(channels) is < 16 or > 512 || result.GetValue(channels) % 16 != 0 ? "--channels: use a multiple of 16 from 16 to 512" : null);
            if (problem is not null)
            {
                Console.Error.WriteLine($"{name}: {problem}");
                return Task.FromResult(ExitCodes.UsageOrIo);
            }
            CheckerRun? saved = null;
            if (result.GetValue(flags.Resume))
            {
                try { RlRig.Torch.TorchRuntime.EnsureLoaded(); saved = CheckerTrainer.ReadRun(result.GetValue(flags.Output)!.FullName); }
                catch (Exception e) when (CommandErrors.IsUserFacing(e)) { return Task.FromResult(CommandErrors.Report(name, e)); }
            }
            var options = flags.Options(result, new CheckerTrainerOptions(), saved?.Options);
            var config = (saved?.Config ?? new CheckerConfig()) with { Channels = TrainerFlags.Value(result, channels, saved is not null, () => saved!.Config.Channels) };
            return Task.Factory.StartNew(() => RunCheckerAsync(options, config, ct), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
        });
        return command;
    }

    static Command Actor()
    {
        var defaults = new ActorTrainerOptions();
        var flags = new TrainerFlags(defaults, "States per step.",
            "Torch CPU threads (0 = libtorch's default). 1, the default, is bit-reproducible and fastest on a shared 2-core machine.", "1e-3");
        var evalSet = new Option<FileInfo>("--eval-set") { Description = "Evaluation prompts excluded from the training targets and the rollouts' prompts.", DefaultValueFactory = _ => new FileInfo(EvaluationSet.RelativePath) };
        var init = new Option<FileInfo?>("--init") { Description = $"An Actor checkpoint to start from (e.g. {LearnedActor.RelativePath}; its architecture is the run's); without it the weights start fresh." };
        var realPrompts = new Option<int>("--real-prompts") { Description = "Training prompts rolled out by the loop (Diffuser, Checker, rule-based Actor, training-free editor) for real states: the Checker's readings, labelled by the world (0 = synthetic states only).", DefaultValueFactory = _ => defaults.RealPrompts };
        var realRounds = new Option<int>("--rollout-rounds") { Description = "Edit rounds of each rollout; every round the Checker finds unsatisfied is a state.", DefaultValueFactory = _ => defaults.RealRounds };
        var realFraction = new Option<double>("--real-fraction") { Description = "Share of each batch taken from the real states, in [0, 1]; the rest is synthetic.", DefaultValueFactory = _ => defaults.RealFraction };
        var references = new Option<ActorReferences>("--references") { Description = "How a fresh model names objects: Slots (points at the state's objects; its instructions are written out in words) or Words (copies their words and positions). A run from --init or --resume keeps its checkpoint's.", DefaultValueFactory = _ => new ActorConfig().References };
        var preferRelative = new Option<bool>("--prefer-relative-moves") { Description = "Teach a move to a position (\"to (x, y)\") only where no other instruction fixes the state; elsewhere the relative moves, whose placing the editor does." };
        var setup = new LoopSetup();
        var command = new Command("actor", "Train the learned Actor (a small transformer writing edit instructions) on the world's exact (state, correct instruction) pairs: synthetic states and, with --real-prompts, the Checker's readings of loop rollouts on training prompts. Ctrl+C or SIGTERM saves a checkpoint and stops; --resume continues.");
        foreach (var option in flags.All.Concat([evalSet, init, realPrompts, realRounds, realFraction, references, preferRelative]).Concat(setup.RuleLoop)) command.Options.Add(option);
        // The options' own checks, reported by the flag that sets the field.
        var flagOf = new Dictionary<string, string>
        {
            [nameof(ActorTrainerOptions.InitFrom)] = init.Name, [nameof(ActorTrainerOptions.RealPrompts)] = realPrompts.Name,
            [nameof(ActorTrainerOptions.RealRounds)] = realRounds.Name, [nameof(ActorTrainerOptions.RealFraction)] = realFraction.Name,
        };
        command.SetAction((result, ct) =>
        {
            const string name = "rlrig train actor";
            var evalSetPath = result.GetValue(evalSet)!.FullName;
            var problem = flags.Problem(result)
                ?? (!File.Exists(evalSetPath) ? $"--eval-set {evalSetPath}: the evaluation set is missing; training must know what to exclude (rlrig world eval-set writes it)" : null)
                ?? (result.GetResult(references) is { Implicit: false } && (result.GetValue(init) is not null || result.GetValue(flags.Resume))
                    ? "--references: a run from --init or --resume keeps the references its checkpoint was trained with; leave the flag out" : null);
            if (problem is not null)
            {
                Console.Error.WriteLine($"{name}: {problem}");
                return Task.FromResult(ExitCodes.UsageOrIo);
            }
            ActorRun? saved = null;
            ActorTrainerOptions options;
            try
            {
                if (result.GetValue(flags.Resume)) { RlRig.Torch.TorchRuntime.EnsureLoaded(); saved = ActorTrainer.ReadRun(result.GetValue(flags.Output)!.FullName); }
                T V<T>(Option<T> option, Func<ActorTrainerOptions, T> fromRun) => TrainerFlags.Value(result, option, saved is not null, () => fromRun(saved!.Options));
                options = flags.Options(result, saved?.Options ?? defaults, saved?.Options) with
                {
                    InitFrom = TrainerFlags.Value(result, init, saved is not null, () => saved!.Options.InitFrom is { } p ? new FileInfo(p) : null)?.FullName,
                    RealPrompts = V(realPrompts, o => o.RealPrompts),
                    RealRounds = V(realRounds, o => o.RealRounds),
                    RealFraction = V(realFraction, o => o.RealFraction),
                    PreferRelativeMoves = V(preferRelative, o => o.PreferRelativeMoves),
                };
                try { options.Validate(); }
                catch (ArgumentException e) when (e.ParamName is { } field && flagOf.TryGetValue(field, out var flag))
                {
                    throw new CommandLineException($"{flag}: {e.Message[(e.Message.IndexOf(':') + 2)..].Replace(" (Parameter '" + field + "')", "")}");
                }
                // A resumed run's weights come from its training state; the checkpoint it started from need not be there.
                if (options.InitFrom is { } from && saved is null && CommandFiles.ProblemWithInput(from, "--init") is { } missing) throw new CommandLineException(missing);
                if (options.RealPrompts > 0) setup.RequireFiles(result);
                // Refused now, not at the first checkpoint: the run folder must not hold a file the run reads (`--init
                // data/shapes-world/actor/actor.ckpt --out data/shapes-world/actor` wrote over the Actor it started from).
                var checkpointName = Path.GetFileName(ActorTrainer.CheckpointPath(""));
                OutputPolicy.RequireFolder(result.GetValue(flags.Output)!.ToString(), "--out",
                    files: [checkpointName, Path.GetFileName(LearnedActor.ManifestPath(checkpointName)), Path.GetFileName(ActorTrainer.TrainingStatePath(""))], folders: ["tensorboard"],
                    [new CommandInput(evalSetPath, "--eval-set"), .. saved is null && options.InitFrom is { } start ? [new CommandInput(start, "--init")] : Array.Empty<CommandInput>(),
                     .. options.RealPrompts > 0 ? setup.Inputs(result) : []]);
            }
            catch (Exception e) when (CommandErrors.IsUserFacing(e)) { return Task.FromResult(CommandErrors.Report(name, e)); }
            Func<CancellationToken, Task<RealStates>>? collect = options.RealPrompts == 0 ? null : token => CollectRealStatesAsync(setup, result, options, evalSetPath, token);
            var fresh = new ActorConfig { References = result.GetValue(references) };
            return Task.Factory.StartNew(() => RunActorAsync(options, saved?.Config, fresh, evalSetPath, collect, ct), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
        });
        return command;
    }

    /// <summary>A run's real states: the labelled examples, and what the manifest says of them.</summary>
    sealed record RealStates(IReadOnlyList<ActorExample> Examples, System.Text.Json.Nodes.JsonObject Description);

    // The loop with the rule-based Actor (its edits are the ones the loop makes well, so later rounds show realistic
    // edited images), on training prompts drawn from the run's seed; every unsatisfied round labelled by the world.
    static async Task<RealStates> CollectRealStatesAsync(LoopSetup setup, ParseResult result, ActorTrainerOptions options, string evalSetPath, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        using var components = setup.Load(result);
        var states = await TrainGrpoCommand.CollectStatesAsync(components, new TrainGrpoCommand.Rollouts(options.RealPrompts, options.RealRounds, evalSetPath), options.Seed, ct);
        try
        {
            var examples = ActorTrainingData.Label(components.World, states.Select(s => s.Reflection), new ActorConfig().ContextLength);
            Console.Error.WriteLine($"Real states: {states.Count} unsatisfied rounds of {options.RealPrompts} prompts, {examples.Count} with a correct instruction, in {clock.Elapsed:hh\\:mm\\:ss}");
            var description = new System.Text.Json.Nodes.JsonObject
            {
                ["prompts"] = $"RolloutStates.TrainingPrompts({options.RealPrompts}, seed: {options.Seed})",
                ["rollout_rounds"] = options.RealRounds,
                ["unsatisfied_rounds"] = states.Count,
                ["labelled_states"] = examples.Count,
                ["share_of_batch"] = options.RealFraction,
                ["loop"] = System.Text.Json.JsonSerializer.SerializeToNode(setup.Describe(result)),
                ["collect_seconds"] = Math.Round(clock.Elapsed.TotalSeconds),
            };
            return new RealStates(examples, description);
        }
        finally { RlRig.Rl.RolloutStates.Dispose(states); }
    }

    static async Task<int> RunActorAsync(ActorTrainerOptions options, ActorConfig? savedConfig, ActorConfig freshConfig, string evalSetPath, Func<CancellationToken, Task<RealStates>>? collect, CancellationToken ct)
    {
        const string name = "rlrig train actor";
        var clock = Stopwatch.StartNew();
        // The code that trains is the code at the start: later commits in the same checkout must not be credited.
        var commit = GitCommit();
        ActorTrainer trainer;
        ActorTrainingData data;
        RealStates? real = null;
        try
        {
            RlRig.Torch.TorchRuntime.EnsureLoaded();
            // The rollouts too: libtorch's default threads made GRPO's collection crawl on the shared 2 cores.
            if (options.NumThreads > 0) TorchSharp.torch.set_num_threads(options.NumThreads);
            if (collect is not null)
            {
                try { real = await collect(ct); }
                catch (OperationCanceledException)
                {
                    Console.Error.WriteLine($"{name}: interrupted while collecting real states; nothing was trained");
                    return ExitCodes.Interrupted;
                }
            }
            var world = new WorldOptions();
            var config = savedConfig;
            if (config is null && options.InitFrom is { } init)
                using (var start = LearnedActor.Load(init, world)) config = start.Model.Config;
            data = new ActorTrainingData(world, EvaluationSet.Read(evalSetPath), real: real?.Examples, realFraction: options.RealFraction, preferRelativeMoves: options.PreferRelativeMoves);
            trainer = new ActorTrainer(config ?? freshConfig, options);
        }
        catch (Exception e) when (CommandErrors.IsUserFacing(e))
        {
            return CommandErrors.Report(name, e);
        }
        using (trainer)
        {
            Console.Error.WriteLine($"Training {options.TotalSteps} steps (batch {options.BatchSize}{(data.RealFraction > 0 ? $", {data.RealRows(options.BatchSize)} real" : "")}, {trainer.Model.ParameterCount:N0} parameters, references in {trainer.Config.References.ToString().ToLowerInvariant()}) from step {trainer.Step}{(options.InitFrom is { } from && !options.Resume ? $", starting from {from}" : "")} into {options.OutputDir}");
            var last = await ShowProgress(trainer.TrainAsync(data, ct), p => string.Create(CultureInfo.InvariantCulture, $" tokens {p.GroundingLoss:P1}"));
            var stopped = trainer.Step < options.TotalSteps;
            var checkpoint = ActorTrainer.CheckpointPath(options.OutputDir);
            if (!stopped)
            {
                RecordProvenance(checkpoint, clock.Elapsed, options.Resume, commit);
                Manifest.Update(checkpoint, "errors", System.Text.Json.JsonSerializer.SerializeToNode(data.Mix)!);
                RecordInit(checkpoint, options.InitFrom);
                if (real is not null) Manifest.Update(checkpoint, "real_states", real.Description);
            }
            ReportEnd(stopped, trainer.Step, clock, last, checkpoint);
            return 0;
        }
    }

    /// <summary>Records in the checkpoint's manifest the file training started from and its sha256 ("init_from"), when there is one.</summary>
    public static void RecordInit(string checkpoint, string? init)
    {
        if (init is not null && File.Exists(init))
            Manifest.Update(checkpoint, "init_from", new System.Text.Json.Nodes.JsonObject { ["file"] = init, ["sha256"] = LoopSetup.Sha256(init) });
    }

    static async Task<int> RunCheckerAsync(CheckerTrainerOptions options, CheckerConfig config, CancellationToken ct)
    {
        CheckerTrainer trainer;
        CheckerTrainingData data;
        try
        {
            RlRig.Torch.TorchRuntime.EnsureLoaded();
            data = new CheckerTrainingData(new WorldOptions { CanvasSize = config.ImageSize });
            trainer = new CheckerTrainer(config, options);
        }
        catch (Exception e) when (CommandErrors.IsUserFacing(e))
        {
            return CommandErrors.Report("rlrig train checker", e);
        }
        using (trainer)
        {
            var clock = Stopwatch.StartNew();
            var commit = GitCommit();
            Console.Error.WriteLine($"Training {options.TotalSteps} steps (batch {options.BatchSize}, {trainer.Model.ParameterCount:N0} parameters) from step {trainer.Step} into {options.OutputDir}");
            var last = await ShowProgress(trainer.TrainAsync(data, ct), p => string.Create(CultureInfo.InvariantCulture, $" pixels {p.GroundingLoss:P1}"));
            var stopped = trainer.Step < options.TotalSteps;
            var checkpoint = CheckerTrainer.CheckpointPath(options.OutputDir);
            if (!stopped)
            {
                RecordProvenance(checkpoint, clock.Elapsed, options.Resume, commit);
                Manifest.Update(checkpoint, "augmentation", System.Text.Json.JsonSerializer.SerializeToNode(data.Augmentation)!);
            }
            ReportEnd(stopped, trainer.Step, clock, last, checkpoint);
            return 0;
        }
    }

    // The whole run (libtorch load, model, every step) on one thread of its own: torch work spread over threads is slower
    // (environment.md), and the action must hand System.CommandLine a task at once, or its Ctrl+C handler is only
    // registered after training has finished.
    static Task<int> RunOnOwnThread(DiffuserTrainerOptions options, DiffuserConfig config, string name, Func<IImageTextDataset> makeData, CancellationToken ct) =>
        Task.Factory.StartNew(() => RunAsync(options, config, name, makeData, ct), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();

    static IReadOnlyList<RlRig.SceneGraphs.SceneGraph> ReadEvaluationSet(FileInfo evalSet) => evalSet.Exists ? EvaluationSet.Read(evalSet.FullName)
        : throw new FileNotFoundException($"{evalSet.FullName}: the evaluation set is missing; training must know what to exclude (rlrig world eval-set writes it)");

    // A Diffuser's training run, text-to-image or editor (a Diffuser that reads the source image): the data and the name differ.
    static async Task<int> RunAsync(DiffuserTrainerOptions options, DiffuserConfig config, string name, Func<IImageTextDataset> makeData, CancellationToken ct)
    {
        DiffuserTrainer trainer;
        IImageTextDataset data;
        try
        {
            RlRig.Torch.TorchRuntime.EnsureLoaded();
            data = makeData();
            trainer = new DiffuserTrainer(config, options);
        }
        catch (Exception e) when (CommandErrors.IsUserFacing(e))
        {
            return CommandErrors.Report(name, e);
        }
        using (trainer)
        {
            var clock = Stopwatch.StartNew();
            // The code that trains is the code at the start: later commits in the same checkout must not be credited.
            var commit = GitCommit();
            Console.Error.WriteLine($"Training {options.TotalSteps} steps (batch {options.BatchSize}) from step {trainer.Step} into {options.OutputDir}");
            var last = await ShowProgress(trainer.TrainAsync(data, ct), p => double.IsNaN(p.GroundingLoss) ? "" : string.Create(CultureInfo.InvariantCulture, $" grounding {p.GroundingLoss:F3}"));
            var stopped = trainer.Step < options.TotalSteps;
            var checkpoint = Path.Combine(options.OutputDir, options.CheckpointName);
            if (!stopped) RecordProvenance(checkpoint, clock.Elapsed, options.Resume, commit);
            ReportEnd(stopped, trainer.Step, clock, last, checkpoint);
            return 0;
        }
    }

    // The closing line of a training run, the same for every model (the CLI tests read "Finished at step N").
    static void ReportEnd(bool stopped, int step, Stopwatch clock, TrainProgress? last, string checkpoint) =>
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{(stopped ? "Stopped" : "Finished")} at step {step} after {clock.Elapsed:hh\\:mm\\:ss}; last loss {last?.Loss:F4}; checkpoint {checkpoint}{(stopped ? " (continue with --resume)" : "")}"));

    // The progress line (rewritten in place every 10 steps) and a line per checkpoint, on standard error; returns the last report.
    static async Task<TrainProgress?> ShowProgress(IAsyncEnumerable<TrainProgress> run, Func<TrainProgress, string> extra)
    {
        TrainProgress? last = null;
        await foreach (var p in run)
        {
            last = p;
            if (p.Step % 10 == 0 || p.CheckpointPath is not null || p.Step == p.TotalSteps)
                Console.Error.Write(string.Create(CultureInfo.InvariantCulture,
                    $"\r{Bar(p.Step, p.TotalSteps)} {p.Step}/{p.TotalSteps} loss {p.Loss:F4}{extra(p)} lr {p.LearningRate:E2} {p.StepsPerSecond:F2} it/s ETA {p.Eta:hh\\:mm\\:ss}   "));
            if (p.CheckpointPath is not null) Console.Error.Write($"\n  checkpoint: {p.CheckpointPath}\n");
        }
        Console.Error.WriteLine();
        return last;
    }

    // The manifest must say how to reproduce the checkpoint: the command line, the code's commit, and what it cost.
    /// <param name="stoppedAtStep">Set where the run was stopped before its last step and its checkpoint is still a result
    /// of its own (GRPO: a constant learning rate and per-step seeds make it what <c>--steps N</c> would give).</param>
    internal static void RecordProvenance(string checkpoint, TimeSpan elapsed, bool resumed, string commit, int? stoppedAtStep = null)
    {
        var producedBy = new System.Text.Json.Nodes.JsonObject
        {
            ["command"] = "rlrig " + string.Join(' ', Environment.GetCommandLineArgs().Skip(1)),
            ["commit"] = commit,
            ["wall_seconds"] = Math.Round(elapsed.TotalSeconds),
            ["resumed"] = resumed,
            ["cpu_cores"] = Environment.ProcessorCount,
            ["os"] = System.Runtime.InteropServices.RuntimeInformation.OSDescription,
        };
        if (stoppedAtStep is { } step) producedBy["stopped_at_step"] = step;
        Manifest.Update(checkpoint, "produced_by", producedBy);
    }

    internal static string GitCommit()
    {
        try
        {
            using var git = Process.Start(new ProcessStartInfo("git", "rev-parse HEAD") { RedirectStandardOutput = true, RedirectStandardError = true })!;
            var head = git.StandardOutput.ReadToEnd().Trim();
            git.WaitForExit();
            using var dirty = Process.Start(new ProcessStartInfo("git", "status --porcelain --untracked-files=no") { RedirectStandardOutput = true })!;
            var changes = dirty.StandardOutput.ReadToEnd().Trim();
            dirty.WaitForExit();
            return git.ExitCode == 0 ? head + (changes.Length > 0 ? " (with uncommitted changes)" : "") : "unknown";
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "unknown (git not found)";
        }
    }

    static string Bar(int step, int total)
    {
        var filled = (int)Math.Round(20.0 * step / Math.Max(1, total));
        return "[" + new string('#', filled) + new string('.', 20 - filled) + "]";
    }
}
