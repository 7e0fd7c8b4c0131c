using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using RlRig.Loop;
using RlRig.Loop.Actors;
using RlRig.Rl;
using RlRig.World;

namespace RlRig.Cli.Commands;

/// <summary>
/// <c>rlrig train actor-grpo</c> and <c>rlrig train editor-grpo</c>: Reflection-GRPO on the learned Actor and on the
/// learned editor. What they share is here: how the action starts, the rollouts that make the pool, the progress line,
/// the provenance in the manifest and the closing line.
/// </summary>
static class TrainGrpoCommand
{
    public static Command ActorGrpo() => new ActorGrpoCommand().Command;

    public static Command EditorGrpo() => new EditorGrpoCommand().Command;

    /// <summary>
    /// The action of a GRPO command: <paramref name="prepare"/> checks everything it can before any model loads (a
    /// problem is one line and exit 2), then the run goes on a long-running thread of its own, because System.CommandLine
    /// installs its Ctrl+C handler only once the action has returned its task.
    /// </summary>
    public static Task<int> Start<T>(string name, Func<T> prepare, Func<T, Task<int>> run)
    {
        T prepared;
        try { prepared = prepare(); }
        catch (Exception e) when (CommandErrors.IsUserFacing(e)) { return Task.FromResult(CommandErrors.Report(name, e)); }
        return Task.Factory.StartNew(() => run(prepared), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
    }

    /// <summary>
    /// Where a GRPO run's states come from: <paramref name="Prompts"/> training prompts, each rolled out for
    /// <paramref name="Rounds"/> edit rounds; and the checkpoint the policy starts from (<paramref name="InitPath"/>), whose
    /// hash the manifest records.
    /// </summary>
    public sealed record Rollouts(int Prompts, int Rounds, string EvalSetPath, string? InitPath = null);

    /// <summary>Where a GRPO run's policy starts: the Actor's checkpoint, the editor's, or the Diffuser (editor-GRPO's inpainting chain).</summary>
    public enum PolicyStart { Actor, Editor, Diffuser }

    /// <summary>
    /// The files a GRPO run reads and writes, checked before any model loads: the evaluation set, the loop's models and
    /// the policy's start (<paramref name="start"/>), and the run folder with the inference checkpoint
    /// <paramref name="checkpoint"/>, its manifest and the training state.
    /// </summary>
    public static Rollouts CheckFiles(ParseResult result, GrpoFlags flags, LoopSetup setup, GrpoRunOptions run, int prompts, int rounds, string checkpoint, PolicyStart start)
    {
        var evalSet = flags.EvalSetPath(result);
        setup.RequireFiles(result, actor: start == PolicyStart.Actor, editor: start == PolicyStart.Editor);
        CommandInput policy = start switch
        {
            PolicyStart.Actor => new(setup.ActorCheckpointPath(result), "--actor-checkpoint"),
            PolicyStart.Editor => new(setup.EditorCheckpointPath(result), "--editor-checkpoint"),
            _ => new(result.GetValue(setup.Diffuser)!.FullName, setup.Diffuser.Name),
        };
        var name = Path.GetFileName(checkpoint);
        OutputPolicy.RequireFolder(run.OutputDir, "--out", [name, name + ".manifest.json", Path.GetFileName(GrpoRun<ActorState, ActorSample>.TrainingStatePath(""))], ["tensorboard"],
            [.. setup.Inputs(result), policy, new CommandInput(evalSet, "--eval-set")]);
        return new Rollouts(prompts, rounds, evalSet, policy.Path is { } path ? Path.GetFullPath(path) : null);
    }

    /// <summary>
    /// Loads the loop's models and two copies of the policy's start (<paramref name="load"/>: the policy, trained in
    /// place, and the KL's frozen reference), then runs <paramref name="train"/>; a model that cannot be read is one line.
    /// </summary>
    public static async Task<int> WithModelsAsync<TPolicy>(string name, LoopSetup setup, ParseResult result, Func<LoopSetup.Components, TPolicy> load,
        Func<LoopSetup.Components, TPolicy, TPolicy, Task<int>> train) where TPolicy : class, IDisposable
    {
        LoopSetup.Components? components = null;
        TPolicy? policy = null, reference = null;
        try
        {
            RlRig.Torch.TorchRuntime.EnsureLoaded();
            components = setup.Load(result);
            policy = load(components);
            reference = load(components);
        }
        catch (Exception e) when (CommandErrors.IsUserFacing(e))
        {
            reference?.Dispose();
            policy?.Dispose();
            components?.Dispose();
            return CommandErrors.Report(name, e);
        }
        using (components)
        using (policy)
        using (reference)
            return await train(components, policy, reference);
    }

    /// <summary>
    /// Runs the loop of <paramref name="components"/> on training prompts (never the evaluation set) for the states,
    /// builds the trainer on them (<paramref name="build"/>), trains with a progress line, records the provenance in the
    /// checkpoint's manifest when the run is complete, and says where the checkpoint is. Ctrl+C or SIGTERM while
    /// training saves and stops (exit 0, "continue with --resume"); while collecting, nothing is written (exit 130).
    /// </summary>
    /// <param name="describe">The batch and the pool, for the line that opens training.</param>
    /// <param name="extra">The trainer's own figures on the progress line, each starting with two spaces.</param>
    public static async Task<int> TrainOnRolloutsAsync(string name, LoopSetup.Components components, GrpoRunOptions run, Rollouts rollouts,
        Func<IReadOnlyList<ActorState>, Task<IGrpoPoolTrainer>> build, Func<IGrpoPoolTrainer, string> describe, Func<GrpoProgress, string> extra,
        string checkpoint, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        // The rollouts too: libtorch's default threads made collecting 16 states take 77 s on the shared 2 cores.
        if (run.NumThreads > 0) TorchSharp.torch.set_num_threads(run.NumThreads);
        // The code that trains is the code at the start: later commits in the same checkout must not be credited.
        var commit = TrainCommand.GitCommit();
        IReadOnlyList<ActorState> states;
        try { states = await CollectStatesAsync(components, rollouts, run.Seed, ct); }
        catch (OperationCanceledException) { return Interrupted(name); }
        try
        {
            IGrpoPoolTrainer trainer;
            try { trainer = await build(states); }
            catch (OperationCanceledException) { return Interrupted(name); }
            catch (Exception e) when (CommandErrors.IsUserFacing(e)) { return CommandErrors.Report(name, e); }
            using (trainer)
            {
                Console.Error.WriteLine($"Collected in {clock.Elapsed:hh\\:mm\\:ss}. Training {run.TotalSteps} steps ({describe(trainer)}) from step {trainer.Step} into {run.OutputDir}");
                GrpoProgress? last = null;
                await foreach (var p in trainer.TrainAsync(ct))
                {
                    last = p;
                    if (Console.IsErrorRedirected && p.Step % 10 != 0 && p.Step != p.TotalSteps && p.CheckpointPath is null) continue;
                    Console.Error.Write(ProgressLine(p, extra(p)));
                    if (Console.IsErrorRedirected) Console.Error.WriteLine();
                }
                Console.Error.WriteLine();
                var stopped = trainer.Step < run.TotalSteps;
                // GRPO's learning rate is constant and a step's seeds derive from its index, so a checkpoint stopped at step N is what
                // --steps N gives: it is a result, and its manifest says how it was made.
                TrainCommand.RecordProvenance(checkpoint, clock.Elapsed, run.Resume, commit, stopped ? trainer.Step : null);
                TrainCommand.RecordInit(checkpoint, rollouts.InitPath);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{(stopped ? "Stopped" : "Finished")} at step {trainer.Step} after {clock.Elapsed:hh\\:mm\\:ss}; last reward {last?.Reward:F3}; checkpoint {checkpoint}{(stopped ? " (continue with --resume)" : "")}"));
                return ExitCodes.Ok;
            }
        }
        finally { RolloutStates.Dispose(states); }
    }

    /// <summary>
    /// The states a GRPO run learns on: the loop of <paramref name="components"/> run on <see cref="Rollouts.Prompts"/>
    /// training prompts (never one of the evaluation set, nor of <paramref name="alsoExcluded"/>), all drawn from
    /// <paramref name="seed"/>. The caller disposes them.
    /// </summary>
    public static Task<IReadOnlyList<ActorState>> CollectStatesAsync(LoopSetup.Components components, Rollouts rollouts, long seed, CancellationToken ct,
        IEnumerable<RlRig.SceneGraphs.SceneGraph>? alsoExcluded = null)
    {
        var prompts = RolloutStates.TrainingPrompts(components.World, EvaluationSet.Read(rollouts.EvalSetPath).Concat(alsoExcluded ?? []), rollouts.Prompts, (int)seed);
        Console.Error.WriteLine($"Collecting states: {rollouts.Prompts} prompts, {rollouts.Rounds} rollout rounds each ...");
        var loop = new GenerateReflectEditLoop(components.Diffuser, components.Checker, components.Actor, components.Editor, new LoopOptions { MaxRounds = rollouts.Rounds });
        // Collecting takes minutes (16 for 300 prompts on the shared 2 cores), so it says how far it is.
        var clock = Stopwatch.StartNew();
        var progress = new Progress<int>(done => Console.Error.Write(
            $"\r  {done}/{prompts.Count} prompts rolled out, {clock.Elapsed:hh\\:mm\\:ss}{(Console.IsErrorRedirected || done == prompts.Count ? "\n" : "")}"));
        return RolloutStates.CollectAsync(loop, prompts, unchecked((int)seed * 100_003), cancellationToken: ct, progress: progress);
    }

    static int Interrupted(string name)
    {
        Console.Error.WriteLine($"{name}: interrupted while collecting states; nothing was trained");
        return ExitCodes.Interrupted;
    }

    /// <summary>The progress line (rewritten in place on a terminal): TRL's figures, the speed and the time left.</summary>
    public static string ProgressLine(GrpoProgress p, string extra) => string.Create(CultureInfo.InvariantCulture,
        $"\rstep {p.Step}/{p.TotalSteps}  reward {p.Reward:F3} ± {p.RewardStd:F3}{extra}  kl {p.Kl:G3}  clip {p.ClipRatio:P1}  zero-std {p.FracRewardZeroStd:P0}  {p.StepsPerSecond:F3} steps/s  ETA {p.Eta:hh\\:mm\\:ss}   ");
}
