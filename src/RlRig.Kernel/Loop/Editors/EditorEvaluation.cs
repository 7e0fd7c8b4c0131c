using RlRig.Loop.Diffusers;
using RlRig.Metrics;
using RlRig.SceneGraphs;
using RlRig.World;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace RlRig.Loop.Editors;

/// <summary>The five operations an editor is measured on.</summary>
public enum EditOperation { Move, Recolour, Resize, Remove, Add }

/// <summary>One edit as the judge saw it: before and after, and whether it was carried out with everything else intact.</summary>
/// <param name="CarriedOut">The judge finds what the instruction asked (the object moved into the relation, recoloured, resized, gone, or added in the relation).</param>
/// <param name="Intact">Every other object the judge read before is still there: same words, centre within 2 px.</param>
/// <param name="NoExtra">The judge reads no more objects than the edit should leave.</param>
public sealed record EditVerdict(string Source, EditOperation Operation, string Instruction, string Before, string After, bool CarriedOut, bool Intact, bool NoExtra, int Nfe, string? Failure)
{
    public bool Success => CarriedOut && Intact && NoExtra;
}

/// <summary>Rates of one operation on one source of images.</summary>
public sealed record EditFigures(string Source, EditOperation Operation, int Edits, double CarriedOut, double Intact, double NoExtra, double Success, double MeanNfe);

/// <summary>
/// Measures an <see cref="IInverseDiffuser"/> per operation with the judge as the instrument: the judge reads an image, an
/// instruction is drawn for one of its objects, the editor carries it out, and the judge reads the result. The editor
/// is given a reflection built from the judge's reading, so what is measured is the editor alone, not the Checker.
/// Images are clean renders and Diffuser samples of validation prompts (never the evaluation set).
/// </summary>
public sealed class EditorEvaluation(ShapesJudge judge, int seed)
{
    readonly WorldOptions world = judge.World;

    static readonly string[] Positions = [GenEvalPosition.LeftOf, GenEvalPosition.RightOf, GenEvalPosition.Above, GenEvalPosition.Below];

    /// <summary>The edits (one per operation that the image allows) for a batch of images, and the reflections the editor gets.</summary>
    public IReadOnlyList<(int Image, EditOperation Operation, EditInstruction Instruction, SceneGraph After, Reflection Reflection)> Draw(IReadOnlyList<Image<Rgb24>> images)
    {
        var random = new Random(seed);
        var edits = new List<(int, EditOperation, EditInstruction, SceneGraph, Reflection)>();
        for (var i = 0; i < images.Count; i++)
        {
            var items = judge.Parse(images[i]).Items.ToList();
            if (items.Count < 2 || items.GroupBy(x => x.Text).Any(g => g.Count() > 1)) continue;
            foreach (var op in Enum.GetValues<EditOperation>())
                if (DrawEdit(op, items, random) is { } edit)
                    edits.Add((i, op, edit.Instruction, edit.After, Reflection.Compare(edit.After, items)));
        }
        return edits;
    }

    (EditInstruction Instruction, SceneGraph After)? DrawEdit(EditOperation op, List<SceneItem> items, Random random)
    {
        var x = items[random.Next(items.Count)];
        var others = items.Where(i => i != x).ToList();
        var y = others[random.Next(others.Count)];
        SceneGraph Graph(IEnumerable<SceneItem> its, params SceneRelation[] relations) => new(its.Select((it, k) => it with { Id = k, Box = null }).ToList(), relations);
        switch (op)
        {
            case EditOperation.Move:
            {
                var free = Positions.Where(p => !SpatialRelationExtractor.Between(x.Box!, y.Box!).Contains(p)).OrderBy(_ => random.Next()).ToList();
                foreach (var p in free)
                {
                    if (Placement.ForRelation(world, world.Side(x.Attributes[0] == WorldVocabulary.Large), x.Box, others.Select(o => o.Box!).ToList(), p, y.Box!) is null) continue;
                    var after = Graph(items);
                    return (new MoveRelativeEdit(ObjectRef.Of(x), p, ObjectRef.Of(y)), new SceneGraph(after.Items, [new SceneRelation(items.IndexOf(x), p, items.IndexOf(y))]));
                }
                return null;
            }
            case EditOperation.Recolour:
            {
                var colours = WorldVocabulary.Colours.Select(c => c.Name).Where(c => items.All(i => i.Text != $"{x.Attributes[0]} {c} {x.Label}")).ToList();
                var colour = colours[random.Next(colours.Count)];
                return (new RecolourEdit(ObjectRef.Of(x), colour), Graph(items.Select(i => i == x ? i with { Attributes = [i.Attributes[0], colour] } : i)));
            }
            case EditOperation.Resize:
            {
                var size = x.Attributes[0] == WorldVocabulary.Large ? WorldVocabulary.Small : WorldVocabulary.Large;
                if (items.Any(i => i.Text == $"{size} {x.Attributes[1]} {x.Label}")) return null;
                return (new ResizeEdit(ObjectRef.Of(x), size), Graph(items.Select(i => i == x ? i with { Attributes = [size, i.Attributes[1]] } : i)));
            }
            case EditOperation.Remove:
                return (new RemoveEdit(ObjectRef.Of(x)), Graph(others));
            case EditOperation.Add:
            {
                WorldObject added;
                do added = new WorldObject(WorldVocabulary.Shapes[random.Next(3)], WorldVocabulary.Colours[random.Next(5)], random.Next(2) == 1);
                while (items.Any(i => i.Text == added.Text));
                foreach (var p in Positions.OrderBy(_ => random.Next()))
                {
                    if (Placement.ForRelation(world, world.Side(added.IsLarge), null, items.Select(o => o.Box!).ToList(), p, y.Box!) is null) continue;
                    var after = Graph(items.Append(added.ToItem(items.Count)));
                    return (new AddEdit(added, p, ObjectRef.Of(y)), new SceneGraph(after.Items, [new SceneRelation(items.Count, p, items.IndexOf(y))]));
                }
                return null;
            }
            default: throw new ArgumentOutOfRangeException(nameof(op), op, null);
        }
    }

    /// <summary>Edits every drawn instruction and judges the results.</summary>
    /// <param name="saveTo">If set, each edit's before and after images are written there side by side, named by source, index and operation.</param>
    public async Task<IReadOnlyList<EditVerdict>> RunAsync(string source, IReadOnlyList<Image<Rgb24>> images, IInverseDiffuser editor, string? saveTo = null,
        CancellationToken cancellationToken = default)
    {
        var edits = Draw(images);
        var outcomes = await editor.EditAsync(edits.Select((e, k) => new EditRequest(images[e.Image], e.Instruction, e.Reflection, seed + k)).ToList(), cancellationToken);
        var verdicts = new List<EditVerdict>();
        foreach (var (edit, outcome) in edits.Zip(outcomes))
        {
            using var image = outcome.Image;
            var before = edit.Reflection.Detected.Items;
            var after = judge.Parse(image).Items;
            verdicts.Add(Judge(source, edit.Operation, edit.Instruction, before, after, outcome));
            if (saveTo is not null)
            {
                using var pair = Imaging.TensorImages.Grid([images[edit.Image], image], 2);
                using var big = Imaging.TensorImages.Enlarge(pair, 4);
                IO.AtomicFile.Write(Path.Combine(saveTo, $"{source.Replace(' ', '-')}-{verdicts.Count - 1:D3}-{edit.Operation}.png".ToLowerInvariant()), s => big.SaveAsPng(s));
            }
        }
        return verdicts;
    }

    static EditVerdict Judge(string source, EditOperation op, EditInstruction instruction, IReadOnlyList<SceneItem> before, IReadOnlyList<SceneItem> after, EditOutcome outcome)
    {
        static bool Near(Box a, Box b, double pixels) => Math.Abs(a.CenterX - b.CenterX) <= pixels && Math.Abs(a.CenterY - b.CenterY) <= pixels;
        IReadOnlyList<SceneItem> With(string text) => after.Where(i => i.Text == text).ToList();
        var (subject, expected) = instruction switch
        {
            MoveRelativeEdit m => (before.Single(m.Object.Matches), before.Count),
            RecolourEdit r => (before.Single(r.Object.Matches), before.Count),
            ResizeEdit r => (before.Single(r.Object.Matches), before.Count),
            RemoveEdit r => (before.Single(r.Object.Matches), before.Count - 1),
            AddEdit => ((SceneItem?)null, before.Count + 1),
            _ => throw new ArgumentException("not an edit of the evaluation", nameof(instruction)),
        };
        var intact = before.Where(b => b != subject).All(b => With(b.Text).Any(a => Near(a.Box!, b.Box!, 2)));
        bool Holds(string text, string predicate, ObjectRef anchor)
        {
            var moved = With(text);
            var anchors = after.Where(anchor.Matches).ToList();
            return moved.Count == 1 && anchors.Count == 1 && SpatialRelationExtractor.Between(moved[0].Box!, anchors[0].Box!).Contains(predicate);
        }
        var done = instruction switch
        {
            MoveRelativeEdit m => Holds(subject!.Text, m.Predicate, m.Anchor),
            RecolourEdit r => With($"{subject!.Attributes[0]} {r.Colour} {subject.Label}") is [var found] && Near(found.Box!, subject.Box!, 3) && With(subject.Text).Count == 0,
            ResizeEdit r => With($"{r.Size} {subject!.Attributes[1]} {subject.Label}") is [var found] && Near(found.Box!, subject.Box!, 4) && With(subject.Text).Count == 0,
            RemoveEdit => With(subject!.Text).Count == 0,
            AddEdit a => Holds(a.Object.Text, a.Predicate, a.Anchor),
            _ => false,
        };
        return new EditVerdict(source, op, instruction.ToText(), string.Join("; ", before.Select(b => b.Text)), string.Join("; ", after.Select(a => a.Text)),
            done, intact, after.Count <= expected, outcome.Nfe, outcome.Failure);
    }

    public static IReadOnlyList<EditFigures> Summarise(IEnumerable<EditVerdict> verdicts) =>
        verdicts.GroupBy(v => (v.Source, v.Operation)).OrderBy(g => g.Key.Source).ThenBy(g => g.Key.Operation)
            .Select(g => new EditFigures(g.Key.Source, g.Key.Operation, g.Count(), Rate(g, v => v.CarriedOut), Rate(g, v => v.Intact), Rate(g, v => v.NoExtra),
                Rate(g, v => v.Success), g.Average(v => v.Nfe))).ToList();

    static double Rate(IEnumerable<EditVerdict> g, Func<EditVerdict, bool> f) => g.Average(v => f(v) ? 1.0 : 0.0);

    /// <summary>Clean renders of scenes drawn with <paramref name="sceneSeed"/>.</summary>
    public static IReadOnlyList<Image<Rgb24>> Renders(WorldOptions world, int count, int sceneSeed)
    {
        var sampler = new SceneSampler(world);
        var random = new Random(sceneSeed);
        return Enumerable.Range(0, count).Select(_ => ShapeRenderer.Render(sampler.Sample(random), world)).ToList();
    }

    /// <summary>Diffuser samples of validation prompts (<see cref="EvaluationSet.Create"/> with <paramref name="promptSeed"/>).</summary>
    public static async Task<IReadOnlyList<Image<Rgb24>>> Samples(IDiffuser diffuser, WorldOptions world, int count, int promptSeed, CancellationToken cancellationToken = default)
    {
        var prompts = EvaluationSet.Create((count + 2) / 3 * 3, promptSeed, world).Take(count);
        var images = await diffuser.GenerateAsync(prompts.Select((p, i) => new GenerationRequest(p, promptSeed + i)).ToList(), cancellationToken);
        return images.Select(i => i.Image).ToList();
    }
}
