using RlRig.Diffusion;
using RlRig.Loop;
using RlRig.Loop.Editors;
using RlRig.SceneGraphs;
using RlRig.World;
using TorchSharp;
using static TorchSharp.torch;

namespace RlRig.Tests.Diffusion;

public class InpaintingTests : TorchTestBase
{
    static TextToImageDiffuser Model() => RandomizedTinyModel(TinyShapesWorldConfig(), 5);

    static List<Generator> Generators(params int[] seeds) => seeds.Select(s => new Generator((ulong)s, CPU)).ToList();

    [Fact]
    public void With_one_generator_per_prompt_an_image_does_not_depend_on_its_batch()
    {
        using var model = Model();
        var pipeline = new DiffusionPipeline(model);
        // Prompts of one length: the tiny model does not mask padding, so a longer prompt in the batch would change the others.
        string[] prompts = ["small red circle above large blue square", "large green triangle above small red square", "small blue circle below large red triangle"];
        using var together = pipeline.Generate(prompts, Generators(1, 2, 3), 4, 3.0, eta: 1.0, batchSize: 3);
        using var alone = pipeline.Generate([prompts[1]], Generators(2), 4, 3.0, eta: 1.0);
        // Equal up to float rounding (a batch of 3 sums in another order: about 1e-4 here).
        Assert.True(together.Images[1].allclose(alone.Images[0], rtol: 0, atol: 1e-3));
        // One generator for the batch draws the second image's noise after the first's: another image.
        using var shared = pipeline.Generate(prompts, 4, 3.0, eta: 1.0, generator: new Generator(2, CPU), batchSize: 3);
        Assert.False(shared.Images[1].allclose(alone.Images[0], rtol: 0, atol: 1e-3));
        Assert.Throws<ArgumentException>(() => pipeline.Generate(prompts, Generators(1, 2), 4));
    }

    [Fact]
    public void Inpainting_keeps_every_pixel_outside_the_mask_and_redraws_inside()
    {
        using var model = Model();
        var pipeline = new DiffusionPipeline(model);
        using var images = rand(2, 3, 32, 32) * 2 - 1;
        using var masks = zeros(2, 1, 32, 32);
        masks[.., .., 8..16, 8..16] = 1;
        using var result = pipeline.Inpaint(images, masks, ["small red circle", "large blue square"], Generators(4, 5), ["", "small red circle"], 0.6, 5, 3.0, 1.0);
        using var outside = (1 - masks).expand(2, 3, 32, 32).to(@bool);
        Assert.True(result.Images.masked_select(outside).allclose(images.masked_select(outside), atol: 1e-6));
        using var inside = masks.expand(2, 3, 32, 32).to(@bool);
        Assert.False(result.Images.masked_select(inside).allclose(images.masked_select(inside), atol: 1e-2));
        Assert.ThrowsAny<ArgumentException>(() => pipeline.Inpaint(images, masks[..1], ["small red circle", "large blue square"], Generators(1, 2)));
        Assert.Equal(6, DiffusionPipeline.Nfe(5, 3.0, 0.6));
    }

    [Fact]
    public async Task The_editor_plans_each_operation_and_counts_its_evaluations()
    {
        using var model = Model();
        var world = new WorldOptions();
        var editor = new TrainingFreeEditor(new DiffusionPipeline(model), world,
            new TrainingFreeEditorOptions { Sampler = new() { Steps = 5 }, Strength = 0.4, ClearStrength = 0.2 });
        var scene = SceneGraph.ParsePrompt("small red circle left of large blue square", WorldVocabulary.Prompt);
        // A layout in which the red circle has room on the square's right.
        var placed = Enumerable.Range(0, 200).Select(seed => SceneLayout.Place(scene, world, new Random(seed)))
            .First(p => Placement.ForRelation(world, world.SmallSide, p.Items[0].Box, [p.Items[1].Box!], "right of", p.Items[1].Box!) is not null);
        var target = SceneGraph.ParsePrompt("small red circle right of large blue square", WorldVocabulary.Prompt);
        var reflection = Reflection.Compare(target, placed.Items);
        var red = new ObjectRef("circle", "small", "red");
        var blue = new ObjectRef("square", "large", "blue");

        var move = editor.Plan(new MoveRelativeEdit(red, "right of", blue), reflection);
        Assert.True(move.Failure is null, move.Failure);
        Assert.Equal(2, move.Passes.Count);
        Assert.Null(move.Passes[0].Hint);                      // the old place is cleared to background
        Assert.Equal("red", move.Passes[1].Hint!.Name);        // the new place starts from a red disc
        Assert.True(SpatialRelation(move.Passes[1].Region, placed.Items[1].Box!, "right of"));
        Assert.Single(editor.Plan(new RemoveEdit(blue), reflection).Passes);
        Assert.Equal("green", editor.Plan(new RecolourEdit(red, "green"), reflection).Passes.Single().Hint!.Name);
        Assert.Contains("no object", editor.Plan(new RemoveEdit(new ObjectRef("triangle")), reflection).Failure);
        Assert.Contains("does not parse", editor.Plan(EditLanguage.Parse("paint it black"), reflection).Failure);

        using var image = SixLabors.ImageSharp.Image.Load<SixLabors.ImageSharp.PixelFormats.Rgb24>(ToPng(ShapeRenderer.Render(placed, world)));
        var outcomes = await editor.EditAsync([new EditRequest(image, new MoveRelativeEdit(red, "right of", blue), reflection, 1),
            new EditRequest(image, new RemoveEdit(new ObjectRef("triangle")), reflection, 2)]);
        Assert.Equal(2 * 1 + 2 * 2, outcomes[0].Nfe);          // clear: 1 step, draw: 2 steps, guidance doubles each
        Assert.False(outcomes[1].Applied);
        Assert.Equal(0, outcomes[1].Nfe);
        foreach (var o in outcomes) o.Image.Dispose();
    }

    static bool SpatialRelation(Box a, Box b, string predicate) => RlRig.Metrics.SpatialRelationExtractor.Between(a, b).Contains(predicate);

    static byte[] ToPng(SixLabors.ImageSharp.Image image)
    {
        using var stream = new MemoryStream();
        SixLabors.ImageSharp.ImageExtensions.SaveAsPng(image, stream);
        return stream.ToArray();
    }
}
