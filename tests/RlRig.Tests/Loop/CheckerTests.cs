using RlRig.Loop;
using RlRig.Loop.Checkers;
using RlRig.SceneGraphs;
using RlRig.Tests.Diffusion;
using RlRig.Tests.Support;
using RlRig.World;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace RlRig.Tests.Loop;

/// <summary>The learned shapes-world Checker: its labels, training, checkpoints and the committed model.</summary>
public sealed class CheckerTests : TorchTestBase
{
    static readonly WorldOptions World = new();

    static CheckerConfig Tiny => new() { Channels = 16, Blocks = 2 };

    static CheckerTrainerOptions Quick(string dir, int total) => new()
    {
        TotalSteps = total, BatchSize = 4, WarmupSteps = 2, CheckpointEvery = 0, LogEvery = 0, OutputDir = dir, Seed = 7,
    };

    static SceneGraph Known => new(
        [
            new WorldObject(Shape.Circle, WorldVocabulary.Colour("red"), true).ToItem(0, new Box(2, 3, World.LargeSide, World.LargeSide)),
            new WorldObject(Shape.Triangle, WorldVocabulary.Colour("blue"), false).ToItem(1, new Box(20, 4, World.SmallSide, World.SmallSide)),
            new WorldObject(Shape.Square, WorldVocabulary.Colour("green"), false).ToItem(2, new Box(12, 21, World.SmallSide, World.SmallSide)),
        ],
        [new SceneRelation(0, "left of", 1), new SceneRelation(2, "below", 0)]);

    [Fact]
    public void LabelMasksMatchTheRenderer()
    {
        // Undamaged, the training renderer is the world's renderer, bit for bit: the masks use the same coverage.
        var sampler = new SceneSampler(World);
        var random = new Random(3);
        for (var n = 0; n < 20; n++)
        {
            var scene = sampler.Sample(random);
            Assert.Equal(ShapeRenderer.RenderHwc(scene, World), CheckerTrainingData.Render(scene, World, CheckerAugmentation.None, new Random(1)));
            // One object at a time: a pixel is labelled with the object exactly when the render is at least half its colour.
            foreach (var item in scene.Items)
            {
                var alone = new SceneGraph([item with { Id = 0 }], []);
                var mask = CheckerLabels.Mask(alone, World);
                var hwc = ShapeRenderer.RenderHwc(alone, World);
                var o = WorldObject.From(item);
                var c = Enumerable.Range(0, 3).MaxBy(k => Math.Abs(Channel(o.Colour, k) - Channel(World.Background, k)));
                for (var i = 0; i < mask.Length; i++)
                {
                    var alpha = (hwc[3 * i + c] - Channel(World.Background, c)) / (Channel(o.Colour, c) - Channel(World.Background, c));
                    if (Math.Abs(alpha - 0.5) < 1e-4) continue;  // exactly half: float rounding decides
                    Assert.Equal(alpha > 0.5 ? CheckerLabels.Of(o) : 0, mask[i]);
                }
            }
        }
    }

    static float Channel(WorldColour c, int k) => (k == 0 ? c.R : k == 1 ? c.G : c.B) / 255f;

    [Fact]
    public void ATinyModelLearnsAndHoldsNoTensorsBetweenSteps()
    {
        using var trainer = new CheckerTrainer(Tiny, Quick(TempDir(), 40) with { BatchSize = 8, LearningRate = 5e-3, WarmupSteps = 3 });
        var data = new CheckerTrainingData(World);
        var losses = new List<double> { trainer.TrainStep(data).Loss };
        var live = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        for (var i = 1; i < 40; i++) losses.Add(trainer.TrainStep(data).Loss);
        Assert.Equal(live, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
        Assert.True(losses.TakeLast(5).Average() < 0.6 * losses.Take(3).Average(), $"first {losses.Take(3).Average():F3}, last {losses.TakeLast(5).Average():F3}");
    }

    [Fact]
    public void ResumeContinuesBitExactly()
    {
        const int k = 3;
        var data = new CheckerTrainingData(World);
        using var straight = new CheckerTrainer(Tiny, Quick(TempDir(), 2 * k));
        for (var i = 0; i < 2 * k; i++) straight.TrainStep(data);

        var dir = TempDir();
        using (var first = new CheckerTrainer(Tiny, Quick(dir, 2 * k)))
        {
            for (var i = 0; i < k; i++) first.TrainStep(data);
            first.SaveCheckpoint();
        }
        using var resumed = new CheckerTrainer(Tiny, Quick(dir, 2 * k) with { Resume = true, Seed = 999 });
        Assert.Equal(k, resumed.Step);
        for (var i = 0; i < k; i++) resumed.TrainStep(data);
        TrainerTests.AssertSameWeights(straight.Model, resumed.Model);
        Assert.Equal(k, CheckerTrainer.ReadRun(dir).Step);
    }

    [Fact]
    public async Task CancellationSavesALoadableCheckpoint()
    {
        var dir = TempDir();
        using var trainer = new CheckerTrainer(Tiny, Quick(dir, 50) with { LogEvery = 1 });
        using var cts = new CancellationTokenSource();
        var seen = 0;
        await foreach (var p in trainer.TrainAsync(new CheckerTrainingData(World), cts.Token))
            if (++seen == 2) cts.Cancel();
        Assert.Equal(2, trainer.Step);
        using var checker = ShapesChecker.Load(CheckerTrainer.CheckpointPath(dir));
        Assert.Equal(2, checker.Step);
        TrainerTests.AssertSameWeights(trainer.Model, checker.Model, storedAsHalf: true);
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(dir, "tensorboard"), "*tfevents*", SearchOption.AllDirectories));
        // A batch of images goes through in one call; an empty batch is fine.
        var images = new[] { ShapeRenderer.Render(Known, World), ShapeRenderer.Render(Known, World) };
        Assert.Equal(2, checker.Detect(images).Count);
        Assert.Empty(checker.Detect(Array.Empty<float[]>()));
    }

    [Fact]
    public void MissingTruncatedOrDamagedCheckpointsGiveOneLineErrors()
    {
        var dir = TempDir();
        Assert.Contains("does not exist", Assert.Throws<CheckerCheckpointException>(() => ShapesChecker.Load(Path.Combine(dir, "none.ckpt"))).Message);
        using (var model = new CheckerNet(Tiny)) ShapesChecker.Save(Path.Combine(dir, "c.ckpt"), model, 1);
        var bytes = File.ReadAllBytes(Path.Combine(dir, "c.ckpt"));
        File.WriteAllBytes(Path.Combine(dir, "short.ckpt"), bytes[..(bytes.Length / 2)]);
        bytes[^10] ^= 0xFF;
        File.WriteAllBytes(Path.Combine(dir, "flipped.ckpt"), bytes);
        File.WriteAllText(Path.Combine(dir, "text.ckpt"), "not a checkpoint at all");
        foreach (var (file, says) in new[] { ("short.ckpt", "truncated"), ("flipped.ckpt", "damaged"), ("text.ckpt", "not a Checker checkpoint") })
        {
            var e = Assert.Throws<CheckerCheckpointException>(() => ShapesChecker.Load(Path.Combine(dir, file)));
            Assert.Contains(says, e.Message);
            Assert.DoesNotContain('\n', e.Message);
        }
        // A Diffuser checkpoint is not a Checker.
        var diffuser = Repo.PathOf("data", "shapes-world", "diffuser", "diffuser.ckpt");
        if (File.Exists(diffuser)) Assert.Contains("not a Checker checkpoint", Assert.Throws<CheckerCheckpointException>(() => ShapesChecker.Load(diffuser)).Message);
    }

    [Fact]
    public async Task TheCommittedCheckerReadsACleanRenderExactly()
    {
        var path = Repo.PathOf(ShapesChecker.RelativePath);
        if (!File.Exists(path)) return;  // before the checkpoint is committed
        using var checker = ShapesChecker.Load(path);
        var detected = checker.Detect([ShapeRenderer.Render(Known, World)])[0];
        Assert.Equal(Known.Items.Select(i => i.Text).Order(), detected.Select(i => i.Text).Order());
        var reflection = (await checker.ReflectAsync([ShapeRenderer.Render(Known, World)], [Known]))[0];
        Assert.True(reflection.IsSatisfied, reflection.Text);
        Assert.Equal(1.0, reflection.Score);
        // The same objects with a relation that does not hold: the reflection says so.
        var wrong = new SceneGraph(Known.Items.Select(i => i with { Box = null }), [new SceneRelation(1, "left of", 0)]);
        var r = (await checker.ReflectAsync([ShapeRenderer.Render(Known, World)], [wrong]))[0];
        Assert.Single(r.Violated);
    }

    [Fact]
    public void TheContactSheetPlacesEachImageEnlargedInItsCell()
    {
        var red = Enumerable.Range(0, 4 * 4 * 3).Select(i => i % 3 == 0 ? 1f : 0f).ToArray();
        var blue = Enumerable.Range(0, 4 * 4 * 3).Select(i => i % 3 == 2 ? 1f : 0f).ToArray();
        using var sheet = CheckerEvaluation.ContactSheet([red, blue, red], size: 4, scale: 2, columns: 2);
        Assert.Equal((2 * 10, 2 * 10), (sheet.Width, sheet.Height));
        Assert.Equal(new SixLabors.ImageSharp.PixelFormats.Rgb24(255, 0, 0), sheet[7, 7]);
        Assert.Equal(new SixLabors.ImageSharp.PixelFormats.Rgb24(0, 0, 255), sheet[10, 0]);
        Assert.Equal(new SixLabors.ImageSharp.PixelFormats.Rgb24(255, 255, 255), sheet[8, 3]);   // the gap
        Assert.Equal(new SixLabors.ImageSharp.PixelFormats.Rgb24(255, 0, 0), sheet[0, 10]);
    }

    [Fact]
    public void CohensKappaIsOneForPerfectAgreementAndZeroForChance()
    {
        Assert.Equal(1.0, CheckerEvaluation.Kappa([(true, true), (false, false)]), 12);
        Assert.Equal(0.0, CheckerEvaluation.Kappa([(true, true), (true, false), (false, true), (false, false)]), 12);
    }
}
