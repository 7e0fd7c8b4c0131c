using System.Diagnostics;
using TorchSharp;
using static TorchSharp.torch;

namespace RlRig.Diffusion;

/// <summary>
/// Resident memory and live tensors after <paramref name="Step"/> steps (a record, not a tuple: JSON writes its names).
/// <paramref name="LiveTensors"/> is <see cref="torch.Tensor.TotalCount"/> as the step leaves it, before any collection:
/// a tensor left to the finalizer instead of a dispose scope counts until the GC happens to run.
/// </summary>
public sealed record RssSample(int Step, long RssBytes, long LiveTensors = 0);

/// <summary>Training speed at a batch size.</summary>
public sealed record TrainingBenchmarkResult(int BatchSize, int ImageSize, int MeasuredSteps, double StepsPerSecond, double SecondsPerStep, long ParameterCount, int Threads, long PeakRssBytes);

/// <summary>Sampling speed: DDIM steps with classifier-free guidance (one doubled batch per step).</summary>
public sealed record SamplingBenchmarkResult(int BatchSize, int ImageSize, int NumInferenceSteps, double GuidanceScale, double Eta, int Images, double ImagesPerSecond, int Threads, long PeakRssBytes);

/// <summary>
/// What "memory stays flat" means for a memory run (<see cref="MemoryFlatnessResult"/>), measured from the warm-up
/// baseline: a leak of one tensor a step fails the first test exactly, a leak of one batch's activations a step (hundreds
/// of KiB) the second within a few hundred steps, while the allocator's settling after warm-up (the editor's training
/// grew 24 MiB over its first 600 steps, then stayed) passes.
/// </summary>
public sealed record MemoryFlatnessCriterion
{
    /// <summary>
    /// Most growth of live tensors (<see cref="torch.Tensor.TotalCount"/>), from the baseline to every later sample. Defaults to 0:
    /// between steps a run holds its weights, optimizer state and nothing else, so any growth is a tensor a step failed to free.
    /// </summary>
    public long MaxLiveTensorGrowth { get; init; }

    /// <summary>Most RSS growth from the baseline to the end, both after a full collection. Defaults to 32 MiB.</summary>
    public long MaxRssGrowthBytes { get; init; } = 32L << 20;

    /// <summary>The criterion in words, for a report.</summary>
    public string Describe() => string.Create(System.Globalization.CultureInfo.InvariantCulture,
        $"live tensors never above the warm-up baseline + {MaxLiveTensorGrowth}, RSS at the end within {MaxRssGrowthBytes / 1048576.0:F0} MiB of it");
}

/// <summary>Resident memory and live tensors over a training run: flat means both stay at the warm-up baseline (<see cref="Check"/>).</summary>
/// <param name="RssBeforeBytes">Before the first step (model and optimizer built).</param>
/// <param name="RssAfterWarmupBytes">After the warm-up steps (Adam moments and allocator pools exist by then) and a full collection: the baseline.</param>
/// <param name="RssEndBytes">After the last step and a full collection.</param>
/// <param name="LiveTensorsAfterWarmup">Live tensors at the baseline (after the collection).</param>
/// <param name="LiveTensorsEnd">Live tensors at the end (after the collection).</param>
/// <param name="MaxLiveTensors">The most live tensors at any sample after warm-up, as the step left them (no collection).</param>
/// <param name="Samples">RSS and live tensors every few steps, for a chart.</param>
public sealed record MemoryFlatnessResult(int Steps, int WarmupSteps, int BatchSize, long RssBeforeBytes, long RssAfterWarmupBytes, long RssEndBytes, long PeakRssBytes,
    IReadOnlyList<RssSample> Samples, long LiveTensorsAfterWarmup = 0, long LiveTensorsEnd = 0, long MaxLiveTensors = 0)
{
    /// <summary>Growth from the warm-up baseline to the end, in bytes.</summary>
    public long GrowthBytes => RssEndBytes - RssAfterWarmupBytes;

    /// <summary>The most RSS at any sample after warm-up.</summary>
    public long MaxRssAfterWarmupBytes => Samples.Count == 0 ? RssEndBytes : Math.Max(RssEndBytes, Samples.Max(s => s.RssBytes));

    /// <summary>Why the run is not flat by <paramref name="criterion"/> (the default one when null), or null when it is.</summary>
    public string? Check(MemoryFlatnessCriterion? criterion = null)
    {
        criterion ??= new MemoryFlatnessCriterion();
        var problems = new List<string>();
        if (Math.Max(MaxLiveTensors, LiveTensorsEnd) - LiveTensorsAfterWarmup > criterion.MaxLiveTensorGrowth)
            problems.Add($"live tensors grew from {LiveTensorsAfterWarmup} to {Math.Max(MaxLiveTensors, LiveTensorsEnd)} (at most {LiveTensorsAfterWarmup + criterion.MaxLiveTensorGrowth} allowed)");
        if (GrowthBytes > criterion.MaxRssGrowthBytes)
            problems.Add(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"RSS grew {GrowthBytes / 1048576.0:F1} MiB (at most {criterion.MaxRssGrowthBytes / 1048576.0:F0} MiB allowed)"));
        return problems.Count == 0 ? null : string.Join("; ", problems);
    }
}

/// <summary>Measurements behind <c>rlrig bench diffuser</c> and <c>rlrig bench editor</c>. Each builds a fresh model; only the memory run writes (checkpoints, into a temporary folder it deletes).</summary>
public static class DiffuserBenchmarks
{
    /// <summary>The configuration the benchmarks use when none is given: the defaults over the synthetic vocabulary.</summary>
    public static DiffuserConfig DefaultConfig(int imageSize = 32) => new() { ImageSize = imageSize, Vocabulary = SyntheticSquaresDataset.Vocabulary };

    /// <summary>Training steps per second (forward, backward, clip, Adam, EMA) after <paramref name="warmupSteps"/> untimed steps.</summary>
    /// <param name="groundingWeight">As <see cref="DiffuserTrainerOptions.GroundingWeight"/>: its cost is part of a step on grounded data.</param>
    /// <param name="recipe">The run's options (dropouts, ...) that length, batch, logging and output are set on; the library's defaults when null. Its InitFrom is ignored: speed does not depend on the weights.</param>
    public static TrainingBenchmarkResult TrainingThroughput(DiffuserConfig? config = null, int batchSize = 32, int warmupSteps = 3, int measuredSteps = 20, IImageTextDataset? data = null,
        double groundingWeight = 0, DiffuserTrainerOptions? recipe = null)
    {
        config ??= DefaultConfig();
        data ??= new SyntheticSquaresDataset(config.ImageSize);
        using var trainer = new DiffuserTrainer(config, Options(recipe, batchSize, warmupSteps + measuredSteps) with { GroundingWeight = groundingWeight });
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

    /// <summary>Edits per second of <see cref="ImageEditPipeline.Edit"/> (random weights: speed does not depend on them), each with its own generator.</summary>
    public static SamplingBenchmarkResult EditingThroughput(DiffuserConfig config, int batchSize = 16, int numInferenceSteps = 20, double imageGuidanceScale = 1.5,
        double guidanceScale = 3.0, double eta = 1.0, double strength = 1.0, int batches = 2)
    {
        using var model = new TextToImageDiffuser(config);
        var pipeline = new ImageEditPipeline(model);
        using var sources = rand(batchSize, 3, config.ImageSize, config.ImageSize) * 2 - 1;
        var instructions = Enumerable.Repeat("", batchSize).ToList();
        void Run(int seed)
        {
            var generators = Enumerable.Range(seed * batchSize, batchSize).Select(s => new Generator((ulong)s, CPU)).ToList();
            try { using (pipeline.Edit(sources, instructions, generators, numInferenceSteps, imageGuidanceScale, guidanceScale, eta, strength, batchSize: batchSize)) { } }
            finally { foreach (var g in generators) g.Dispose(); }
        }
        Run(0);  // warm-up
        var clock = Stopwatch.StartNew();
        for (var i = 1; i <= batches; i++) Run(i);
        var edits = batches * batchSize;
        return new SamplingBenchmarkResult(batchSize, config.ImageSize, numInferenceSteps, guidanceScale, eta, edits, edits / clock.Elapsed.TotalSeconds,
            get_num_threads(), ProcessMemory.PeakRssBytes());
    }

    /// <summary>
    /// RSS at the start and end of <paramref name="steps"/> training steps, taken the way a training run takes them
    /// (<see cref="DiffuserTrainer.TrainAsync"/> with TensorBoard logging and a checkpoint every 250 steps, into a temporary
    /// folder deleted afterwards); a leak of one batch per step shows as steady growth.
    /// </summary>
    /// <param name="recipe">As in <see cref="TrainingThroughput"/>.</param>
    public static MemoryFlatnessResult MemoryFlatness(int steps = 1000, int batchSize = 32, int warmupSteps = 20, DiffuserConfig? config = null, IImageTextDataset? data = null,
        double groundingWeight = 0, IProgress<RssSample>? progress = null, DiffuserTrainerOptions? recipe = null)
    {
        config ??= DefaultConfig();
        data ??= new SyntheticSquaresDataset(config.ImageSize);
        var folder = Directory.CreateTempSubdirectory("rlrig-bench-").FullName;
        try
        {
            var options = Options(recipe, batchSize, warmupSteps + steps) with { CheckpointEvery = 250, LogEvery = 10, OutputDir = folder, GroundingWeight = groundingWeight };
            using var trainer = new DiffuserTrainer(config, options.Validate());
            return TrackMemory(trainer.TrainAsync(data).ToBlockingEnumerable(), steps, warmupSteps, batchSize, progress);
        }
        finally { Directory.Delete(folder, recursive: true); }
    }

    /// <summary>
    /// RSS and live tensors over any trainer's run (<paramref name="run"/> of <paramref name="warmupSteps"/> +
    /// <paramref name="steps"/> steps, enumerated here; <paramref name="stepOf"/> reads a report's step): before the first
    /// step, after the warm-up (the baseline), every few steps, and at the end.
    /// </summary>
    public static MemoryFlatnessResult TrackMemory<TReport>(IEnumerable<TReport> run, Func<TReport, int> stepOf, int steps, int warmupSteps, int batchSize,
        IProgress<RssSample>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(stepOf);
        var before = ProcessMemory.RssBytes();
        var baseline = new RssSample(0, before, Tensor.TotalCount);
        var samples = new List<RssSample>();
        var every = Math.Max(1, steps / 50);
        foreach (var report in run)
        {
            var i = stepOf(report) - warmupSteps;
            if (i == 0) samples.Add(baseline = Settle(0));
            else if (i > 0 && (i % every == 0 || i == steps))
            {
                var sample = new RssSample(i, ProcessMemory.RssBytes(), Tensor.TotalCount);
                samples.Add(sample);
                progress?.Report(sample);
            }
        }
        var end = Settle(steps);
        var after = samples.Where(s => s.Step > 0).ToList();
        return new MemoryFlatnessResult(steps, warmupSteps, batchSize, before, baseline.RssBytes, end.RssBytes, ProcessMemory.PeakRssBytes(), samples,
            baseline.LiveTensors, end.LiveTensors, after.Count == 0 ? end.LiveTensors : after.Max(s => s.LiveTensors));
    }

    /// <summary><see cref="TrackMemory{TReport}"/> over a supervised trainer's run.</summary>
    public static MemoryFlatnessResult TrackMemory(IEnumerable<TrainProgress> run, int steps, int warmupSteps, int batchSize, IProgress<RssSample>? progress = null) =>
        TrackMemory(run, r => r.Step, steps, warmupSteps, batchSize, progress);

    // Collect managed garbage first, so the figures are what native tensors and live objects hold, not pending finalizers.
    static RssSample Settle(int step)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return new RssSample(step, ProcessMemory.RssBytes(), Tensor.TotalCount);
    }

    static DiffuserTrainerOptions Options(DiffuserTrainerOptions? recipe, int batchSize, int totalSteps) =>
        ((recipe ?? new DiffuserTrainerOptions()) with
        {
            BatchSize = batchSize, TotalSteps = totalSteps, CheckpointEvery = 0, LogEvery = 0, OutputDir = Path.GetTempPath(), InitFrom = null, Resume = false,
        }).Validate();
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
