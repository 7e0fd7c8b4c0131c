using RlRig.Diffusion;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace RlRig.Tests.Diffusion;

public sealed class TrainerTests : TorchTestBase
{
    static DiffuserTrainerOptions Quick(string dir, int total) => new()
    {
        TotalSteps = total, BatchSize = 8, WarmupSteps = 2, CheckpointEvery = 0, LogEvery = 0, OutputDir = dir, Seed = 42,
    };

    [Fact]
    public void LearningRateWarmsUpThenDecays()
    {
        Assert.Equal(1e-3 * 1 / 200, LrSchedule.At(0, 1000, 1e-3, 200, LrDecay.Cosine, 0.1), 15);
        Assert.Equal(1e-3, LrSchedule.At(199, 1000, 1e-3, 200, LrDecay.Cosine, 0.1), 15);
        Assert.Equal(1e-4, LrSchedule.At(999, 1000, 1e-3, 200, LrDecay.Cosine, 0.1), 15);
        Assert.Equal(1e-4 + 0.5 * (1 + Math.Cos(Math.PI * 399 / 799)) * 9e-4, LrSchedule.At(599, 1000, 1e-3, 200, LrDecay.Cosine, 0.1), 15);
        Assert.Equal(1e-3, LrSchedule.At(900, 1000, 1e-3, 200, LrDecay.Constant, 0.1), 15);
    }

    [Fact]
    public void OptionsValidationSaysHowToFix()
    {
        var e = Assert.Throws<ArgumentException>(() => new DiffuserTrainerOptions { EmaDecay = 1.0 }.Validate());
        Assert.Contains("EmaDecay", e.Message);
        Assert.Contains("0.999", e.Message);
        Assert.Throws<ArgumentException>(() => new DiffuserTrainerOptions { BatchSize = 0 }.Validate());
        Assert.Equal(new DiffuserTrainerOptions(), DiffuserTrainerOptions.FromJson(new DiffuserTrainerOptions().ToJson()));
    }

    [Fact]
    public void LossFallsOnTheSyntheticSquares()
    {
        using var trainer = new DiffuserTrainer(TinyConfig(), Quick(TempDir(), 60) with { BatchSize = 16, WarmupSteps = 10 });
        var data = new SyntheticSquaresDataset(16);
        var losses = Enumerable.Range(0, 60).Select(_ => trainer.TrainStep(data).Loss).ToList();
        Assert.All(losses, l => Assert.True(double.IsFinite(l)));
        Assert.True(losses.TakeLast(15).Average() < 0.75 * losses.Take(5).Average(), $"first {losses.Take(5).Average():F3}, last {losses.TakeLast(15).Average():F3}");
    }

    [Fact]
    public void GroundingLossIsTheShareOfEachObjectWordsAttentionOutsideItsObject()
    {
        // One image 4x4, three words: word 0 drawn on the left half, word 1 on the top-left pixel, word 2 nowhere.
        var regions = zeros(1, 3, 4, 4);
        regions[0, 0, .., TensorIndex.Slice(0, 2)] = tensor(1f);
        regions[0, 1, 0, 0] = tensor(1f);
        // At 4x4 every pixel gives word 0 weight 0.5, word 1 0.25 and word 2 0.25: the unattended word 2 must not count.
        var uniform = tensor(new[] { 0.5f, 0.25f, 0.25f }).expand(1, 16, 3).contiguous();
        // Word 0: half its attention is inside (0.5 outside); word 1: 1 pixel of 16 (15/16 outside).
        Assert.Equal((0.5 + 15.0 / 16) / 2, DiffuserTrainer.GroundingLoss([uniform], regions).item<float>(), 5);
        // At 2x2 the word 1 pixel covers a quarter of the top-left cell: a pixel half inside counts half, a quarter a quarter.
        var coarse = tensor(new[] { 0.5f, 0.25f, 0.25f }).expand(1, 4, 3).contiguous();
        Assert.Equal((0.5 + (1 - 0.25 / 4)) / 2, DiffuserTrainer.GroundingLoss([coarse], regions).item<float>(), 5);
        // All of word 0's attention on its left half and word 1's on its pixel: nothing outside; blocks are averaged.
        var exact = zeros(1, 16, 3);
        foreach (var p in new[] { 0, 1, 4, 5, 8, 9, 12, 13 }) exact[0, p, 0] = tensor(1f);
        exact[0, 0, 1] = tensor(1f);
        Assert.Equal(0, DiffuserTrainer.GroundingLoss([exact], regions).item<float>(), 5);
        Assert.Equal((0 + (0.5 + 15.0 / 16) / 2) / 2, DiffuserTrainer.GroundingLoss([exact, uniform], regions).item<float>(), 5);
    }

    [Fact]
    public void GroundingMovesTheAttentionOntoTheObjectsOfTheShapesWorld()
    {
        var config = TinyShapesWorldConfig();
        var data = new RlRig.World.ShapesWorldDataset(new RlRig.World.WorldOptions(), []);
        using var trainer = new DiffuserTrainer(config, Quick(TempDir(), 80) with { GroundingWeight = 1.0, WarmupSteps = 5 });
        var reports = Enumerable.Range(0, 80).Select(_ => trainer.TrainStep(data)).ToList();
        Assert.All(reports, r => Assert.True(double.IsFinite(r.Loss) && r.GroundingLoss is > 0 and < 1, $"step {r.Step}: loss {r.Loss}, grounding {r.GroundingLoss}"));
        var (first, last) = (reports.Take(5).Average(r => r.GroundingLoss), reports.TakeLast(10).Average(r => r.GroundingLoss));
        Assert.True(last < 0.85 * first, $"grounding loss {first:F3} over the first 5 steps, {last:F3} over the last 10");
        // Without the weight, or on data that cannot say where words are drawn, there is no grounding loss.
        using var plain = new DiffuserTrainer(config, Quick(TempDir(), 1));
        Assert.True(double.IsNaN(plain.TrainStep(data).GroundingLoss));
        using var squares = new DiffuserTrainer(TinyConfig(), Quick(TempDir(), 1) with { GroundingWeight = 1.0 });
        Assert.True(double.IsNaN(squares.TrainStep(new SyntheticSquaresDataset(16)).GroundingLoss));
    }

    [Fact]
    public void ReadRunGivesTheArchitectureOptionsAndStepARunWasSavedWith()
    {
        var dir = TempDir();
        var config = TinyConfig() with { TextConvWidth = 2, MaskPadding = true };
        var options = Quick(dir, 10) with { BatchSize = 3, GroundingWeight = 0.5, LearningRate = 2e-4 };
        using (var trainer = new DiffuserTrainer(config, options))
        {
            trainer.TrainStep(new SyntheticSquaresDataset(16));
            trainer.SaveCheckpoint();
        }
        var run = DiffuserTrainer.ReadRun(dir);
        Assert.Equal(config, run.Config);
        Assert.Equal(options, run.Options);
        Assert.Equal(1, run.Step);
        var missing = Assert.Throws<DiffuserCheckpointException>(() => DiffuserTrainer.ReadRun(TempDir()));
        Assert.Contains("nothing to resume", missing.Message);

        // ReadRun checks the hash too: a run described from a damaged file would resume with the wrong options.
        var path = DiffuserTrainer.TrainingStatePath(dir);
        var bytes = File.ReadAllBytes(path);
        bytes[^1] ^= 0xFF;
        File.WriteAllBytes(path, bytes);
        Assert.Contains("damaged", Assert.Throws<DiffuserCheckpointException>(() => DiffuserTrainer.ReadRun(dir)).Message);
        var damaged = Assert.Throws<DiffuserCheckpointException>(() => new DiffuserTrainer(config, options with { Resume = true }));
        Assert.Contains("damaged", damaged.Message);
        Assert.Contains(path, damaged.Message);
        File.WriteAllBytes(path, bytes[..^1]);
        var truncated = Assert.Throws<DiffuserCheckpointException>(() => DiffuserTrainer.ReadRun(dir));
        Assert.Contains("truncated", truncated.Message);
    }

    // A header's step or options steer the resumed run: a change there must fail like a change in the weights.
    [Theory]
    [InlineData("\"step\":1,", "\"step\":7,")]
    [InlineData("\"BatchSize\":3", "\"BatchSize\":9")]
    [InlineData("\"format\"", "\"form\u00e0t\"")]
    public void AChangedTrainingStateHeaderIsRefusedOnResume(string from, string to)
    {
        var dir = TempDir();
        var options = Quick(dir, 10) with { BatchSize = 3 };
        using (var trainer = new DiffuserTrainer(TinyConfig(), options))
        {
            trainer.TrainStep(new SyntheticSquaresDataset(16));
            trainer.SaveCheckpoint();
        }
        var path = DiffuserTrainer.TrainingStatePath(dir);
        CheckpointTests.EditHeaderBytes(path, from, to);
        Assert.Contains("damaged", Assert.Throws<DiffuserCheckpointException>(() => DiffuserTrainer.ReadRun(dir)).Message);
        var e = Assert.Throws<DiffuserCheckpointException>(() => new DiffuserTrainer(TinyConfig(), options with { Resume = true }));
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void ATemporaryFileLeftByAKilledCheckpointWriteIsRemovedWhenTheRunResumes()
    {
        var dir = TempDir();
        using (var t = new DiffuserTrainer(TinyConfig(), Quick(dir, 4))) t.SaveCheckpoint();
        // What SIGKILL during a checkpoint leaves: AtomicFile's hidden file, named after a process that no longer runs.
        var stale = Path.Combine(dir, $".training-state.bin.99999999.{Guid.NewGuid():N}.tmp");
        File.WriteAllText(stale, "half a state");
        using (var resumed = new DiffuserTrainer(TinyConfig(), Quick(dir, 4) with { Resume = true })) Assert.Equal(0, resumed.Step);
        Assert.False(File.Exists(stale));
        Assert.Empty(Directory.GetFiles(dir, "*.tmp"));
    }

    [Fact]
    public void ResumeContinuesBitExactly()
    {
        const int k = 3;
        var data = new SyntheticSquaresDataset(16);
        using var straight = new DiffuserTrainer(TinyConfig(), Quick(TempDir(), 2 * k));
        for (var i = 0; i < 2 * k; i++) straight.TrainStep(data);

        var dir = TempDir();
        using (var first = new DiffuserTrainer(TinyConfig(), Quick(dir, 2 * k)))
        {
            for (var i = 0; i < k; i++) first.TrainStep(data);
            first.SaveCheckpoint();
        }
        using var resumed = new DiffuserTrainer(TinyConfig(), Quick(dir, 2 * k) with { Resume = true, Seed = 999 });
        Assert.Equal(k, resumed.Step);
        for (var i = 0; i < k; i++) resumed.TrainStep(data);

        AssertSameWeights(straight.Model, resumed.Model);
        AssertSameWeights(straight.EmaModel, resumed.EmaModel);
    }

    [Fact]
    public async Task CancellationSavesACheckpointAndEndsCleanly()
    {
        var dir = TempDir();
        using var trainer = new DiffuserTrainer(TinyConfig(), Quick(dir, 50) with { LogEvery = 1 });
        using var cts = new CancellationTokenSource();
        var seen = new List<TrainProgress>();
        await foreach (var p in trainer.TrainAsync(new SyntheticSquaresDataset(16), cts.Token))
        {
            seen.Add(p);
            if (seen.Count == 3) cts.Cancel();
        }
        Assert.Equal(3, seen.Count);
        Assert.Equal(3, trainer.Step);
        Assert.True(seen[^1].StepsPerSecond > 0);
        Assert.True(File.Exists(DiffuserTrainer.TrainingStatePath(dir)));
        using var ckpt = DiffuserCheckpoint.Load(DiffuserTrainer.CheckpointPath(dir));
        Assert.Equal(3, ckpt.Step);
        AssertSameWeights(trainer.EmaModel, ckpt.Model, storedAsHalf: true);
        Assert.True(File.Exists(DiffuserCheckpoint.ManifestPath(DiffuserTrainer.CheckpointPath(dir))));
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(dir, "tensorboard"), "*tfevents*", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task ADatasetOfTheWrongImageSizeFailsTheRunWithItsMessage()
    {
        using var trainer = new DiffuserTrainer(TinyConfig(), Quick(TempDir(), 5));
        var e = await Assert.ThrowsAsync<InvalidOperationException>(async () =>
        {
            await foreach (var _ in trainer.TrainAsync(new SyntheticSquaresDataset(32))) { }
        });
        Assert.Contains("ImageSize = 16", e.Message);
        Assert.Equal(0, trainer.Step);
    }

    [Fact]
    public void ResumeWithoutStateOrWithAnotherArchitectureFailsClearly()
    {
        var dir = TempDir();
        Assert.Contains("nothing to resume", Assert.Throws<DiffuserCheckpointException>(() => new DiffuserTrainer(TinyConfig(), Quick(dir, 4) with { Resume = true })).Message);
        using (var t = new DiffuserTrainer(TinyConfig(), Quick(dir, 4))) t.SaveCheckpoint();
        var e = Assert.Throws<DiffuserCheckpointException>(() => new DiffuserTrainer(TinyConfig() with { TextDim = 16 }, Quick(dir, 4) with { Resume = true }));
        Assert.Contains("TextDim: 32 vs 16", e.Message);
    }

    /// <param name="storedAsHalf">b went through an inference checkpoint: expect a's weights rounded to float16, widened back to float32.</param>
    internal static void AssertSameWeights(nn.Module a, nn.Module b, bool storedAsHalf = false)
    {
        var pb = b.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var (name, p) in a.named_parameters())
        {
            using var expected = storedAsHalf ? p.detach().to(ScalarType.Float16).to(ScalarType.Float32) : p.detach().alias();
            Assert.Equal(ScalarType.Float32, pb[name].dtype);
            Assert.True(expected.eq(pb[name]).all().ToBoolean(), $"parameter {name} differs");
        }
    }
}
