using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using RlRig.Diffusion;
using RlRig.IO;
using RlRig.World;

namespace RlRig.Cli.Commands;

/// <summary><c>rlrig bench ...</c>: throughput and memory figures, measured by running the real code.</summary>
public static class BenchCommand
{
    public static Command Create() => new("bench", "Measure speed and memory.") { Diffuser() };

    static Command Diffuser()
    {
        var steps = new Option<int>("--flat-steps") { Description = "Training steps of the memory-flatness run.", DefaultValueFactory = _ => 2000 };
        var output = new Option<FileInfo?>("--out") { Description = "Write the figures as JSON." };
        var command = new Command("diffuser", "Training steps/s (batch 32), sampled images/s (20 DDIM steps, batch 16), peak RSS, and RSS at the start and end of a long training run.")
        {
            steps, output,
        };
        command.SetAction(result =>
        {
            RlRig.Torch.TorchRuntime.EnsureLoaded();
            var world = new WorldOptions();
            var config = TrainCommand.ShapesWorldConfig(world);
            var data = new ShapesWorldDataset(world, []);
            var training = DiffuserBenchmarks.TrainingThroughput(config, batchSize: 32, data: data);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"training: {training.StepsPerSecond:F3} steps/s at batch 32 ({training.SecondsPerStep:F3} s/step, {training.ParameterCount:N0} parameters, {training.Threads} threads)"));
            var sampling = DiffuserBenchmarks.SamplingThroughput(config, batchSize: 16, numInferenceSteps: 20);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"sampling: {sampling.ImagesPerSecond:F2} images/s (20 DDIM steps, guidance {sampling.GuidanceScale}, batch 16)"));
            var flat = DiffuserBenchmarks.MemoryFlatness(result.GetValue(steps), batchSize: 32, config: config, data: data,
                progress: new Progress<(int Step, long Rss)>(p => { if (p.Step % 100 == 0) Console.Error.Write($"\r  memory run: step {p.Step}, RSS {p.Rss / 1048576} MiB   "); }));
            Console.Error.WriteLine();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"memory: RSS {flat.RssAfterWarmupBytes / 1048576.0:F0} MiB after warm-up, {flat.RssEndBytes / 1048576.0:F0} MiB after {flat.Steps} steps (growth {flat.GrowthBytes / 1048576.0:F1} MiB), peak {flat.PeakRssBytes / 1048576.0:F0} MiB"));
            if (result.GetValue(output) is { } file)
                AtomicFile.WriteAllText(file.FullName, JsonSerializer.Serialize(new { training, sampling, memory = flat }, new JsonSerializerOptions { WriteIndented = true }));
            return 0;
        });
        return command;
    }
}
