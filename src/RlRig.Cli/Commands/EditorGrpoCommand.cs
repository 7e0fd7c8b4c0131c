using System.CommandLine;
using RlRig.Diffusion;
using RlRig.Loop.Editors;
using RlRig.Rl;

namespace RlRig.Cli.Commands;

/// <summary>
/// <c>rlrig train editor-grpo</c>: an editor's stochastic DDIM chain as the policy (the learned editor's, or with
/// <c>--chain inpaint</c> the training-free editor's region chain on a copy of the Diffuser), G edits per (image,
/// instruction) from loop rollouts on training prompts, rewarded by the Checker's reading of the edit.
/// </summary>
sealed class EditorGrpoCommand
{
    const string Name = "rlrig train editor-grpo";
    /// <summary>The values of --chain.</summary>
    public const string Instruct = "instruct", Inpaint = "inpaint";
    readonly Option<string> chain;
    readonly Option<int> samplingSteps;
    readonly Option<double> samplingStrength, eta, guidance, imageGuidance, fraction;
    readonly Option<bool> shareNoise, filterPool;

    public EditorGrpoCommand()
    {
        var defaults = new EditorGrpoOptions();
        var sampling = defaults.Sampling;
        // The rollouts' edits are the policy's own by default, so the pool holds the images it meets in the loop.
        Setup.Editor.DefaultValueFactory = _ => LoopSetup.Learned;
        Flags = new GrpoFlags(defaults.Grpo, defaults.Run, defaults.TrainingPrompts, defaults.RolloutRounds, "edits drawn per (image, instruction)", "the starting weights (the supervised editor, or the Diffuser)");
        chain = Flags.Sets(new Option<string>("--chain") { Description = $"The chain trained: {Instruct} (the learned editor's DDIM chain; --editor-checkpoint is trained) or {Inpaint} (the training-free editor's region chain: a copy of the Diffuser of --checkpoint that only the editor's passes use is trained, the action being each edit's last pass at --strength; the rollouts' --editor then defaults to training-free; the checkpoint is DIR/diffuser.ckpt, for --editor inpaint-grpo).", DefaultValueFactory = _ => Instruct }
            .Check(v => v is Instruct or Inpaint, $"{Instruct} or {Inpaint}"), nameof(EditorGrpoOptions.Chain));
        samplingSteps = Flags.Sets(new Option<int>("--sampling-steps") { Description = "DDIM steps of the policy's chain while training (Flow-GRPO trains on a short chain; the loop samples the full one). Each step run is a token of the loss.", DefaultValueFactory = _ => sampling.Steps },
            nameof(LearnedEditorOptions.Steps));
        samplingStrength = Flags.Sets(new Option<double>("--sampling-strength") { Description = "Fraction of that chain run from the source image noised to its level, in (0, 1] (the learned editor's strength; --strength is the training-free editor's). With --chain inpaint: the drawing passes' strength while training (default: --strength, the loop's).", DefaultValueFactory = _ => sampling.Strength },
            nameof(LearnedEditorOptions.Strength));
        eta = Flags.Sets(new Option<double>("--eta") { Description = "DDIM eta of the chain: > 0, or it is no policy (1 = DDPM's fresh noise at every step).", DefaultValueFactory = _ => sampling.Eta },
            nameof(LearnedEditorOptions.Eta), nameof(EditorGrpoOptions.Sampling));
        guidance = Flags.Sets(new Option<double>("--guidance") { Description = "Text guidance of the chain.", DefaultValueFactory = _ => sampling.GuidanceScale }, nameof(LearnedEditorOptions.GuidanceScale));
        imageGuidance = Flags.Sets(new Option<double>("--image-guidance") { Description = "Image guidance of the chain.", DefaultValueFactory = _ => sampling.ImageGuidanceScale }, nameof(LearnedEditorOptions.ImageGuidanceScale));
        fraction = Flags.Sets(new Option<double>("--trained-step-fraction") { Description = "Fraction of the chain's stochastic steps trained on each batch, in (0, 1] (DanceGRPO's timestep subset).", DefaultValueFactory = _ => defaults.TrainedStepFraction },
            nameof(EditorGrpoOptions.TrainedStepFraction));
        shareNoise = Flags.Sets(new Option<bool>("--share-initial-noise") { Description = "A group's edits share their initial noise (DanceGRPO), so rewards compare the policy's steps, not its starts (--share-initial-noise false: each draws its own).", DefaultValueFactory = _ => defaults.ShareInitialNoise },
            nameof(EditorGrpoOptions.ShareInitialNoise));
        Command = new Command("editor-grpo", "Train an editor with Reflection-GRPO (DDPO / Flow-GRPO): its DDIM chain with eta > 0 is the policy (the learned editor's, or with --chain inpaint the training-free editor's region chain on a copy of the Diffuser); G edits per (image, instruction) from loop rollouts on training prompts (the loop's Actor writes the instructions), rewarded by the Checker's reading that the instruction holds and the other objects stayed, with the starting weights as the KL's reference. Ctrl+C or SIGTERM saves a checkpoint and stops; --resume continues.");
        filterPool = Flags.Sets(new Option<bool>("--filter-pool") { Description = "Score every (image, instruction) once with the starting weights (G edits) and train only on those whose edits earn different rewards (DAPO's dynamic sampling, once, up front): a pair whose edits all earn one reward gives no advantage.", DefaultValueFactory = _ => defaults.FilterPool },
            nameof(EditorGrpoOptions.FilterPool));
        // --strength is the loop's (the rollouts' training-free editor) and, with --chain inpaint, the chain's: a run's option too.
        Flags.Sets(Setup.Strength, nameof(EditorGrpoOptions.Inpainting));
        foreach (var option in Flags.All.Concat(Setup.All).Distinct()) Command.Options.Add(option);
        Command.SetAction((result, ct) => TrainGrpoCommand.Start(Name, () => Prepare(result), prepared => RunAsync(result, prepared, ct)));
    }

    public Command Command { get; }
    public GrpoFlags Flags { get; }
    public LoopSetup Setup { get; } = new();

    /// <summary>The run's options (the run folder's for --resume) and where its pairs come from, with every file it reads and writes checked.</summary>
    public (EditorGrpoOptions Options, TrainGrpoCommand.Rollouts Rollouts) Prepare(ParseResult result)
    {
        var defaults = new EditorGrpoOptions();
        EditorGrpoOptions options;
        if (Flags.Saved(result, EditorGrpoTrainer.ReadRun) is { } saved) options = saved with { Run = Flags.Resumed(result, saved.Run) };
        else if (result.GetValue(chain) == Inpaint)
        {
            if (new Option[] { samplingSteps, eta, guidance, imageGuidance }.FirstOrDefault(o => result.GetResult(o) is { Implicit: false }) is { } given)
                throw new CommandLineException($"{given.Name}: sets the learned editor's chain; --chain {Inpaint} trains the training-free editor's (20 steps, guidance 3, eta 1; --sampling-strength sets its drawing passes' strength)");
            // The drawing passes' strength while training may differ from the loop's (--strength, which the rollouts use).
            var loop = Setup.EditorOptions(result);
            var inpainting = result.GetResult(samplingStrength) is { Implicit: false } ? loop with { Strength = result.GetValue(samplingStrength) } : loop;
            options = new EditorGrpoOptions
            {
                Chain = EditorChain.Inpaint, Inpainting = inpainting,
                Grpo = Flags.Grpo(result, defaults.Grpo) with { MaxCompletionLength = InpaintPolicy.MaxStepsOf(inpainting) },
                Run = Flags.Run(result, defaults.Run),
                TrainedStepFraction = result.GetValue(fraction), ShareInitialNoise = result.GetValue(shareNoise), FilterPool = result.GetValue(filterPool),
                TrainingPrompts = result.GetValue(Flags.Prompts), RolloutRounds = result.GetValue(Flags.Rounds),
            };
        }
        else
        {
            var steps = result.GetValue(samplingSteps);
            options = new EditorGrpoOptions
            {
                // A step of the chain is a token of the loss: the longest completion is the chain (at least 1, so that a bad
                // --sampling-steps is reported by the sampler's own check).
                Grpo = Flags.Grpo(result, defaults.Grpo) with { MaxCompletionLength = Math.Max(1, steps) },
                Run = Flags.Run(result, defaults.Run),
                Sampling = defaults.Sampling with
                {
                    Steps = steps, Strength = result.GetValue(samplingStrength), Eta = result.GetValue(eta),
                    GuidanceScale = result.GetValue(guidance), ImageGuidanceScale = result.GetValue(imageGuidance),
                },
                TrainedStepFraction = result.GetValue(fraction), ShareInitialNoise = result.GetValue(shareNoise), FilterPool = result.GetValue(filterPool),
                TrainingPrompts = result.GetValue(Flags.Prompts), RolloutRounds = result.GetValue(Flags.Rounds),
            };
        }
        Flags.Checked(options.Validate);
        // The chain of the run (a resumed run's own, not --chain's default) decides the rollouts' editor when --editor is not given.
        Setup.ImplicitEditor = _ => options.Chain == EditorChain.Inpaint ? LoopSetup.TrainingFree : LoopSetup.Learned;
        var start = options.Chain == EditorChain.Inpaint ? TrainGrpoCommand.PolicyStart.Diffuser : TrainGrpoCommand.PolicyStart.Editor;
        return (options, TrainGrpoCommand.CheckFiles(result, Flags, Setup, options.Run, options.TrainingPrompts, options.RolloutRounds, EditorGrpoTrainer.CheckpointPath("", options.Chain), start));
    }

    Task<int> RunAsync(ParseResult result, (EditorGrpoOptions Options, TrainGrpoCommand.Rollouts Rollouts) run, CancellationToken ct)
    {
        var options = run.Options;
        var load = options.Chain == EditorChain.Inpaint ? (Func<LoopSetup.Components, DiffuserCheckpoint>)(_ => LoopSetup.LoadDiffuser(result.GetValue(Setup.Diffuser)!.FullName, Setup.Diffuser.Name))
            : _ => LoadEditor(Setup.EditorCheckpointPath(result));
        return TrainGrpoCommand.WithModelsAsync(Name, Setup, result, load,
            (components, policy, reference) => TrainGrpoCommand.TrainOnRolloutsAsync(Name, components, options.Run, run.Rollouts,
                async states =>
                {
                    var pairs = await RolloutStates.EditRequestsAsync(components.Actor, states, ct);
                    if (options.FilterPool) Console.Error.WriteLine($"Scoring {pairs.Count} pairs x {options.Grpo.NumGenerations} edits to keep those whose edits differ ...");
                    return new EditorGrpoTrainer(policy.Model, reference.Model, components.Checker, components.World, pairs, options, ct);
                },
                trainer => $"{options.Grpo.StatesPerBatch} (image, instruction) pairs x {options.Grpo.NumGenerations} edits, pool of {trainer.PoolSize} pairs"
                    + (options.FilterPool ? $" whose edits differ, of {((EditorGrpoTrainer)trainer).CollectedPoolSize}" : ""),
                _ => "", EditorGrpoTrainer.CheckpointPath(options.Run.OutputDir, options.Chain), ct));
    }

    // Refused now, not after the rollouts: a Diffuser checkpoint loads but cannot edit.
    static DiffuserCheckpoint LoadEditor(string path)
    {
        var model = DiffuserCheckpoint.Load(path);
        if (model.Config.ConditionChannels == 3) return model;
        model.Dispose();
        throw new CommandLineException($"--editor-checkpoint {path}: is a Diffuser, not an editor (it reads no source image); give an editor such as {ShapesWorldEditor.RelativePath}");
    }
}
