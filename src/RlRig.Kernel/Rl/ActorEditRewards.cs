using System.Runtime.CompilerServices;
using RlRig.Loop;

namespace RlRig.Rl;

/// <summary>
/// Actor-GRPO's rewards. Each sampled instruction is carried out by the editor on its state's image and the Checker
/// reflects on the result; the judge is never asked. The edits of a batch are made once and shared by both functions.
/// <list type="bullet">
/// <item><c>checker_gain</c>: the Checker's score after the edit minus before, in [-1, 1]; 0 where no edit was made
/// ("done", or an instruction that names nothing in the image): the image is unchanged.</item>
/// <item><c>validity</c>: -1 where the instruction does not parse or the editor cannot carry it out (it names no object
/// of the image, or nothing can be placed as asked), and where it is "done" on an image the Checker finds wrong; else 0.
/// Without it such an instruction scores the same as "done" (no change), and the policy would learn nothing against
/// writing text the loop has to throw away. "Done" is counted because otherwise it is the safe way out: a GRPO Actor
/// trained for 200 steps when "done" scored 0 wrote it on 433 of 1,353 unsatisfied images of the evaluation loop and
/// stopped there (data/shapes-world/loop/results.md).</item>
/// </list>
/// </summary>
/// <param name="proposalOf">The instruction a sample stands for.</param>
/// <param name="seedOf">The edit's seed for sample i of the batch (a trainer derives it from its step for exact resume).</param>
public sealed class ActorEditRewards<TSample>(IChecker checker, IInverseDiffuser editor, Func<TSample, ActorProposal> proposalOf, Func<int, int> seedOf)
{
    readonly ConditionalWeakTable<IReadOnlyList<TSample>, Task<IReadOnlyList<EditResult>>> made = [];

    /// <summary>What happened to one sample's instruction: whether it was valid, and the Checker's gain.</summary>
    public sealed record EditResult(bool Valid, double Gain, int Nfe, string? Failure);

    public RewardFunction<ActorState, TSample> CheckerGain => new("checker_gain", async (states, samples, ct) =>
        [.. (await EditsAsync(states, samples, ct).ConfigureAwait(false)).Select(e => (double?)e.Gain)]);

    public RewardFunction<ActorState, TSample> Validity => new("validity", async (states, samples, ct) =>
        [.. (await EditsAsync(states, samples, ct).ConfigureAwait(false)).Select(e => (double?)(e.Valid ? 0.0 : -1.0))]);

    /// <summary>The edits of a batch, made on the first call for that batch and shared after.</summary>
    public Task<IReadOnlyList<EditResult>> EditsAsync(IReadOnlyList<ActorState> states, IReadOnlyList<TSample> samples, CancellationToken cancellationToken) =>
        made.GetValue(samples, s => MakeAsync(states, s, cancellationToken));

    async Task<IReadOnlyList<EditResult>> MakeAsync(IReadOnlyList<ActorState> states, IReadOnlyList<TSample> samples, CancellationToken cancellationToken)
    {
        if (states.Count != samples.Count) throw new ArgumentException($"{states.Count} states for {samples.Count} samples; give the state of each sample");
        var proposals = samples.Select(proposalOf).ToList();
        var results = new EditResult[samples.Count];
        var editable = new List<int>();
        for (var i = 0; i < samples.Count; i++)
        {
            switch (proposals[i].Instruction)
            {
                case InvalidEdit bad: results[i] = new EditResult(false, 0, 0, $"the instruction does not parse: {bad.Reason}"); break;
                case NoEdit:
                    results[i] = states[i].Reflection.IsSatisfied ? new EditResult(true, 0, 0, null)
                        : new EditResult(false, 0, 0, "the Actor proposes no edit on an image the Checker finds wrong");
                    break;
                default: editable.Add(i); break;
            }
        }
        if (editable.Count == 0) return results;
        var outcomes = await editor.EditAsync([.. editable.Select(i => new EditRequest(states[i].Image, proposals[i].Instruction, states[i].Reflection, seedOf(i)))], cancellationToken).ConfigureAwait(false);
        try
        {
            var applied = Enumerable.Range(0, editable.Count).Where(k => outcomes[k].Applied).ToList();
            var after = applied.Count == 0 ? [] : await checker.ReflectAsync([.. applied.Select(k => outcomes[k].Image)], [.. applied.Select(k => states[editable[k]].Target)], cancellationToken).ConfigureAwait(false);
            for (var k = 0; k < editable.Count; k++)
            {
                var i = editable[k];
                var a = applied.IndexOf(k);
                results[i] = a >= 0 ? new EditResult(true, after[a].Score - states[i].Reflection.Score, outcomes[k].Nfe, null)
                    : new EditResult(false, 0, outcomes[k].Nfe, outcomes[k].Failure);
            }
        }
        finally
        {
            foreach (var o in outcomes) o.Image.Dispose();
        }
        return results;
    }
}
