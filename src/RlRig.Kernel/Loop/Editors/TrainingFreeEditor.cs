using RlRig.Diffusion;
using RlRig.Imaging;
using RlRig.Loop.Diffusers;
using RlRig.SceneGraphs;
using RlRig.World;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using TorchSharp;
using static TorchSharp.torch;

namespace RlRig.Loop.Editors;

/// <summary>Options of <see cref="TrainingFreeEditor"/>. Immutable; vary with <c>with</c>.</summary>
public sealed record TrainingFreeEditorOptions
{
    /// <summary>The sampler of every regeneration pass. Defaults to the world's (20 steps, guidance 3, eta 1).</summary>
    public SamplerSettings Sampler { get; init; } = new();

    /// <summary>
    /// Fraction of the chain re-run where an object is drawn (its new place, or its place when recoloured), in (0, 1]:
    /// the region starts from a shapeless disc of the object's colour noised to this level (SDEdit). Near 1 the hint is
    /// lost in the noise (with the linear schedule, alpha_bar is below 0.01 from 0.7 of the chain up) and the model
    /// seldom draws the object inside the small region; low values keep the disc's round outline.
    /// </summary>
    public double Strength { get; init; } = 0.4;

    /// <summary>Fraction of the chain re-run where an object is taken away, starting from the image's background colour; in (0, 1].</summary>
    public double ClearStrength { get; init; } = 0.2;

    /// <summary>Pixels added around an object's box to the regenerated region, for its anti-aliased and ragged edges. Defaults to 1.</summary>
    public int Margin { get; init; } = 1;

    /// <summary>Images per forward pass. Defaults to 50.</summary>
    public int BatchSize { get; init; } = 50;

    public TrainingFreeEditorOptions Validate()
    {
        Sampler.Validate();
        if (!(Strength > 0 && Strength <= 1)) throw new ArgumentOutOfRangeException(nameof(Strength), Strength, "editor strength must be in (0, 1]");
        if (!(ClearStrength > 0 && ClearStrength <= 1)) throw new ArgumentOutOfRangeException(nameof(ClearStrength), ClearStrength, "clear strength must be in (0, 1]");
        if (Margin is < 0 or > 8) throw new ArgumentOutOfRangeException(nameof(Margin), Margin, "the margin must be 0 to 8 pixels");
        if (BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, "must be at least 1");
        return this;
    }
}

/// <summary>
/// The Inverse Diffuser without training, as SLD edits: each operation regenerates only the regions it touches with the
/// committed Diffuser (<see cref="DiffusionPipeline.Inpaint"/>) and keeps every other pixel. Moving, resizing or removing
/// an object first redraws its old place as what the rest of the scene should show, with the object's words as the
/// negative prompt; moving, resizing, adding or recolouring then redraws the new place with the whole target prompt,
/// so the model draws the object in the context of the objects that stay. No pixel is copied: an edit pays the model's
/// price and shows its errors. Where the object goes follows <see cref="Placement"/>.
/// </summary>
public sealed class TrainingFreeEditor : IInverseDiffuser
{
    /// <summary>
    /// Where the Diffuser weights that Reflection-GRPO tuned for this editor's passes are committed (<c>rlrig train
    /// editor-grpo --chain inpaint</c>); the Diffuser that draws the first image stays the committed one.
    /// </summary>
    public const string GrpoRelativePath = "data/shapes-world/editor-grpo-inpaint/diffuser.ckpt";

    public TrainingFreeEditor(DiffusionPipeline pipeline, WorldOptions world, TrainingFreeEditorOptions? options = null)
    {
        Pipeline = pipeline ?? throw new ArgumentNullException(nameof(pipeline));
        World = world.Validate();
        Options = (options ?? new TrainingFreeEditorOptions()).Validate();
    }

    /// <summary>The model every pass regenerates its region with.</summary>
    public DiffusionPipeline Pipeline { get; }
    public WorldOptions World { get; }
    public TrainingFreeEditorOptions Options { get; }

    /// <summary>
    /// A region to redraw: the box (grown by the margin), the prompt of the whole image after the pass, what the region
    /// must not show, and the colour of a shapeless hint the region starts from (SDEdit's stroke painting), or null
    /// to start from the background.
    /// </summary>
    public sealed record Pass(Box Region, string Prompt, string NegativePrompt, WorldColour? Hint = null);

    /// <summary>The passes an instruction needs on an image the reflection describes, or why it cannot be carried out.</summary>
    public (IReadOnlyList<Pass> Passes, string? Failure) Plan(EditInstruction instruction, Reflection reflection)
    {
        var target = reflection.Target;
        var scene = reflection.Detected.Items;
        var full = target.ToPromptText();
        switch (instruction)
        {
            case InvalidEdit invalid: return ([], $"the instruction does not parse: {invalid.Reason}");
            case NoEdit: return ([], "the instruction asks for no edit");
            case AddEdit add:
            {
                var (anchor, anchorFailure) = Find(add.Anchor, reflection);
                if (anchor is null) return ([], anchorFailure);
                var side = World.Side(add.Object.IsLarge);
                var box = Placement.ForRelation(World, side, null, scene.Select(i => i.Box!).ToList(), add.Predicate, anchor.Box!);
                return box is null ? ([], $"no free place {add.Predicate} {add.Anchor.ToText()} fits a {add.Object.Text}") : ([new Pass(box, full, "", add.Object.Colour)], null);
            }
        }
        var reference = instruction switch
        {
            MoveRelativeEdit m => m.Object, MovePositionEdit m => m.Object, RecolourEdit r => r.Object, ResizeEdit r => r.Object, RemoveEdit r => r.Object,
            _ => throw new ArgumentException($"unknown instruction type {instruction.GetType().Name}", nameof(instruction)),
        };
        var (item, failure) = Find(reference, reflection, removing: instruction is RemoveEdit);
        if (item is null) return ([], failure);
        var others = scene.Where(i => i.Id != item.Id).Select(i => i.Box!).ToList();
        var current = item.Box!;
        var clear = new Pass(current, Without(target, item), item.Text);
        var colour = WorldVocabulary.Colour(item.Attributes[1]);
        switch (instruction)
        {
            case RemoveEdit: return ([clear with { Prompt = full }], null);
            case RecolourEdit recolour: return ([new Pass(current, full, item.Text, WorldVocabulary.Colour(recolour.Colour))], null);
            case ResizeEdit resize:
            {
                var side = World.Side(resize.Size == WorldVocabulary.Large);
                var (x, y) = Placement.Centre(World, current);
                var box = Placement.BoxAt(World, x, y, side);
                return ([clear, new Pass(box, full, item.Text, colour)], null);
            }
            case MovePositionEdit move:
                return ([clear, new Pass(Placement.BoxAt(World, move.X, move.Y, Side(item)), full, "", colour)], null);
            case MoveRelativeEdit move:
            {
                var (anchor, anchorFailure) = Find(move.Anchor, reflection);
                if (anchor is null) return ([], anchorFailure);
                var box = Placement.ForRelation(World, Side(item), current, others, move.Predicate, anchor.Box!);
                return box is null ? ([], $"no free place {move.Predicate} {move.Anchor.ToText()} fits {reference.ToText()}") : ([clear, new Pass(box, full, "", colour)], null);
            }
            default: throw new ArgumentException($"unknown instruction type {instruction.GetType().Name}", nameof(instruction));
        }
    }

    public Task<IReadOnlyList<EditOutcome>> EditAsync(IReadOnlyList<EditRequest> requests, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(requests);
        var plans = requests.Select(r => Plan(r.Instruction, r.Reflection)).ToList();
        var images = requests.Select(r => r.Image.Clone()).ToList();
        var nfe = new int[requests.Count];
        for (var pass = 0; pass < plans.Max(p => p.Passes.Count as int?).GetValueOrDefault(); pass++)
        {
            var todo = Enumerable.Range(0, requests.Count).Where(i => plans[i].Passes.Count > pass).ToList();
            foreach (var chunk in todo.Chunk(Options.BatchSize))
            {
                cancellationToken.ThrowIfCancellationRequested();
                var edited = RunPass(chunk.Select(i => (images[i], plans[i].Passes[pass], requests[i].Seed * 31L + pass)).ToList());
                foreach (var (i, image) in chunk.Zip(edited))
                {
                    images[i].Dispose();
                    (images[i], nfe[i]) = (image, nfe[i] + Options.Sampler.Nfe(StrengthOf(plans[i].Passes[pass])));
                }
            }
        }
        return Task.FromResult<IReadOnlyList<EditOutcome>>(requests.Select((r, i) => new EditOutcome(images[i], nfe[i], plans[i].Failure)).ToList());
    }

    /// <summary>One pass on each image, each with its own seed: the images after it, in order. The caller disposes them.</summary>
    public IReadOnlyList<Image<Rgb24>> RunPass(IReadOnlyList<(Image<Rgb24> Image, Pass Pass, long Seed)> work)
    {
        ArgumentNullException.ThrowIfNull(work);
        var generators = work.Select(w => new Generator((ulong)w.Seed, CPU)).ToList();
        try
        {
            using var scope = NewDisposeScope();
            var inputs = work.Select(w => PassInput(w.Image, w.Pass)).ToList();
            var images = stack([.. inputs.Select(i => i.Start)]);
            var masks = stack([.. inputs.Select(i => i.Mask)]);
            var s = Options.Sampler;
            // A batch mixes clearing and drawing passes; each strength runs as its own call.
            var output = new Image<Rgb24>[work.Count];
            foreach (var group in Enumerable.Range(0, work.Count).GroupBy(k => StrengthOf(work[k].Pass)))
            {
                var idx = group.ToArray();
                var take = tensor(idx.Select(k => (long)k).ToArray());
                using var result = Pipeline.Inpaint(images.index_select(0, take), masks.index_select(0, take), idx.Select(k => work[k].Pass.Prompt).ToList(),
                    idx.Select(k => generators[k]).ToList(), idx.Select(k => work[k].Pass.NegativePrompt).ToList(), group.Key, s.Steps, s.GuidanceScale, s.Eta, idx.Length);
                foreach (var (k, image) in idx.Zip(result.ToImages())) output[k] = image;
            }
            return output;
        }
        finally { foreach (var g in generators) g.Dispose(); }
    }

    // (1, H, W): 1 on the box's pixels grown by the margin.
    Tensor Mask(Box box)
    {
        var (x0, y0, x1, y1) = Region(box);
        var mask = zeros(1, World.CanvasSize, World.CanvasSize);
        if (x1 > x0 && y1 > y0) mask[.., y0..y1, x0..x1] = 1;
        return mask;
    }

    /// <summary>
    /// What a pass's chain starts from, (3, H, W) in [-1, 1] (the image with its region made the hint, <see cref="Hinted"/>),
    /// and where it regenerates, (1, H, W): the inputs of <see cref="DiffusionPipeline.Inpaint"/>. The tensors belong to
    /// the caller's dispose scope.
    /// </summary>
    public (Tensor Start, Tensor Mask) PassInput(Image<Rgb24> image, Pass pass)
    {
        using var hinted = Hinted(image, pass);
        return (TensorImages.ToTensor(hinted, PixelRange.MinusOneToOne), Mask(pass.Region));
    }

    /// <summary>The fraction of the chain a pass re-runs: <see cref="TrainingFreeEditorOptions.Strength"/> where it draws, <see cref="TrainingFreeEditorOptions.ClearStrength"/> where it clears.</summary>
    public double StrengthOf(Pass pass) => pass.Hint is null ? Options.ClearStrength : Options.Strength;

    (int X0, int Y0, int X1, int Y1) Region(Box box)
    {
        var size = World.CanvasSize;
        return (Math.Max(0, (int)Math.Floor(box.X) - Options.Margin), Math.Max(0, (int)Math.Floor(box.Y) - Options.Margin),
            Math.Min(size, (int)Math.Ceiling(box.Right) + Options.Margin), Math.Min(size, (int)Math.Ceiling(box.Bottom) + Options.Margin));
    }

    // What the region's chain starts from (noised to the strength's level): the image's own background (the median of its
    // border) and, for a pass that draws an object, a soft disc of the object's colour in the box. The disc has no
    // corners or apex, so the shape is the model's to draw; with strength near 1 the hint is almost all noise.
    Image<Rgb24> Hinted(Image<Rgb24> image, Pass pass)
    {
        var hinted = image.Clone();
        var background = BorderMedian(image);
        var (x0, y0, x1, y1) = Region(pass.Region);
        var box = pass.Region;
        var radius = box.Width / 2;
        for (var y = y0; y < y1; y++)
            for (var x = x0; x < x1; x++)
            {
                var distance = Math.Sqrt(Math.Pow(x + 0.5 - box.CenterX, 2) + Math.Pow(y + 0.5 - box.CenterY, 2));
                var cover = pass.Hint is null ? 0 : Math.Clamp(radius - distance, 0, 1);
                Rgb24 Mix(Rgb24 a, WorldColour? b) => b is null ? a : new Rgb24(
                    (byte)Math.Round(a.R + cover * (b.R - a.R)), (byte)Math.Round(a.G + cover * (b.G - a.G)), (byte)Math.Round(a.B + cover * (b.B - a.B)));
                hinted[x, y] = Mix(background, pass.Hint);
            }
        return hinted;
    }

    static Rgb24 BorderMedian(Image<Rgb24> image)
    {
        var median = ShapesJudge.BorderMedian(ShapeRenderer.ToHwc(image), image.Width);
        byte Channel(int c) => (byte)Math.Clamp(Math.Round(median[c] * 255), 0, 255);
        return new Rgb24(Channel(0), Channel(1), Channel(2));
    }

    int Side(SceneItem item) => World.Side(item.Attributes[0] == WorldVocabulary.Large);

    // The target without the object being moved away: what its old place should be redrawn as.
    static string Without(SceneGraph target, SceneItem removed)
    {
        var keep = target.Items.Where(i => i.Text != removed.Text).ToList();
        if (keep.Count == 0) return "";
        var ids = keep.Select(i => i.Id).ToHashSet();
        return new SceneGraph(keep, target.Relations.Where(r => ids.Contains(r.SubjectId) && ids.Contains(r.ObjectId))).ToPromptText();
    }

    // The one detected object a reference names. A reference that fits several means the one the target claims, or for
    // a removal the one it does not (a duplicate is removed, the object the prompt asked for stays); a position in the
    // reference settles it: the object whose centre is nearest.
    (SceneItem? Item, string? Failure) Find(ObjectRef reference, Reflection reflection, bool removing = false)
    {
        var fits = reflection.Detected.Items.Where(reference.Matches).ToList();
        if (fits.Count == 1) return (fits[0], null);
        if (fits.Count == 0) return (null, $"no object in the image fits '{reference.ToText()}'");
        if (reference.At is { } at)
        {
            double Distance(SceneItem f) { var (x, y) = Placement.Centre(World, f.Box!); return Math.Pow(x - at.X, 2) + Math.Pow(y - at.Y, 2); }
            return (fits.OrderBy(Distance).First(), null);
        }
        var preferred = fits.Where(f => reflection.Matches.Any(m => m.DetectedId == f.Id) != removing).ToList();
        return preferred.Count >= 1 && (removing || preferred.Count == 1) ? (preferred[0], null) : (null, $"'{reference.ToText()}' fits {fits.Count} objects in the image");
    }
}
