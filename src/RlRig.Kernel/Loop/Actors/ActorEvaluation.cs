using System.Diagnostics;
using RlRig.World;

namespace RlRig.Loop.Actors;

/// <summary>How one way of choosing instructions does on the held-out states (fractions of all proposals).</summary>
/// <param name="Proposals">Instructions judged (states x samples per state).</param>
/// <param name="ValidRate">Parsed as an instruction of the edit language (ended by the end token).</param>
/// <param name="ExactMatchRate">In the state's correct set (<see cref="ActorTrainingData.CorrectInstructions"/>), by text.</param>
/// <param name="FixesRate">Fixes the state (<see cref="ActorTrainingData.Fixes"/>): applied by SceneEdit, at least one error gone and none new; "done" on a satisfied state.</param>
/// <param name="NotCarriedOutRate">An edit (parsed, not "done") that the image editor says it cannot carry out (no object
/// it names, no free place), as the loop counts its failed edits; null when no editor was asked.</param>
public sealed record ActorDecodingScore(int Proposals, double ValidRate, double ExactMatchRate, double FixesRate, double? NotCarriedOutRate = null);

/// <summary>
/// The learned Actor on held-out states (drawn with a seed the training never uses): greedy decoding, sampling at
/// temperature 1 (G samples per state), the mean number of distinct instructions among the G samples, and the
/// rule-based Actor on the same states. The world (SceneEdit, the correct sets) is the measure, and the image editor's
/// own plan says which edits it could not make; no judge, no image. The states are synthetic (<see cref="ActorEvaluation.HeldOut"/>)
/// or real (the Checker's readings on rollouts of held-out prompts, labelled by <see cref="ActorTrainingData.Label"/>).
/// </summary>
public sealed record ActorEvaluationReport(int States, int SatisfiedStates, double MeanCorrectSetSize, int G, ActorDecodingScore Greedy, ActorDecodingScore Sampled,
    double MeanDistinctOfG, ActorDecodingScore RuleBased, double Seconds);

public static class ActorEvaluation
{
    /// <summary>The held-out states: <paramref name="count"/> examples from <paramref name="data"/> with their own seed.</summary>
    public static IReadOnlyList<ActorExample> HeldOut(ActorTrainingData data, int count, int seed)
    {
        ArgumentNullException.ThrowIfNull(data);
        var random = new Random(seed);
        return [.. Enumerable.Range(0, count).Select(_ => data.NextExample(random))];
    }

    /// <summary>
    /// Scores the Actor on <paramref name="states"/>; <paramref name="g"/> samples per state at temperature 1 (the Actor's
    /// other options kept). <paramref name="editorFailure"/>: why the image editor could not carry out an instruction on a
    /// state, or null when it could (<see cref="Editors.TrainingFreeEditor.Plan"/>'s failure); without it the rate is not measured.
    /// </summary>
    public static ActorEvaluationReport Evaluate(LearnedActor actor, IReadOnlyList<ActorExample> states, int g = 8, IProgress<string>? progress = null,
        Func<EditInstruction, Reflection, string?>? editorFailure = null)
    {
        ArgumentNullException.ThrowIfNull(actor);
        ArgumentNullException.ThrowIfNull(states);
        var clock = Stopwatch.StartNew();
        var world = actor.World;
        var reflections = states.Select(s => s.Reflection).ToList();
        progress?.Report("greedy decoding");
        var greedy = Greedy(actor, states, editorFailure);
        progress?.Report($"sampling {g} per state at temperature 1");
        var sampled = actor.Sample(reflections, g, actor.Options with { Greedy = false, Temperature = 1 });
        var rule = new RuleBasedActor(world);
        var ruleProposals = reflections.Select(r => new[] { rule.Act(r) }).ToList();
        return new ActorEvaluationReport(states.Count, states.Count(s => s.Reflection.IsSatisfied), states.Count == 0 ? 0 : states.Average(s => s.Correct.Count), g,
            greedy,
            Score(world, states, sampled.Select(x => x.Select(s => s.Proposal).ToList()).ToList(), editorFailure),
            states.Count == 0 ? 0 : sampled.Average(x => x.Select(s => s.Proposal.Text).Distinct().Count()),
            Score(world, states, ruleProposals, editorFailure),
            clock.Elapsed.TotalSeconds);
    }

    /// <summary>The Actor decoding greedily (as the loop runs it) on <paramref name="states"/>, scored as <see cref="Score"/> scores.</summary>
    public static ActorDecodingScore Greedy(LearnedActor actor, IReadOnlyList<ActorExample> states, Func<EditInstruction, Reflection, string?>? editorFailure = null)
    {
        ArgumentNullException.ThrowIfNull(actor);
        ArgumentNullException.ThrowIfNull(states);
        var greedy = actor.Sample([.. states.Select(s => s.Reflection)], 1, actor.Options with { Greedy = true });
        return Score(actor.World, states, [.. greedy.Select(x => x.Select(s => s.Proposal).ToList())], editorFailure);
    }

    /// <summary>Validity, exact-match and fix rates of proposals (one list per state), and the share the editor could not carry out when <paramref name="editorFailure"/> is given.</summary>
    public static ActorDecodingScore Score(WorldOptions world, IReadOnlyList<ActorExample> states, IReadOnlyList<IReadOnlyList<ActorProposal>> proposals,
        Func<EditInstruction, Reflection, string?>? editorFailure = null)
    {
        int n = 0, valid = 0, exact = 0, fixes = 0, failed = 0;
        for (var i = 0; i < states.Count; i++)
        {
            var correct = states[i].Correct.Select(c => c.ToText()).ToHashSet();
            foreach (var p in proposals[i])
            {
                n++;
                if (p.Instruction is InvalidEdit) continue;
                valid++;
                if (correct.Contains(p.Instruction.ToText())) exact++;
                if (ActorTrainingData.Fixes(world, states[i].Reflection, p.Instruction)) fixes++;
                // "done" is no edit: the loop stops there and asks the editor nothing.
                if (p.Instruction is not NoEdit && editorFailure?.Invoke(p.Instruction, states[i].Reflection) is not null) failed++;
            }
        }
        double Rate(int k) => n == 0 ? 0 : (double)k / n;
        return new ActorDecodingScore(n, Rate(valid), Rate(exact), Rate(fixes), editorFailure is null ? null : Rate(failed));
    }
}
