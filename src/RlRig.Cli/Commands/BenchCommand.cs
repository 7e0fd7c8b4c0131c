using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using RlRig.IO;
using RlRig.Diffusion;
using RlRig.LaionSg;
using RlRig.Loop.Actors;
using RlRig.World;

namespace RlRig.Cli.Commands;

/// <summary><c>rlrig bench ...</c>: speed and memory figures, measured by running the real code (run with -c Release).</summary>
public static class BenchCommand
{
    const string Name = "rlrig bench laion-sg";

    public static Command Create() => new("bench", "Measure speed and memory.")
    {
        LaionSg(), Diffuser(), Editor(), Actor(), BenchGrpoCommand.ActorGrpo(), BenchGrpoCommand.EditorGrpo(), Capture(),
    };

    static Command LaionSg()
    {
        var records = new Option<int>("--records")
        {
            Description = $"Synthetic records to generate and read (default {LaionSgBenchmark.DefaultRecords:N0}).",
            DefaultValueFactory = _ => LaionSgBenchmark.DefaultRecords,
        }.AtLeast(1);
        var output = new Option<string?>("--out") { Description = "Also write the figures as JSON to this file." };
        var laionSg = new Command("laion-sg",
            "Write a synthetic LAION-SG file to the temp folder, read and validate every record, and report records/s and peak memory. Run it with -c Release.")
        {
            records, output,
        };
        laionSg.SetAction(result => Run(result.GetValue(records), result.GetValue(output)));
        return laionSg;
    }

    static int Run(int records, string? outPath)
    {
        if (outPath is not null) OutputPolicy.RequireFile(outPath, "--out");
        LaionSgBenchmarkResult result;
        try
        {
            result = LaionSgBenchmark.Run(path: null, records: records);
        }
        catch (Exception e) when (CommandFiles.IsIo(e))
        {
            Console.Error.WriteLine($"{Name}: cannot write or read the synthetic file in {Path.GetTempPath()}: {e.Message}");
            return ExitCodes.UsageOrIo;
        }

        Console.Write(Report(result));
        if (outPath is not null)
        {
            try
            {
                AtomicFile.WriteAllText(outPath, JsonSerializer.Serialize(result, new JsonSerializerOptions { WriteIndented = true }) + "\n");
            }
            catch (Exception e) when (CommandFiles.IsIo(e))
            {
                Console.Error.WriteLine($"{Name}: {CommandFiles.IoProblem("cannot write", outPath, e)}");
                return ExitCodes.UsageOrIo;
            }
            Console.WriteLine($"Wrote {outPath}");
        }
        // The generator writes valid records only: an invalid one means the reader or the writer is broken.
        if (result.Invalid > 0)
        {
            Console.Error.WriteLine($"{Name}: {result.Invalid} of {result.Records} synthetic records failed validation");
            return ExitCodes.InvalidData;
        }
        return ExitCodes.Ok;
    }

    /// <summary>The figures as printed.</summary>
    public static string Report(LaionSgBenchmarkResult r)
    {
        var c = CultureInfo.InvariantCulture;
        return string.Create(c, $"""
            LAION-SG reader: {r.Records:N0} synthetic records, {Mib(r.FileBytes)} (written in {r.GenerateSeconds:F1} s, then deleted)
            read + validate: {r.ReadSeconds:F2} s wall, {r.ReadCpuSeconds:F2} s CPU (one reading thread; CPU includes GC)
              {r.RecordsPerSecond:N0} records/s, {r.RecordsPerCpuSecond:N0} records per CPU second, {r.MegabytesPerSecond:F1} MiB/s
              allocated {r.AllocatedBytesPerRecord:N0} bytes per record
              peak GC heap {Mib(r.PeakGcHeapBytes)}, peak working set {Mib(r.PeakWorkingSetBytes)}, reader buffer {r.ReaderBufferBytes / 1024.0:N0} KiB
              invalid records: {r.Invalid}

            """);
    }

    static string Mib(long bytes) => (bytes / 1048576.0).ToString("N1", CultureInfo.InvariantCulture) + " MiB";

    static Command Diffuser()
    {
        var steps = new Option<int>("--flat-steps") { Description = "Training steps of the memory-flatness run.", DefaultValueFactory = _ => 2000 }.AtLeast(1);
        var output = new Option<FileInfo?>("--out") { Description = "Write the figures as JSON." };
        var command = new Command("diffuser", "Training steps/s (batch 32), sampled images/s (20 DDIM steps, batch 16), peak RSS, and RSS at the start and end of a long training run.")
        {
            steps, output,
        };
        command.SetAction(result =>
        {
            if (result.GetValue(output) is { } outFile) OutputPolicy.RequireFile(outFile.ToString(), "--out");
            RlRig.Torch.TorchRuntime.EnsureLoaded();
            var world = new WorldOptions();
            var config = ShapesWorldDiffuser.Config(world);
            var data = new ShapesWorldDataset(world, []);
            var training = DiffuserBenchmarks.TrainingThroughput(config, batchSize: 32, data: data, groundingWeight: ShapesWorldDiffuser.GroundingWeight);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"training: {training.StepsPerSecond:F3} steps/s at batch 32 ({training.SecondsPerStep:F3} s/step, {training.ParameterCount:N0} parameters, {training.Threads} threads)"));
            var sampling = DiffuserBenchmarks.SamplingThroughput(config, batchSize: 16, ShapesWorldDiffuser.SamplingSteps, ShapesWorldDiffuser.GuidanceScale, ShapesWorldDiffuser.Eta);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"sampling: {sampling.ImagesPerSecond:F2} images/s ({sampling.NumInferenceSteps} DDIM steps, guidance {sampling.GuidanceScale}, eta {sampling.Eta}, batch 16)"));
            var flat = DiffuserBenchmarks.MemoryFlatness(result.GetValue(steps), batchSize: 32, config: config, data: data, groundingWeight: ShapesWorldDiffuser.GroundingWeight,
                progress: MemoryProgress());
            return ReportMemory("rlrig bench diffuser", flat, result.GetValue(output), new { training, sampling, memory = flat });
        });
        return command;
    }

    internal static IProgress<RssSample> MemoryProgress() =>
        new Progress<RssSample>(p => { if (p.Step % 100 == 0) Console.Error.Write($"\r  memory run: step {p.Step}, RSS {p.RssBytes / 1048576} MiB, {p.LiveTensors} live tensors   "); });

    /// <summary>
    /// The memory run's figures and its verdict by the default <see cref="MemoryFlatnessCriterion"/>, then every figure as
    /// JSON when asked (with the criterion and the verdict). Returns the exit code: 1 when memory is not flat.
    /// </summary>
    internal static int ReportMemory(string name, MemoryFlatnessResult flat, FileInfo? output, object figures)
    {
        var criterion = new MemoryFlatnessCriterion();
        var problem = flat.Check(criterion);
        var c = CultureInfo.InvariantCulture;
        Console.Error.WriteLine();
        Console.WriteLine(string.Create(c,
            $"memory: RSS {flat.RssBeforeBytes / 1048576.0:F0} MiB at the start, {flat.RssAfterWarmupBytes / 1048576.0:F0} MiB after {flat.WarmupSteps} warm-up steps, {flat.RssEndBytes / 1048576.0:F0} MiB after {flat.Steps} more at batch {flat.BatchSize} (growth {flat.GrowthBytes / 1048576.0:F1} MiB), at most {flat.MaxRssAfterWarmupBytes / 1048576.0:F0} MiB after warm-up, peak {flat.PeakRssBytes / 1048576.0:F0} MiB"));
        Console.WriteLine(string.Create(c,
            $"live tensors: {flat.LiveTensorsAfterWarmup} after warm-up, {flat.LiveTensorsEnd} at the end, at most {flat.MaxLiveTensors} between steps"));
        Console.WriteLine($"memory {(problem is null ? "flat" : "NOT flat")} ({criterion.Describe()})");
        if (output is not null)
        {
            var json = JsonSerializer.SerializeToNode(figures)!.AsObject();
            json["memory_criterion"] = JsonSerializer.SerializeToNode(criterion);
            json["memory_flat"] = problem is null;
            AtomicFile.WriteAllText(output.FullName, json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        }
        if (problem is null) return ExitCodes.Ok;
        Console.Error.WriteLine($"{name}: memory is not flat: {problem}");
        return ExitCodes.InvalidData;
    }

    static Command Actor()
    {
        var steps = new Option<int>("--flat-steps") { Description = "Training steps of the memory-flatness run.", DefaultValueFactory = _ => 2000 }.AtLeast(1);
        var threads = new Option<int>("--threads") { Description = "Torch CPU threads (0 = libtorch's default).", DefaultValueFactory = _ => 1 }.InRange(0, 1024);
        var output = new Option<FileInfo?>("--out") { Description = "Write the figures as JSON." };
        var command = new Command("actor", "The learned Actor: training steps/s (batch 32), sampled instructions/s (G = 8 per state), RSS after warm-up and after a long training run.")
        {
            steps, threads, output,
        };
        command.SetAction(result =>
        {
            if (result.GetValue(output) is { } outFile) OutputPolicy.RequireFile(outFile.ToString(), "--out");
            RlRig.Torch.TorchRuntime.EnsureLoaded();
            if (result.GetValue(threads) > 0) TorchSharp.torch.set_num_threads(result.GetValue(threads));
            var data = new ActorTrainingData(new WorldOptions(), []);
            var training = ActorBenchmarks.TrainingThroughput(data);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"training: {training.StepsPerSecond:F3} steps/s at batch 32 ({training.SecondsPerStep:F3} s/step with the data, {training.ParameterCount:N0} parameters, {training.Threads} threads)"));
            var sampling = ActorBenchmarks.SamplingThroughput(data);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"sampling: {sampling.InstructionsPerSecond:F1} instructions/s ({sampling.States} states x G = {sampling.G}, temperature 1, random weights)"));
            var flat = ActorBenchmarks.MemoryFlatness(data, result.GetValue(steps), progress: MemoryProgress());
            return ReportMemory("rlrig bench actor", flat, result.GetValue(output), new { training, sampling, memory = flat });
        });
        return command;
    }

    static Command Editor()
    {
        var recipe = RlRig.Loop.Editors.ShapesWorldEditor.TrainerOptions;
        var steps = new Option<int>("--flat-steps") { Description = "Training steps of the memory-flatness run.", DefaultValueFactory = _ => 2000 }.AtLeast(1);
        var batch = new Option<int>("--batch") { Description = "Edits per training step of the memory-flatness run (the speed is measured at the recipe's batch).", DefaultValueFactory = _ => 8 }.InRange(1, 4096);
        var output = new Option<FileInfo?>("--out") { Description = "Write the figures as JSON." };
        var command = new Command("editor", $"The learned editor's recipe: training steps/s (batch {recipe.BatchSize}), edits/s (20 DDIM steps, dual guidance, eta 1, batch 16), and RSS after warm-up and after a long training run taken as train editor takes it.")
        {
            steps, batch, output,
        };
        command.SetAction(result =>
        {
            if (result.GetValue(output) is { } outFile) OutputPolicy.RequireFile(outFile.ToString(), "--out");
            RlRig.Torch.TorchRuntime.EnsureLoaded();
            // One torch thread, as train editor runs by default.
            TorchSharp.torch.set_num_threads(1);
            var world = new WorldOptions();
            var config = RlRig.Loop.Editors.ShapesWorldEditor.Config(ShapesWorldDiffuser.Config(world));
            var data = new RlRig.Loop.Editors.EditorTrainingData(world, []);
            var training = DiffuserBenchmarks.TrainingThroughput(config, batchSize: recipe.BatchSize, data: data, recipe: recipe);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"training: {training.StepsPerSecond:F3} steps/s at batch {training.BatchSize} ({training.SecondsPerStep:F3} s/step, {training.ParameterCount:N0} parameters, {training.Threads} threads)"));
            var sampling = DiffuserBenchmarks.EditingThroughput(config, batchSize: 16);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"editing: {sampling.ImagesPerSecond:F2} edits/s ({sampling.NumInferenceSteps} DDIM steps, 3 NFE each, eta {sampling.Eta}, batch 16)"));
            var flat = DiffuserBenchmarks.MemoryFlatness(result.GetValue(steps), batchSize: result.GetValue(batch), config: config, data: data, recipe: recipe,
                progress: MemoryProgress());
            return ReportMemory("rlrig bench editor", flat, result.GetValue(output), new { training, editing = sampling, memory = flat });
        });
        return command;
    }

    static Command Capture()
    {
        var lines = new Option<int>("--lines") { Description = "Lines the smaller run prints; the larger prints 4 times as many.", DefaultValueFactory = _ => 10_000 };
        var lineBytes = new Option<int>("--line-bytes") { Description = "Characters per line, newline included.", DefaultValueFactory = _ => 1024 };
        var full = new Option<bool>("--full-output") { Description = "Keep every character (no cap), as rlrig run --full-output does." };
        var command = new Command("capture",
            "Run a cell that prints N lines, then 4N, in rlrig run's in-process kernel; report lines/s, allocation and peak memory of each and the ratio of their cost per line (1 means O(1) per write).")
        {
            lines, lineBytes, full,
        };
        command.SetAction(async (result, _) =>
        {
            var n = result.GetValue(lines);
            var bytes = result.GetValue(lineBytes);
            if (n < 1 || bytes < 1)
            {
                Console.Error.WriteLine($"rlrig bench capture: --lines and --line-bytes must be at least 1 (got {n} and {bytes})");
                return ExitCodes.UsageOrIo;
            }
            int? cap = result.GetValue(full) ? null : Notebooks.NotebookRunOptions.DefaultMaxStreamChars;
            var small = await Notebooks.CaptureBenchmark.RunAsync(n, bytes, cap);
            Console.WriteLine(Describe(small));
            var large = await Notebooks.CaptureBenchmark.RunAsync(4 * n, bytes, cap);
            Console.WriteLine(Describe(large));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"cost per line, {4 * n:N0} lines against {n:N0}: {large.MicrosecondsPerLine / small.MicrosecondsPerLine:F2}x time, {(double)large.AllocatedBytes / large.Lines / ((double)small.AllocatedBytes / small.Lines):F2}x allocation"));
            return ExitCodes.Ok;
        });
        return command;
    }

    static string Describe(Notebooks.CaptureRun r) => string.Create(CultureInfo.InvariantCulture,
        $"{r.Lines:N0} lines of {r.LineBytes:N0} B: {r.Seconds:F2} s, {r.LinesPerSecond:N0} lines/s, allocated {Mib(r.AllocatedBytes)} ({(double)r.AllocatedBytes / r.Lines:N0} B/line), peak working set {Mib(r.PeakWorkingSetBytes)}, kept {r.KeptChars:N0} chars{(r.Truncated ? " (truncated)" : "")}");
}
