using RlRig.SceneGraphs;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace RlRig.Loop;

/// <summary>Options of <see cref="GenerateReflectEditLoop"/>. Immutable; vary with <c>with</c>.</summary>
public sealed record LoopOptions
{
    /// <summary>Most edit rounds after the generation (K). 0 is the Diffuser alone. Defaults to 3.</summary>
    public int MaxRounds { get; init; } = 3;

    /// <summary>
    /// Stop when an instruction does not parse or cannot be carried out. Defaults to true: the image is then unchanged,
    /// so a deterministic Actor would only repeat itself; a sampling policy may want to try again.
    /// </summary>
    public bool StopOnFailedEdit { get; init; } = true;

    public LoopOptions Validate()
    {
        if (MaxRounds is < 0 or > 32) throw new ArgumentOutOfRangeException(nameof(MaxRounds), MaxRounds, "rounds must be 0 to 32");
        return this;
    }
}

/// <summary>
/// One image of a trace: the generated image (round 0) or the image an edit made (round k), the Checker's reflection on
/// it, the instruction that produced it (none for round 0), why the edit failed when it did (the image is then the
/// previous one), and the denoiser evaluations it cost.
/// </summary>
public sealed record TraceRound(int Round, Image<Rgb24> Image, Reflection Reflection, ActorProposal? Proposal, string? EditFailure, int Nfe)
{
    public double Score => Reflection.Score;
}

/// <summary>
/// A run of the loop on one prompt: every round, the best one by the Checker's score (earliest on ties: not necessarily
/// the last), and the compute used. Owns its images.
/// </summary>
public sealed record LoopTrace(SceneGraph Target, int Seed, IReadOnlyList<TraceRound> Rounds) : IDisposable
{
    public int BestRound => Rounds.Select((r, i) => (r.Score, i)).OrderByDescending(x => x.Score).ThenBy(x => x.i).First().i;

    public TraceRound Best => Rounds[BestRound];

    /// <summary>Denoiser evaluations of the whole run (classifier-free guidance counts 2 per step).</summary>
    public int TotalNfe => Rounds.Sum(r => r.Nfe);

    /// <summary>Edit rounds made (rounds after the generation).</summary>
    public int EditRounds => Rounds.Count - 1;

    public void Dispose()
    {
        foreach (var r in Rounds) r.Image.Dispose();
    }
}

/// <summary>
/// RL-RIG's Generate-Reflect-Edit loop: Generate, then up to K times Reflect, stop if the Checker is satisfied, Act,
/// Edit. Prompts run in lockstep as one batch per component call; a prompt leaves the batch when it is done.
/// Cancellation is checked between component calls.
/// </summary>
public sealed class GenerateReflectEditLoop(IDiffuser diffuser, IChecker checker, IActor actor, IInverseDiffuser editor, LoopOptions? options = null)
{
    public LoopOptions Options { get; } = (options ?? new LoopOptions()).Validate();

    public async Task<IReadOnlyList<LoopTrace>> RunAsync(IReadOnlyList<GenerationRequest> requests, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(requests);
        if (requests.Count == 0) return [];
        var rounds = requests.Select(_ => new List<TraceRound>()).ToList();
        try
        {
            var generated = await diffuser.GenerateAsync(requests, cancellationToken);
            var reflections = await checker.ReflectAsync(generated.Select(g => g.Image).ToList(), requests.Select(r => r.Target).ToList(), cancellationToken);
            for (var i = 0; i < requests.Count; i++) rounds[i].Add(new TraceRound(0, generated[i].Image, reflections[i], null, null, generated[i].Nfe));
            var active = Enumerable.Range(0, requests.Count).Where(i => !reflections[i].IsSatisfied).ToList();
            for (var round = 1; round <= Options.MaxRounds && active.Count > 0; round++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var last = active.Select(i => rounds[i][^1]).ToList();
                var proposals = await actor.ActAsync(last.Select((r, j) => new ActorState(requests[active[j]].Target, r.Reflection, r.Image)).ToList(), cancellationToken);
                // "done" and text that does not parse cost no edit: the image stays, and the prompt stops.
                var editable = Enumerable.Range(0, active.Count).Where(j => proposals[j].Instruction is not (NoEdit or InvalidEdit)).ToList();
                // Components are never called with an empty batch (a model behind HTTP would be asked for nothing).
                var made = editable.Count == 0 ? [] : await editor.EditAsync(editable.Select(j =>
                    new EditRequest(last[j].Image, proposals[j].Instruction, last[j].Reflection, EditSeed(requests[active[j]].Seed, round))).ToList(), cancellationToken);
                var edits = Enumerable.Range(0, active.Count).Select(j => editable.IndexOf(j) is var e and >= 0 ? made[e]
                    : new EditOutcome(last[j].Image.Clone(), 0, proposals[j].Instruction is InvalidEdit bad ? $"the instruction does not parse: {bad.Reason}" : "the Actor proposes no edit")).ToList();
                var changed = Enumerable.Range(0, active.Count).Where(j => edits[j].Applied).ToList();
                var fresh = changed.Count == 0 ? [] : await checker.ReflectAsync(changed.Select(j => edits[j].Image).ToList(), changed.Select(j => requests[active[j]].Target).ToList(), cancellationToken);
                var next = new List<int>();
                for (var j = 0; j < active.Count; j++)
                {
                    var k = changed.IndexOf(j);
                    var reflection = k >= 0 ? fresh[k] : last[j].Reflection;
                    rounds[active[j]].Add(new TraceRound(round, edits[j].Image, reflection, proposals[j], edits[j].Failure, edits[j].Nfe));
                    var gaveUp = proposals[j].Instruction is NoEdit;
                    if (!reflection.IsSatisfied && !gaveUp && (edits[j].Applied || !Options.StopOnFailedEdit)) next.Add(active[j]);
                }
                active = next;
            }
        }
        catch
        {
            foreach (var r in rounds.SelectMany(r => r)) r.Image.Dispose();
            throw;
        }
        return requests.Select((r, i) => new LoopTrace(r.Target, r.Seed, rounds[i])).ToList();
    }

    // Each round's edit draws fresh noise, reproducibly from the prompt's seed.
    static int EditSeed(int seed, int round) => unchecked(seed * 7919 + round);
}
