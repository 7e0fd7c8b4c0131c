using RlRig.Metrics;
using RlRig.SceneGraphs;
using RlRig.World;
using static TorchSharp.torch;

namespace RlRig.Loop.Actors;

/// <summary>
/// How often each kind of error is put into a "detected" scene, after the Diffuser's (data/shapes-world/loop/results.md:
/// about one extra object per image, 12 % of objects missing or wrong, two thirds of relations broken). Weights are
/// relative; <see cref="ErrorCounts"/> gives the probability of 0, 1, 2, ... errors.
/// </summary>
public sealed record ActorErrorMix
{
    /// <summary>An object moved to a random free place (its relations may break). Defaults to 0.35.</summary>
    public double Move { get; init; } = 0.35;
    /// <summary>An object that is not in the target, half the time with the words of one that is. Defaults to 0.25.</summary>
    public double Extra { get; init; } = 0.25;
    /// <summary>A target object left out. Defaults to 0.15.</summary>
    public double Missing { get; init; } = 0.15;
    /// <summary>A target object of another colour. Defaults to 0.12.</summary>
    public double Colour { get; init; } = 0.12;
    /// <summary>A target object of the other size. Defaults to 0.13.</summary>
    public double Size { get; init; } = 0.13;
    /// <summary>Probabilities of 0, 1, 2, ... errors (a state with no error asks for "done"). Defaults to 0.15, 0.45, 0.25, 0.15.</summary>
    public IReadOnlyList<double> ErrorCounts { get; init; } = [0.15, 0.45, 0.25, 0.15];
}

/// <summary>A state and every instruction the world counts as correct for it (<see cref="ActorTrainingData.CorrectInstructions"/>).</summary>
public sealed record ActorExample(Reflection Reflection, IReadOnlyList<EditInstruction> Correct);

/// <summary>
/// Supervised data for the learned Actor, made exactly by the world: a target from the scene sampler (never an
/// evaluation-set scene), a "detected" scene made from the target's layout with errors of the kinds the Diffuser makes
/// (<see cref="ActorErrorMix"/>), the reflection <see cref="Reflection.Compare"/> writes for it, and the set of correct
/// instructions. Each example's target instruction is drawn uniformly from that set, so the policy keeps the entropy
/// that reinforcement learning needs. Beside them it can hold real states (<see cref="Label"/>: the Checker's readings
/// of rollout images with their correct sets), of which each batch takes a fixed share (<see cref="RealFraction"/>).
/// Nothing here reads the judge. All randomness comes from the trainer's generator.
/// </summary>
/// <remarks>
/// <para>An error of a reflection (<see cref="Errors"/>) is a missing target object, an extra detected object, a wrong
/// colour or size of a target object, or a target relation that does not hold (violated, or unplaceable for a missing
/// object). An instruction <b>fixes</b> a state (<see cref="Fixes"/>) when <see cref="SceneEdit.Apply"/> can carry it
/// out and the errors after it are a strict subset of the errors before: at least one error gone and none new. On a
/// satisfied state only "done" is correct.</para>
/// <para>The correct set is the candidates (<see cref="Candidates"/>) that fix the state: remove each extra object; add
/// each missing object by each of its target relations to a found object (near each found object when it has none);
/// recolour or resize each wrong attribute; for each violated relation, move either end relative to the other (both
/// directions) and, where <see cref="Placement.Find"/> gives a place satisfying all of the mover's relations to found
/// objects, to that place in the position form. References carry a position only where two objects fit the words, as
/// the rule-based Actor writes them.</para>
/// </remarks>
public sealed class ActorTrainingData
{
    readonly SceneSampler sampler;
    readonly HashSet<string> excluded;

    /// <param name="world">The world.</param>
    /// <param name="excluded">Target scenes never to produce (the evaluation set).</param>
    /// <param name="mix">The errors' mix; null is the default.</param>
    /// <param name="real">Real states with non-empty correct sets (<see cref="Label"/>); null or empty: synthetic only.</param>
    /// <param name="realFraction">The share of each batch taken from <paramref name="real"/>, in [0, 1]; 0 without real states.</param>
    /// <param name="preferRelativeMoves">Teach a move to a position only where no other instruction fixes the state (<see cref="Targets"/>).</param>
    public ActorTrainingData(WorldOptions world, IEnumerable<SceneGraph> excluded, ActorErrorMix? mix = null, IReadOnlyList<ActorExample>? real = null, double realFraction = 0,
        bool preferRelativeMoves = false)
    {
        sampler = new SceneSampler(world);
        this.excluded = excluded.Select(EvaluationSet.Key).ToHashSet();
        Mix = mix ?? new ActorErrorMix();
        Real = real ?? [];
        if (!(realFraction is >= 0 and <= 1)) throw new ArgumentOutOfRangeException(nameof(realFraction), realFraction, "the share of real states must be in [0, 1]");
        if (realFraction > 0 && Real.Count == 0) throw new ArgumentException($"a real share of {realFraction} needs real states; none were given", nameof(real));
        if (Real.FirstOrDefault(e => e.Correct.Count == 0) is { } unlabelled)
            throw new ArgumentException($"a real state has no correct instruction (Label leaves those out): {unlabelled.Reflection.Text}", nameof(real));
        RealFraction = realFraction;
        PreferRelativeMoves = preferRelativeMoves;
    }

    /// <summary>Whether a move to a position is taught only where nothing else in the correct set fixes the state.</summary>
    public bool PreferRelativeMoves { get; }

    /// <summary>
    /// The instructions a batch teaches for a state: its correct set, less the moves to a position when
    /// <paramref name="preferRelativeMoves"/> and another instruction is correct too. A position is two numbers the
    /// model must work out from the boxes, where a relative move leaves the placing to the editor; Actors taught every
    /// correct instruction wrote positions on 76 % of their moves in the loop, and 91 % of those helped nothing
    /// (data/shapes-world/loop/results.md).
    /// </summary>
    public static IReadOnlyList<EditInstruction> Targets(IReadOnlyList<EditInstruction> correct, bool preferRelativeMoves)
    {
        ArgumentNullException.ThrowIfNull(correct);
        if (!preferRelativeMoves) return correct;
        List<EditInstruction> named = [.. correct.Where(c => c is not MovePositionEdit)];
        return named.Count > 0 ? named : correct;
    }

    public WorldOptions World => sampler.Options;
    public ActorErrorMix Mix { get; }
    /// <summary>The real states batches draw from (with replacement).</summary>
    public IReadOnlyList<ActorExample> Real { get; }
    /// <summary>The share of each batch drawn from <see cref="Real"/>.</summary>
    public double RealFraction { get; }

    /// <summary>How many of a batch of <paramref name="batchSize"/> are real states: the share rounded to the nearest whole state.</summary>
    public int RealRows(int batchSize) => (int)Math.Round(RealFraction * batchSize, MidpointRounding.AwayFromZero);

    /// <summary>
    /// Real states as training examples: each reflection with its correct set (<see cref="CorrectInstructions"/>, the
    /// same exact labels as a synthetic state's), those where no single instruction fixes anything left out, and those
    /// that with their longest correct instruction would not fit <paramref name="contextLength"/> tokens (or that the
    /// Actor's words cannot write).
    /// </summary>
    public static IReadOnlyList<ActorExample> Label(WorldOptions world, IEnumerable<Reflection> reflections, int contextLength = int.MaxValue)
    {
        ArgumentNullException.ThrowIfNull(world);
        ArgumentNullException.ThrowIfNull(reflections);
        bool Fits(ActorExample e)
        {
            try { return ActorTokens.StateIds(e.Reflection, world).Length + e.Correct.Max(c => ActorTokens.InstructionIds(c).Length) <= contextLength; }
            catch (ArgumentException) { return false; }
        }
        return [.. reflections.Select(r => new ActorExample(r, CorrectInstructions(world, r))).Where(e => e.Correct.Count > 0 && Fits(e))];
    }

    /// <summary>A state with a non-empty correct set (states where nothing single-step fixes anything are redrawn).</summary>
    public ActorExample NextExample(Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        while (true)
        {
            var target = sampler.Sample(random);
            if (excluded.Contains(EvaluationSet.Key(target))) continue;
            var reflection = Reflection.Compare(target, Damage(target, random));
            var correct = CorrectInstructions(World, reflection);
            if (correct.Count > 0) return new ActorExample(reflection, correct);
        }
    }

    /// <summary>
    /// A training batch: each state followed by one of its correct instructions drawn uniformly (its references written
    /// as <paramref name="references"/> says: the trained model's <see cref="ActorConfig.References"/>), right-padded; the
    /// first <see cref="RealRows"/> rows are real states drawn uniformly with replacement, the rest synthetic.
    /// Tokens (B, T) int64, the mask of real tokens (B, T), and next-token targets (B, T) that are -100 (ignored)
    /// everywhere but the instruction's words and its end. The caller owns all three.
    /// </summary>
    public (Tensor Tokens, Tensor Valid, Tensor Targets) NextBatch(int batchSize, Generator generator, ActorReferences references = ActorReferences.Words)
    {
        // One draw from the generator seeds this batch: reproducible, and resumable from the generator's state.
        using var seed = randint(int.MaxValue, [1], generator: generator);
        var random = new Random((int)seed.item<long>());
        var rows = new List<(int[] State, int[] Instruction)>(batchSize);
        var real = RealRows(batchSize);
        while (rows.Count < batchSize)
        {
            var example = rows.Count < real ? Real[random.Next(Real.Count)] : NextExample(random);
            var targets = Targets(example.Correct, PreferRelativeMoves);
            rows.Add((ActorTokens.StateIds(example.Reflection, World), ActorTokens.InstructionIds(targets[random.Next(targets.Count)], example.Reflection, references, World)));
        }
        return Batch(rows);
    }

    /// <summary>
    /// The batch of given (state, instruction) token rows (<see cref="ActorTokens.StateIds"/>, <see cref="ActorTokens.InstructionIds(EditInstruction, Reflection, ActorReferences, WorldOptions)"/>),
    /// laid out as <see cref="NextBatch"/> lays them out.
    /// </summary>
    public static (Tensor Tokens, Tensor Valid, Tensor Targets) Batch(IReadOnlyList<(int[] State, int[] Instruction)> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var (batchSize, t) = (rows.Count, rows.Max(r => r.State.Length + r.Instruction.Length));
        var (ids, valid, targets) = (new long[batchSize * t], new bool[batchSize * t], Enumerable.Repeat(-100L, batchSize * t).ToArray());
        for (var b = 0; b < batchSize; b++)
        {
            var (state, instruction) = rows[b];
            var sequence = state.Concat(instruction).ToArray();
            for (var i = 0; i < sequence.Length; i++) (ids[b * t + i], valid[b * t + i]) = (sequence[i], true);
            // Position i predicts token i + 1: the loss covers the instruction's words and its end, not the state.
            for (var i = state.Length - 1; i < sequence.Length - 1; i++) targets[b * t + i] = sequence[i + 1];
        }
        return (tensor(ids, [batchSize, t]), tensor(valid, [batchSize, t]), tensor(targets, [batchSize, t]));
    }

    /// <summary>The target's layout with errors of the mix put in, as a Checker would report it (ids in reading order).</summary>
    public IReadOnlyList<SceneItem> Damage(SceneGraph target, Random random)
    {
        ArgumentNullException.ThrowIfNull(target);
        var items = target.Items.ToList();
        var count = Draw(Mix.ErrorCounts, random);
        double[] weights = [Mix.Move, Mix.Extra, Mix.Missing, Mix.Colour, Mix.Size];
        for (var e = 0; e < count; e++)
        {
            var i = random.Next(items.Count);
            var item = items[i];
            switch (Draw(weights, random))
            {
                case 0:
                    if (FreeBox(items.Where((_, j) => j != i), World.Side(item.Attributes[0] == WorldVocabulary.Large), random) is { } moved) items[i] = item with { Box = moved };
                    break;
                case 1:
                    var words = random.Next(2) == 0 ? WorldObject.From(item) : new WorldObject(WorldVocabulary.Shapes[random.Next(WorldVocabulary.Shapes.Count)],
                        WorldVocabulary.Colours[random.Next(WorldVocabulary.Colours.Count)], random.Next(2) == 1);
                    if (FreeBox(items, World.Side(words.IsLarge), random) is { } box) items.Add(words.ToItem(items.Max(it => it.Id) + 1, box));
                    break;
                case 2:
                    if (items.Count > 1) items.RemoveAt(i);
                    break;
                case 3:
                    var colours = WorldVocabulary.Colours.Where(c => c.Name != item.Attributes[1]).ToList();
                    items[i] = item with { Attributes = [item.Attributes[0], colours[random.Next(colours.Count)].Name] };
                    break;
                default:
                    var large = item.Attributes[0] != WorldVocabulary.Large;
                    var (x, y) = Placement.Centre(World, item.Box!);
                    items[i] = item with { Attributes = [large ? WorldVocabulary.Large : WorldVocabulary.Small, item.Attributes[1]], Box = Placement.BoxAt(World, x, y, World.Side(large)) };
                    break;
            }
        }
        return [.. items.OrderBy(it => it.Box!.Y).ThenBy(it => it.Box!.X).Select((it, id) => it with { Id = id })];
    }

    Box? FreeBox(IEnumerable<SceneItem> others, int side, Random random)
    {
        var boxes = others.Select(o => o.Box!).ToList();
        for (var attempt = 0; attempt < 50; attempt++)
        {
            var box = new Box(random.Next(World.CanvasSize - side + 1), random.Next(World.CanvasSize - side + 1), side, side);
            if (boxes.All(b => box.Gap(b) >= Placement.MinGap)) return box;
        }
        return null;
    }

    static int Draw(IReadOnlyList<double> weights, Random random)
    {
        var u = random.NextDouble() * weights.Sum();
        for (var i = 0; i < weights.Count; i++)
            if ((u -= weights[i]) < 0) return i;
        return weights.Count - 1;
    }

    /// <summary>The errors of a reflection as keys, comparable across an edit (target ids; detected ids, which <see cref="SceneEdit"/> keeps).</summary>
    public static IReadOnlySet<string> Errors(Reflection r)
    {
        ArgumentNullException.ThrowIfNull(r);
        var errors = new HashSet<string>();
        foreach (var id in r.Missing) errors.Add($"missing t{id}");
        foreach (var id in r.Extra) errors.Add($"extra d{id}");
        foreach (var e in r.WrongAttributes) errors.Add($"{e.Attribute} t{e.TargetId}");
        foreach (var rel in r.Violated.Select(v => v.Relation).Concat(r.Unplaceable)) errors.Add($"relation t{rel.SubjectId} {rel.Predicate} t{rel.ObjectId}");
        return errors;
    }

    /// <summary>
    /// Whether <paramref name="instruction"/> is right for the state: on a satisfied state, "done"; otherwise, applied by
    /// <see cref="SceneEdit.Apply"/>, it removes at least one error of <see cref="Errors"/> and adds none.
    /// </summary>
    public static bool Fixes(WorldOptions world, Reflection r, EditInstruction instruction)
    {
        ArgumentNullException.ThrowIfNull(r);
        ArgumentNullException.ThrowIfNull(instruction);
        if (r.IsSatisfied) return instruction is NoEdit;
        if (instruction is NoEdit or InvalidEdit) return false;
        if (SceneEdit.Apply(world, r.Detected.Items, instruction) is not { } after) return false;
        var (before, now) = (Errors(r), Errors(Reflection.Compare(r.Target, after)));
        return now.IsProperSubsetOf(before);
    }

    /// <summary>Every candidate instruction for a state (see the remarks), deduplicated by text, in a fixed order.</summary>
    public static IReadOnlyList<EditInstruction> Candidates(WorldOptions world, Reflection r)
    {
        ArgumentNullException.ThrowIfNull(world);
        ArgumentNullException.ThrowIfNull(r);
        if (r.IsSatisfied) return [new NoEdit()];
        ObjectRef Ref(SceneItem item) => RuleBasedActor.Reference(world, item);
        int Side(SceneItem item) => world.Side(item.Attributes[0] == WorldVocabulary.Large);
        var list = new List<EditInstruction>();
        foreach (var id in r.Extra) list.Add(new RemoveEdit(Ref(r.Detected.Item(id))));
        foreach (var id in r.Missing)
        {
            var obj = WorldObject.From(r.Target.Item(id));
            var anchors = RuleBasedActor.RelationsToFound(r, id).ToList();
            if (anchors.Count == 0) list.AddRange(r.Detected.Items.Select(d => new AddEdit(obj, SpatialRelationExtractor.Near, Ref(d))));
            else list.AddRange(anchors.Select(a => new AddEdit(obj, a.Constraint.Predicate, Ref(a.Item))));
        }
        foreach (var e in r.WrongAttributes)
        {
            var item = r.Detected.Item(e.DetectedId);
            list.Add(e.Attribute == "colour" ? new RecolourEdit(Ref(item), e.Expected) : new ResizeEdit(Ref(item), e.Expected));
        }
        foreach (var v in r.Violated)
        {
            var (s, o) = (r.DetectedFor(v.Relation.SubjectId)!, r.DetectedFor(v.Relation.ObjectId)!);
            list.Add(new MoveRelativeEdit(Ref(s), v.Relation.Predicate, Ref(o)));
            list.Add(new MoveRelativeEdit(Ref(o), Placement.Converse(v.Relation.Predicate), Ref(s)));
            foreach (var (moverId, mover) in new[] { (v.Relation.SubjectId, s), (v.Relation.ObjectId, o) })
            {
                var others = r.Detected.Items.Where(i => i.Id != mover.Id).Select(i => i.Box!).ToList();
                var constraints = RuleBasedActor.RelationsToFound(r, moverId).Select(c => c.Constraint).ToList();
                if (Placement.Find(world, Side(mover), mover.Box, others, constraints, representable: true) is not { } box) continue;
                var (x, y) = Placement.RoundedCentre(world, box);
                list.Add(new MovePositionEdit(Ref(mover), x, y));
            }
        }
        return [.. list.Select(i => RuleBasedActor.Disambiguate(i, r)).DistinctBy(i => i.ToText())];
    }

    /// <summary>The candidates that fix the state (<see cref="Fixes"/>): {"done"} on a satisfied state, possibly empty otherwise.</summary>
    public static IReadOnlyList<EditInstruction> CorrectInstructions(WorldOptions world, Reflection r) =>
        [.. Candidates(world, r).Where(i => Fixes(world, r, i))];
}
