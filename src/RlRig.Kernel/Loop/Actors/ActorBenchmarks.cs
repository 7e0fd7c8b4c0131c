using System.Diagnostics;
using RlRig.Diffusion;
using RlRig.World;
using static TorchSharp.torch;

namespace RlRig.Loop.Actors;

/// <summary>Sampling speed of the learned Actor: instructions drawn per second (G per state, at the options' temperature).</summary>
public sealed record ActorSamplingBenchmarkResult(int States, int G, int Instructions, double InstructionsPerSecond, int Threads);

/// <summary>Measurements behind <c>rlrig bench actor</c>; each builds a fresh model (speed does not depend on the weights).</summary>
public static class ActorBenchmarks
{
    static ActorTrainerOptions Options(string folder, int batchSize, int totalSteps, int checkpointEvery, int logEvery) =>
        new ActorTrainerOptions { BatchSize = batchSize, TotalSteps = totalSteps, CheckpointEvery = checkpointEvery, LogEvery = logEvery, OutputDir = folder }.Validate();

    /// <summary>Training steps per second (data, forward, backward, clip, AdamW) after <paramref name="warmupSteps"/> untimed steps.</summary>
    public static TrainingBenchmarkResult TrainingThroughput(ActorTrainingData data, ActorConfig? config = null, int batchSize = 32, int warmupSteps = 3, int measuredSteps = 20)
    {
        ArgumentNullException.ThrowIfNull(data);
        using var trainer = new ActorTrainer(config ?? new ActorConfig(), Options(Path.GetTempPath(), batchSize, warmupSteps + measuredSteps, 0, 0));
        for (var i = 0; i < warmupSteps; i++) trainer.TrainStep(data);
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < measuredSteps; i++) trainer.TrainStep(data);
        var seconds = clock.Elapsed.TotalSeconds;
        return new TrainingBenchmarkResult(batchSize, data.World.CanvasSize, measuredSteps, measuredSteps / seconds, seconds / measuredSteps,
            trainer.Model.ParameterCount, get_num_threads(), ProcessMemory.PeakRssBytes());
    }

    /// <summary>Instructions sampled per second: <paramref name="g"/> per state for <paramref name="states"/> fresh states (the states' making not timed).</summary>
    public static ActorSamplingBenchmarkResult SamplingThroughput(ActorTrainingData data, ActorConfig? config = null, int states = 16, int g = 8)
    {
        ArgumentNullException.ThrowIfNull(data);
        var reflections = ActorEvaluation.HeldOut(data, states, seed: 1).Select(e => e.Reflection).ToList();
        using var actor = new LearnedActor(new ActorNet(config ?? new ActorConfig()), data.World);
        actor.Sample(reflections.Take(1).ToList(), 1);  // warm-up
        var clock = Stopwatch.StartNew();
        var drawn = actor.Sample(reflections, g).Sum(x => x.Count);
        return new ActorSamplingBenchmarkResult(states, g, drawn, drawn / clock.Elapsed.TotalSeconds, get_num_threads());
    }

    /// <summary>
    /// RSS over <paramref name="steps"/> training steps taken as a training run takes them (<see cref="ActorTrainer.TrainAsync"/>
    /// with TensorBoard and a checkpoint every 250 steps, into a temporary folder deleted afterwards).
    /// </summary>
    public static MemoryFlatnessResult MemoryFlatness(ActorTrainingData data, int steps = 2000, int batchSize = 32, int warmupSteps = 20, ActorConfig? config = null,
        IProgress<RssSample>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        var folder = Directory.CreateTempSubdirectory("rlrig-bench-").FullName;
        try
        {
            using var trainer = new ActorTrainer(config ?? new ActorConfig(), Options(folder, batchSize, warmupSteps + steps, 250, 10));
            return DiffuserBenchmarks.TrackMemory(trainer.TrainAsync(data).ToBlockingEnumerable(), steps, warmupSteps, batchSize, progress);
        }
        finally { Directory.Delete(folder, recursive: true); }
    }
}
