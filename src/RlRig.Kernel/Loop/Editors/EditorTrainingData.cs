using RlRig.Diffusion;
using RlRig.Loop.Checkers;
using RlRig.SceneGraphs;
using RlRig.World;
using TorchSharp;
using static TorchSharp.torch;

namespace RlRig.Loop.Editors;

/// <summary>One supervised edit: the scene before, the instruction, and the scene the world says it makes (<see cref="SceneEdit.Apply"/>).</summary>
public sealed record EditExample(IReadOnlyList<SceneItem> Before, EditInstruction Instruction, IReadOnlyList<SceneItem> After);

/// <summary>
/// Endless training data for the learned editor: (after, instruction, before) triples that the world renders exactly. A
/// scene is sampled (<see cref="SceneSampler"/>, never one of the evaluation set), sometimes with a duplicate of one of
/// its objects so that references with a position occur; an instruction of one of the six kinds (move relative, move to
/// a position, recolour, resize, remove, add) is drawn, its objects named as the rule-based Actor names them (the words,
/// and the centre only when another object fits the same words); the after-scene is the world's exact effect. The before
/// image is damaged as the Checker's training renders are (<see cref="CheckerAugmentation"/>: ragged edges, noise, blur,
/// colour jitter) so that it looks like the Diffuser samples the editor edits in the loop; the after image is the clean
/// render. Nothing here reads the judge. All randomness comes from the trainer's generator.
/// </summary>
public sealed class EditorTrainingData : IConditionedImageTextDataset
{
    readonly SceneSampler sampler;
    readonly HashSet<string> excluded;

    /// <param name="world">The world.</param>
    /// <param name="excluded">Scenes never to start from (the evaluation set).</param>
    /// <param name="augmentation">How before images are damaged. Defaults to the Checker's (<see cref="CheckerAugmentation"/>'s defaults).</param>
    public EditorTrainingData(WorldOptions world, IEnumerable<SceneGraph> excluded, CheckerAugmentation? augmentation = null)
    {
        sampler = new SceneSampler(world);
        this.excluded = excluded.Select(EvaluationSet.Key).ToHashSet();
        Augmentation = augmentation ?? new CheckerAugmentation();
    }

    public WorldOptions World => sampler.Options;
    public CheckerAugmentation Augmentation { get; }

    /// <summary>Probability that a scene gets a duplicate of one of its objects before the instruction is drawn. 0.15.</summary>
    public const double DuplicateProbability = 0.15;

    /// <summary>The operations, drawn with equal probability.</summary>
    public enum Kind { MoveRelative, MovePosition, Recolour, Resize, Remove, Add }

    /// <summary>An instruction of <paramref name="kind"/> on a fresh scene, and its exact effect.</summary>
    public EditExample Draw(Random random, Kind kind)
    {
        while (true)
        {
            var scene = sampler.Sample(random);
            if (excluded.Contains(EvaluationSet.Key(scene))) continue;
            var items = scene.Items.ToList();
            if (random.NextDouble() < DuplicateProbability) AddDuplicate(items, random);
            if (Instruction(kind, items, random) is not { } instruction) continue;
            if (SceneEdit.Apply(World, items, instruction) is { } after) return new EditExample(items, instruction, after);
        }
    }

    /// <summary>An instruction of a kind drawn uniformly, on a fresh scene.</summary>
    public EditExample Draw(Random random) => Draw(random, (Kind)random.Next(Enum.GetValues<Kind>().Length));

    /// <inheritdoc />
    public (Tensor Images, IReadOnlyList<string> Prompts, Tensor Conditions) NextConditionedBatch(int batchSize, Generator generator)
    {
        // One draw from the generator seeds this batch: reproducible, and resumable from the generator's state.
        using var seed = randint(int.MaxValue, [1], generator: generator);
        var random = new Random((int)seed.item<long>());
        var size = World.CanvasSize;
        var (after, before) = (new float[batchSize * size * size * 3], new float[batchSize * size * size * 3]);
        var prompts = new List<string>(batchSize);
        for (var b = 0; b < batchSize; b++)
        {
            var example = Draw(random);
            CheckerTrainingData.Render(new SceneGraph(example.Before, []), World, Augmentation, random).CopyTo(before, b * size * size * 3);
            ShapeRenderer.RenderHwc(new SceneGraph(example.After, []), World).CopyTo(after, b * size * size * 3);
            prompts.Add(Prompt(example.Instruction));
        }
        using var scope = NewDisposeScope();
        Tensor Images(float[] hwc) => (tensor(hwc, [batchSize, size, size, 3]).permute(0, 3, 1, 2).contiguous() * 2 - 1).MoveToOuterDisposeScope();  // (B, 3, S, S) in [-1, 1]
        return (Images(after), prompts, Images(before));
    }

    /// <inheritdoc />
    public (Tensor Images, IReadOnlyList<string> Prompts) NextBatch(int batchSize, Generator generator)
    {
        var (images, prompts, conditions) = NextConditionedBatch(batchSize, generator);
        conditions.Dispose();
        return (images, prompts);
    }

    /// <summary>The text the editor reads for an instruction: its words (<see cref="EditTokens"/>), space-separated.</summary>
    public static string Prompt(EditInstruction instruction) => string.Join(' ', EditTokens.Encode(instruction));

    // A copy of one object (same words) at a free place near another: the situation where the Actor names a position.
    void AddDuplicate(List<SceneItem> items, Random random)
    {
        var copy = items[random.Next(items.Count)];
        var anchor = items[random.Next(items.Count)];
        var side = World.Side(copy.Attributes[0] == WorldVocabulary.Large);
        var predicate = WorldVocabulary.Predicates[random.Next(WorldVocabulary.Predicates.Count)];
        if (Placement.ForRelation(World, side, null, [.. items.Select(i => i.Box!)], predicate, anchor.Box!) is { } box)
            items.Add(copy with { Id = items.Max(i => i.Id) + 1, Box = box });
    }

    EditInstruction? Instruction(Kind kind, List<SceneItem> items, Random random)
    {
        // The Actor's reference: the words, and the centre only where another object fits them (RuleBasedActor.Disambiguate).
        ObjectRef Ref(SceneItem item)
        {
            var words = ObjectRef.Of(item);
            return items.Count(words.Matches) > 1 ? words with { At = Placement.RoundedCentre(World, item.Box!) } : words;
        }
        var x = items[random.Next(items.Count)];
        var others = items.Where(i => i != x).ToList();
        var y = others.Count > 0 ? others[random.Next(others.Count)] : null;
        string Predicate() => WorldVocabulary.Predicates[random.Next(WorldVocabulary.Predicates.Count)];
        switch (kind)
        {
            case Kind.MoveRelative:
                return y is null ? null : new MoveRelativeEdit(Ref(x), Predicate(), Ref(y));
            case Kind.MovePosition:
            {
                var free = Placement.Candidates(World, World.Side(x.Attributes[0] == WorldVocabulary.Large), null, [.. others.Select(o => o.Box!)], [], representable: true);
                if (free.Count == 0) return null;
                var (cx, cy) = Placement.RoundedCentre(World, free[random.Next(free.Count)]);
                return new MovePositionEdit(Ref(x), cx, cy);
            }
            case Kind.Recolour:
            {
                var colours = WorldVocabulary.Colours.Select(c => c.Name).Where(c => c != x.Attributes[1]).ToList();
                return new RecolourEdit(Ref(x), colours[random.Next(colours.Count)]);
            }
            case Kind.Resize:
                return new ResizeEdit(Ref(x), x.Attributes[0] == WorldVocabulary.Large ? WorldVocabulary.Small : WorldVocabulary.Large);
            case Kind.Remove:
                return new RemoveEdit(Ref(x));
            case Kind.Add:
            {
                var added = new WorldObject(WorldVocabulary.Shapes[random.Next(WorldVocabulary.Shapes.Count)],
                    WorldVocabulary.Colours[random.Next(WorldVocabulary.Colours.Count)], random.Next(2) == 1);
                return new AddEdit(added, Predicate(), Ref(x));
            }
            default: throw new ArgumentOutOfRangeException(nameof(kind), kind, null);
        }
    }
}
