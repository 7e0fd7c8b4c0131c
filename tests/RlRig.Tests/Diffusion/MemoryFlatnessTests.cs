using RlRig.Diffusion;
using RlRig.Tests.Support;
using Xunit;

namespace RlRig.Tests.Diffusion;

[Collection(ProcessMemoryCollection.Name)]
public sealed class MemoryFlatnessTests : TorchTestBase
{
    [Fact]
    public void TrainingMemoryStaysFlat()
    {
        var result = DiffuserBenchmarks.MemoryFlatness(steps: 300, batchSize: 8, warmupSteps: 20, config: TinyConfig());
        // Leaking one step's activations (several MB at this size) would grow RSS by hundreds of MB over 300 steps.
        Assert.True(result.GrowthBytes < 40L << 20, $"RSS grew {result.GrowthBytes >> 20} MB: {result.RssAfterWarmupBytes >> 20} -> {result.RssEndBytes >> 20} MB");
        Assert.Equal(300, result.Samples[^1].Step);
        // Between steps the run holds its weights, Adam's moments and the EMA copy: a tensor a step left alive would show.
        Assert.Equal(result.LiveTensorsAfterWarmup, result.MaxLiveTensors);
        // `rlrig bench diffuser --out` writes this record: every sample must keep its names.
        Assert.Contains("\"Step\":300,\"RssBytes\":", System.Text.Json.JsonSerializer.Serialize(result));
    }

    [Fact]
    public void GroundedTrainingMemoryStaysFlat()
    {
        // The grounding loss records attention weights outside every dispose scope; the trainer must free them each step.
        var config = TinyShapesWorldConfig();
        var data = new RlRig.World.ShapesWorldDataset(new RlRig.World.WorldOptions(), []);
        var result = DiffuserBenchmarks.MemoryFlatness(steps: 200, batchSize: 8, warmupSteps: 20, config: config, data: data, groundingWeight: 0.05);
        Assert.True(result.GrowthBytes < 40L << 20, $"RSS grew {result.GrowthBytes >> 20} MB: {result.RssAfterWarmupBytes >> 20} -> {result.RssEndBytes >> 20} MB");
    }

    [Fact]
    public void ActorTrainingMemoryStaysFlat()
    {
        var data = new RlRig.Loop.Actors.ActorTrainingData(new RlRig.World.WorldOptions(), []);
        var result = RlRig.Loop.Actors.ActorBenchmarks.MemoryFlatness(data, steps: 150, batchSize: 8, warmupSteps: 10,
            config: new RlRig.Loop.Actors.ActorConfig { Dim = 32, Layers = 1, Heads = 2 });
        Assert.Null(result.Check(new MemoryFlatnessCriterion { MaxRssGrowthBytes = 40L << 20 }));
        Assert.Equal(result.LiveTensorsAfterWarmup, result.LiveTensorsEnd);
    }

    static MemoryFlatnessResult Run(long rssAfterWarmup, long rssEnd, long tensorsAfterWarmup, long maxTensors, long tensorsEnd) =>
        new(100, 10, 8, 0, rssAfterWarmup, rssEnd, rssEnd, [new RssSample(50, rssEnd, maxTensors)], tensorsAfterWarmup, tensorsEnd, maxTensors);

    [Fact]
    public void The_criterion_passes_a_flat_run_and_names_what_grew_in_one_that_is_not()
    {
        var criterion = new MemoryFlatnessCriterion { MaxRssGrowthBytes = 10L << 20, MaxLiveTensorGrowth = 0 };
        Assert.Null(Run(500L << 20, 510L << 20, 200, 200, 200).Check(criterion));
        Assert.Null(Run(500L << 20, 400L << 20, 200, 150, 150).Check(criterion));
        // One tensor more between steps than after warm-up is a leak, even when a collection at the end frees it.
        Assert.Contains("live tensors grew from 200 to 201", Run(500L << 20, 500L << 20, 200, 201, 200).Check(criterion));
        Assert.Contains("RSS grew 10.1 MiB (at most 10 MiB", Run(500L << 20, (510L << 20) + (100L << 10), 200, 200, 200).Check(criterion));
        Assert.Contains("RSS grew 100.0 MiB", new MemoryFlatnessResult(100, 10, 8, 0, 500L << 20, 600L << 20, 600L << 20, [], 200, 200, 200).Check());
    }
}
