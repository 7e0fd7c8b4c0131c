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
}
