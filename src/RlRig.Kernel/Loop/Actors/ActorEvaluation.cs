using System.Diagnostics;
using RlRig.World;

namespace RlRig.Loop.Actors;

/// <summary>How one way of choosing instructions does on the held-out states (fractions of all proposals).</summary>
/// <param name="Proposals">Instructions judged (states x samples per state).</param>
/// <param name="ValidRate">Parsed as an instruction of the edit language (ended by the end token).</param>
/// <param name="ExactMatchRate">In the state's correct set (<see cref="ActorTrainingData.CorrectInstructions"/>), by text.</param>
/// <param name="FixesRate">Fixes the state (<see cref="ActorTrainingData.Fixes"/>): applied by SceneEdit, at least one error gone and none new; "done" on a satisfied state.</param>
public sealed record ActorDecodingScore(int Proposals, double ValidRate, double ExactMatchRate, double FixesRate);

/// <summary>
/// The learned Actor on held-out states (drawn with a seed the training never uses): greedy decoding, sampling at
/// temperature 1 (G samples per state), the mean number of distinct instructions among the G samples, and the
/// rule-based Actor on the same states. The world (SceneEdit, the correct sets) is the measure; no judge, no image.
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

    /// <summary>Scores the Actor on <paramref name="states"/>; <paramref name="g"/> samples per state at temperature 1 (the Actor's other options kept).</summary>
    public static ActorEvaluationReport Evaluate(LearnedActor actor, IReadOnlyList<ActorExample> states, int g = 8, IProgress<string>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(actor);
        ArgumentNullException.ThrowIfNull(states);
        var clock = Stopwatch.StartNew();
        var world = actor.World;
        var reflections = states.Select(s => s.Reflection).ToList();
        progress?.Report("greedy decoding");
        var greedy = actor.Sample(reflections, 1, actor.Options with { Greedy = true });
        progress?.Report($"sampling {g} per state at temperature 1");
        var sampled = actor.Sample(reflections, g, actor.Options with { Greedy = false, Temperature = 1 });
        var rule = new RuleBasedActor(world);
        var ruleProposals = reflections.Select(r => new[] { rule.Act(r) }).ToList();
        return new ActorEvaluationReport(states.Count, states.Count(s => s.Reflection.IsSatisfied), states.Count == 0 ? 0 : states.Average(s => s.Correct.Count), g,
            Score(world, states, greedy.Select(x => x.Select(s => s.Proposal).ToList()).ToList()),
            Score(world, states, sampled.Select(x => x.Select(s => s.Proposal).ToList()).ToList()),
            states.Count == 0 ? 0 : sampled.Average(x => x.Select(s => s.Proposal.Text).Distinct().Count()),
            Score(world, states, ruleProposals),
            clock.Elapsed.TotalSeconds);
    }

    /// <summary>Validity, exact-match and fix rates of proposals (one list per state).</summary>
    public static ActorDecodingScore Score(WorldOptions world, IReadOnlyList<ActorExample> states, IReadOnlyList<IReadOnlyList<ActorProposal>> proposals)
    {
        int n = 0, valid = 0, exact = 0, fixes = 0;
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
            }
        }
        double Rate(int k) => n == 0 ? 0 : (double)k / n;
        return new ActorDecodingScore(n, Rate(valid), Rate(exact), Rate(fixes));
    }
}
