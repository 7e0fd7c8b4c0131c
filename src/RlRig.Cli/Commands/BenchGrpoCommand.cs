using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using RlRig.Diffusion;
using RlRig.Loop;
using RlRig.Loop.Actors;
using RlRig.Rl;
using RlRig.World;

namespace RlRig.Cli.Commands;

/// <summary>
/// <c>rlrig bench actor-grpo</c> and <c>rlrig bench editor-grpo</c>: memory over a long run of the real GRPO trainers with
/// the committed models, on a small pool of states from loop rollouts on training prompts, at a small group size, so that
/// a thousand steps take minutes on one core.
/// </summary>
static class BenchGrpoCommand
{
    const int Seed = 0, StatesPerStep = 2, WarmupSteps = 20;

    // The flags every GRPO bench takes; the loop's components come from LoopSetup, as train actor-grpo's do.
    sealed class Flags(int defaultGenerations)
    {
        public LoopSetup Setup { get; } = new();
        public Option<int> Steps { get; } = new Option<int>("--flat-steps") { Description = "GRPO steps of the memory run, after 20 warm-up steps.", DefaultValueFactory = _ => 1000 }.InRange(1, 10_000_000);
        public Option<int> Generations { get; } = new Option<int>("--num-generations") { Description = $"G: samples per state ({StatesPerStep} states a step).", DefaultValueFactory = _ => defaultGenerations }.InRange(2, 64);
        public Option<int> Prompts { get; } = new Option<int>("--prompts") { Description = "Training prompts whose loop rollouts (1 edit round each) make the pool.", DefaultValueFactory = _ => 8 }.InRange(StatesPerStep, 10_000);
        public Option<FileInfo?> Output { get; } = new("--out") { Description = "Write the figures as JSON." };

        /// <summary>The recipe's algorithm at this bench's size: G samples for each of <see cref="StatesPerStep"/> states.</summary>
        public GrpoOptions Algorithm(GrpoOptions recipe, ParseResult result) =>
            recipe with { NumGenerations = result.GetValue(Generations), GenerationBatchSize = result.GetValue(Generations) * StatesPerStep };

        /// <summary>The recipe's logging and checkpoints, with the bench's seed and one torch thread.</summary>
        public static GrpoRunOptions RunOf(GrpoRunOptions recipe) => recipe with { Seed = Seed, NumThreads = 1 };

        public Command Command(string name, string description)
        {
            var command = new Command(name, description) { Steps, Generations, Prompts, Output };
            foreach (var option in Setup.All) command.Options.Add(option);
            return command;
        }
    }

    public static Command ActorGrpo()
    {
        var flags = new Flags(defaultGenerations: 4);
        // The rollouts are the policy's own, as train actor-grpo makes them.
        flags.Setup.Actor.DefaultValueFactory = _ => "learned";
        var command = flags.Command("actor-grpo",
            "Actor-GRPO with the committed Actor (policy and reference), Diffuser, Checker and editor: RSS and live tensors over a long run taken as train actor-grpo takes it (TensorBoard every step, a checkpoint every 25), flat or not.");
        command.SetAction((result, ct) => Run("rlrig bench actor-grpo", flags, result, [new CommandInput(flags.Setup.ActorCheckpointPath(result), "--actor-checkpoint")], async components =>
        {
            var actorPath = flags.Setup.ActorCheckpointPath(result);
            using var policy = LearnedActor.Load(actorPath, components.World);
            using var reference = LearnedActor.Load(actorPath, components.World);
            var recipe = new ActorGrpoOptions();
            var options = recipe with { Grpo = flags.Algorithm(recipe.Grpo, result), Run = Flags.RunOf(recipe.Run), TrainingPrompts = result.GetValue(flags.Prompts), RolloutRounds = 1 };
            var states = await TrainGrpoCommand.CollectStatesAsync(components, new(options.TrainingPrompts, options.RolloutRounds, EvaluationSet.RelativePath), Seed, ct);
            return OnPool(states, states, pool => $"{pool.Count} states from {options.TrainingPrompts} training prompts; {StatesPerStep} states x G = {options.Grpo.NumGenerations} instructions a step",
                pool => GrpoBenchmarks.ActorMemoryFlatness(policy, reference, components.Checker, components.Editor, pool, options, result.GetValue(flags.Steps), WarmupSteps,
                    BenchCommand.MemoryProgress()));
        }));
        return command;
    }

    public static Command EditorGrpo()
    {
        var flags = new Flags(defaultGenerations: 2);
        // The pairs are the rule-based Actor's instructions carried out by the learned editor: most of them apply, so the pool is not empty.
        flags.Setup.Editor.DefaultValueFactory = _ => "learned";
        var command = flags.Command("editor-grpo",
            "Editor-GRPO with the committed editor (policy and reference), Diffuser and Checker: RSS and live tensors over a long run taken as editor-GRPO's trainer takes it (TensorBoard every step, a checkpoint every 25), flat or not.");
        string EditorPath(ParseResult result) => result.GetValue(flags.Setup.EditorCheckpoint)!.FullName;
        command.SetAction((result, ct) => Run("rlrig bench editor-grpo", flags, result, [new CommandInput(EditorPath(result), "--editor-checkpoint")], async components =>
        {
            using var policy = DiffuserCheckpoint.Load(EditorPath(result));
            using var reference = DiffuserCheckpoint.Load(EditorPath(result));
            var recipe = new EditorGrpoOptions();
            var options = recipe with { Grpo = flags.Algorithm(recipe.Grpo, result), Run = Flags.RunOf(recipe.Run), TrainingPrompts = result.GetValue(flags.Prompts), RolloutRounds = 1 };
            // As train editor-grpo makes its pairs: the loop's Actor asked once on each collected state.
            var states = await TrainGrpoCommand.CollectStatesAsync(components, new(options.TrainingPrompts, options.RolloutRounds, EvaluationSet.RelativePath), Seed, ct);
            return OnPool(states, await RolloutStates.EditRequestsAsync(components.Actor, states, ct), pool => $"{pool.Count} (image, instruction) pairs from {options.TrainingPrompts} training prompts; {StatesPerStep} pairs x G = {options.Grpo.NumGenerations} edits a step, {options.Sampling.Steps}-step chain at strength {options.Sampling.Strength}",
                pool => GrpoBenchmarks.EditorMemoryFlatness(policy.Model, reference.Model, components.Checker, components.World, pool, options, result.GetValue(flags.Steps), WarmupSteps,
                    BenchCommand.MemoryProgress()));
        }));
        return command;
    }

    // Says what the pool holds, measures on it, and frees the states' images (a pool of edit requests shares them).
    static MemoryFlatnessResult OnPool<T>(IReadOnlyList<ActorState> states, IReadOnlyList<T> pool, Func<IReadOnlyList<T>, string> describe,
        Func<IReadOnlyList<T>, MemoryFlatnessResult> measure)
    {
        try
        {
            Console.Error.WriteLine($"Pool: {describe(pool)}");
            return measure(pool);
        }
        finally { RolloutStates.Dispose(states); }
    }

    static Task<int> Run(string name, Flags flags, ParseResult result, CommandInput[] policies, Func<LoopSetup.Components, Task<MemoryFlatnessResult>> measure)
    {
        try
        {
            // The policy and the evaluation set (whose prompts the pool must avoid) are refused up front, not after the models load.
            CommandInput[] inputs = [.. policies, new CommandInput(EvaluationSet.RelativePath, "the evaluation set")];
            foreach (var input in inputs)
                if (CommandFiles.ProblemWithInput(input.Path!, input.Role) is { } problem) throw new CommandLineException(problem);
            if (result.GetValue(flags.Output) is { } outFile) OutputPolicy.RequireFile(outFile.ToString(), "--out", [.. inputs, .. flags.Setup.Inputs(result)]);
        }
        catch (Exception e) when (CommandErrors.IsUserFacing(e)) { return Task.FromResult(CommandErrors.Report(name, e)); }
        // One thread owns the models and the dispose scopes, as the trainers ask.
        return Task.Factory.StartNew(async () =>
        {
            LoopSetup.Components components;
            try
            {
                RlRig.Torch.TorchRuntime.EnsureLoaded();
                TorchSharp.torch.set_num_threads(1);
                components = flags.Setup.Load(result);
            }
            catch (Exception e) when (CommandErrors.IsUserFacing(e)) { return CommandErrors.Report(name, e); }
            using (components)
            {
                var clock = Stopwatch.StartNew();
                var flat = await measure(components);
                var seconds = clock.Elapsed.TotalSeconds;
                Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{flat.WarmupSteps + flat.Steps} steps in {seconds:F0} s, with the pool's rollouts ({(flat.WarmupSteps + flat.Steps) / seconds:F2} steps/s)"));
                return BenchCommand.ReportMemory(name, flat, result.GetValue(flags.Output), new { seconds, memory = flat });
            }
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
    }
}
