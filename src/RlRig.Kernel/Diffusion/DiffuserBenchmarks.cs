using System.Diagnostics;
using static TorchSharp.torch;

namespace RlRig.Diffusion;

/// <summary>Resident memory after <paramref name="Step"/> steps (a record, not a tuple: JSON writes its names).</summary>
public sealed record RssSample(int Step, long RssBytes);

/// <summary>Training speed at a batch size.</summary>
public sealed record TrainingBenchmarkResult(int BatchSize, int ImageSize, int MeasuredSteps, double StepsPerSecond, double SecondsPerStep, long ParameterCount, int Threads, long PeakRssBytes);

/// <summary>Sampling speed: DDIM steps with classifier-free guidance (one doubled batch per step).</summary>
public sealed record SamplingBenchmarkResult(int BatchSize, int ImageSize, int NumInferenceSteps, double GuidanceScale, double Eta, int Images, double ImagesPerSecond, int Threads, long PeakRssBytes);

/// <summary>Resident memory over a training run: flat means <see cref="RssEndBytes"/> ≈ <see cref="RssAfterWarmupBytes"/>.</summary>
/// <param name="RssBeforeBytes">Before the first step (model and optimizer built).</param>
/// <param name="RssAfterWarmupBytes">After the warm-up steps (Adam moments and allocator pools exist by then): the baseline.</param>
/// <param name="RssEndBytes">After the last step.</param>
/// <param name="Samples">RSS every few steps, for a chart.</param>
public sealed record MemoryFlatnessResult(int Steps, int WarmupSteps, int BatchSize, long RssBeforeBytes, long RssAfterWarmupBytes, long RssEndBytes, long PeakRssBytes,
    IReadOnlyList<RssSample> Samples)
{
    /// <summary>Growth from the warm-up baseline to the end, in bytes.</summary>
    public long GrowthBytes => RssEndBytes - RssAfterWarmupBytes;
}

/// <summary>Measurements behind <c>rlrig bench diffuser</c>. Each builds a fresh model; only the memory run writes (checkpoints, into a temporary folder it deletes).</summary>
public static class DiffuserBenchmarks
{
    /// <summary>The configuration the benchmarks use when none is given: the defaults over the synthetic vocabulary.</summary>
    public static DiffuserConfig DefaultConfig(int imageSize = 32) => new() { ImageSize = imageSize, Vocabulary = SyntheticSquaresDataset.Vocabulary };

    /// <summary>Training steps per second (forward, backward, clip, Adam, EMA) after <paramref name="warmupSteps"/> untimed steps.</summary>
    /// <param name="groundingWeight">As <see cref="DiffuserTrainerOptions.GroundingWeight"/>: its cost is part of a step on grounded data.</param>
    public static TrainingBenchmarkResult TrainingThroughput(DiffuserConfig? config = null, int batchSize = 32, int warmupSteps = 3, int measuredSteps = 20, IImageTextDataset? data = null,
        double groundingWeight = 0)
    {
        config ??= DefaultConfig();
        data ??= new SyntheticSquaresDataset(config.ImageSize);
        using var trainer = new DiffuserTrainer(config, Options(batchSize, warmupSteps + measuredSteps) with { GroundingWeight = groundingWeight });
        for (var i = 0; i < warmupSteps; i++) trainer.TrainStep(data);
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < measuredSteps; i++) trainer.TrainStep(data);
        var seconds = clock.Elapsed.TotalSeconds;
        return new TrainingBenchmarkResult(batchSize, config.ImageSize, measuredSteps, measuredSteps / seconds, seconds / measuredSteps,
            trainer.Model.ParameterCount, get_num_threads(), ProcessMemory.PeakRssBytes());
    }

    /// <summary>Images per second of <see cref="DiffusionPipeline.Generate(IReadOnlyList{string}, int, double, double, Generator?, int, bool)"/> (random weights: speed does not depend on them).</summary>
    public static SamplingBenchmarkResult SamplingThroughput(DiffuserConfig? config = null, int batchSize = 16, int numInferenceSteps = 20, double guidanceScale = 3.0, double eta = 0.0, int batches = 2)
    {
        config ??= DefaultConfig();
        using var model = new TextToImageDiffuser(config);
        var pipeline = new DiffusionPipeline(model);
        using var generator = new Generator(0, CPU);
        var prompts = Enumerable.Repeat("red square left of blue square", batchSize).ToList();
        using (pipeline.Generate(prompts, numInferenceSteps, guidanceScale, eta, generator, batchSize)) { }  // warm-up
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < batches; i++)
            using (pipeline.Generate(prompts, numInferenceSteps, guidanceScale, eta, generator, batchSize)) { }
        var images = batches * batchSize;
        return new SamplingBenchmarkResult(batchSize, config.ImageSize, numInferenceSteps, guidanceScale, eta, images, images / clock.Elapsed.TotalSeconds,
            get_num_threads(), ProcessMemory.PeakRssBytes());
    }

    /// <summary>
    /// RSS at the start and end of <paramref name="steps"/> training steps, taken the way a training run takes them
    /// (<see cref="DiffuserTrainer.TrainAsync"/> with TensorBoard logging and a checkpoint every 250 steps, into a temporary
    /// folder deleted afterwards); a leak of one batch per step shows as steady growth.
    /// </summary>
    public static MemoryFlatnessResult MemoryFlatness(int steps = 1000, int batchSize = 32, int warmupSteps = 20, DiffuserConfig? config = null, IImageTextDataset? data = null,
        double groundingWeight = 0, IProgress<RssSample>? progress = null)
    {
        config ??= DefaultConfig();
        data ??= new SyntheticSquaresDataset(config.ImageSize);
        var folder = Directory.CreateTempSubdirectory("rlrig-bench-").FullName;
        try
        {
            var options = new DiffuserTrainerOptions
            {
                BatchSize = batchSize, TotalSteps = warmupSteps + steps, CheckpointEvery = 250, LogEvery = 10, OutputDir = folder, GroundingWeight = groundingWeight,
            };
            using var trainer = new DiffuserTrainer(config, options.Validate());
            return TrackMemory(trainer.TrainAsync(data).ToBlockingEnumerable(), steps, warmupSteps, batchSize, progress);
        }
        finally { Directory.Delete(folder, recursive: true); }
    }

    /// <summary>
    /// RSS over any trainer's run (<paramref name="run"/> of <paramref name="warmupSteps"/> + <paramref name="steps"/>
    /// steps, enumerated here): before the first step, after the warm-up (the baseline), every few steps, and at the end.
    /// </summary>
    public static MemoryFlatnessResult TrackMemory(IEnumerable<TrainProgress> run, int steps, int warmupSteps, int batchSize, IProgress<RssSample>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(run);
        var before = ProcessMemory.RssBytes();
        var baseline = before;
        var samples = new List<RssSample>();
        var every = Math.Max(1, steps / 50);
        foreach (var report in run)
        {
            var i = report.Step - warmupSteps;
            if (i == 0) samples.Add(new RssSample(0, baseline = Settle()));
            else if (i > 0 && (i % every == 0 || i == steps))
            {
                var sample = new RssSample(i, ProcessMemory.RssBytes());
                samples.Add(sample);
                progress?.Report(sample);
            }
        }
        return new MemoryFlatnessResult(steps, warmupSteps, batchSize, before, baseline, Settle(), ProcessMemory.PeakRssBytes(), samples);
    }

    // Collect managed garbage first, so the figure is what native tensors and live objects hold, not pending finalizers.
    static long Settle()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return ProcessMemory.RssBytes();
    }

    static DiffuserTrainerOptions Options(int batchSize, int totalSteps) =>
        new DiffuserTrainerOptions { BatchSize = batchSize, TotalSteps = totalSteps, CheckpointEvery = 0, LogEvery = 0, OutputDir = Path.GetTempPath() }.Validate();
}

/// <summary>Resident set size of this process, from /proc on Linux (the process API elsewhere).</summary>
public static class ProcessMemory
{
    /// <summary>Current resident set size in bytes.</summary>
    public static long RssBytes() => ReadStatus("VmRSS:") ?? Process.GetCurrentProcess().WorkingSet64;

    /// <summary>Peak resident set size ("high water mark") in bytes.</summary>
    public static long PeakRssBytes() => ReadStatus("VmHWM:") ?? Process.GetCurrentProcess().PeakWorkingSet64;

    static long? ReadStatus(string key)
    {
        if (!OperatingSystem.IsLinux()) return null;
        try
        {
            var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith(key, StringComparison.Ordinal));
            var kb = line?[key.Length..].Trim().Split(' ')[0];
            return long.TryParse(kb, out var v) ? v * 1024 : null;
        }
        catch (IOException) { return null; }
    }
}
