using System.CommandLine;
using RlRig.Torch;

namespace RlRig.Cli.Commands;

/// <summary>
/// The flags of every small-model trainer's command (<c>train checker</c>, <c>train actor</c>): their defaults from the
/// trainer's options, their checks (all made before libtorch loads or anything is written), and the options they give,
/// a resumed run taking what the command line does not say from its run folder.
/// </summary>
sealed class TrainerFlags
{
    public TrainerFlags(TrainerOptions defaults, string batchDescription, string threadsDescription, string lrExample)
    {
        this.lrExample = lrExample;
        Steps = new Option<int>("--steps") { Description = "Optimizer steps.", DefaultValueFactory = _ => defaults.TotalSteps };
        Batch = new Option<int>("--batch") { Description = batchDescription, DefaultValueFactory = _ => defaults.BatchSize };
        Seed = new Option<long>("--seed") { Description = "Seed of weights and data.", DefaultValueFactory = _ => defaults.Seed };
        Output = new Option<DirectoryInfo>("--out") { Description = "Run folder (checkpoint, training state, TensorBoard events).", DefaultValueFactory = _ => new DirectoryInfo(defaults.OutputDir) };
        Resume = new Option<bool>("--resume") { Description = "Continue the run in --out exactly where it stopped, with its architecture and options (flags given override them)." };
        Every = new Option<int>("--checkpoint-every") { Description = "Steps between checkpoints (0 = only at the end).", DefaultValueFactory = _ => defaults.CheckpointEvery };
        Threads = new Option<int>("--threads") { Description = threadsDescription, DefaultValueFactory = _ => defaults.NumThreads };
        Lr = new Option<double>("--lr") { Description = "Peak learning rate.", DefaultValueFactory = _ => defaults.LearningRate };
    }

    readonly string lrExample;

    public Option<int> Steps { get; }
    public Option<int> Batch { get; }
    public Option<long> Seed { get; }
    public Option<DirectoryInfo> Output { get; }
    public Option<bool> Resume { get; }
    public Option<int> Every { get; }
    public Option<int> Threads { get; }
    public Option<double> Lr { get; }

    public IEnumerable<Option> All => [Steps, Batch, Seed, Output, Resume, Every, Threads, Lr];

    /// <summary>The first flag out of range, as "--flag: how to fix it", or null.</summary>
    public string? Problem(ParseResult result)
    {
        var lr = result.GetValue(Lr);
        var problem = result.GetValue(Steps) is < 1 or > 10_000_000 ? "--steps: use 1 to 10000000"
            : result.GetValue(Batch) is < 1 or > 4096 ? "--batch: use 1 to 4096"
            : result.GetValue(Seed) < 0 ? "--seed: use a non-negative integer"
            : result.GetValue(Every) is < 0 or > 10_000_000 ? "--checkpoint-every: use 0 (only at the end) to 10000000"
            : result.GetValue(Threads) is < 0 or > 1024 ? "--threads: use 0 (libtorch's default) to 1024"
            : !(double.IsFinite(lr) && lr > 0 && lr < 1) ? $"--lr: use a number in (0, 1), e.g. {lrExample}"
            : null;
        var outputDir = result.GetValue(Output)!.FullName;
        return problem ?? (File.Exists(outputDir) ? $"--out {outputDir}: is a file; give a folder for the run" : null);
    }

    /// <summary>The flag's value, or the resumed run's where the command line does not give the flag.</summary>
    public static T Value<T>(ParseResult result, Option<T> option, bool resumed, Func<T> fromRun) =>
        resumed && result.GetResult(option) is null or { Implicit: true } ? fromRun() : result.GetValue(option)!;

    /// <summary><paramref name="defaults"/> with the shared options from the command line (or <paramref name="saved"/>, the resumed run's).</summary>
    public TOptions Options<TOptions>(ParseResult result, TOptions defaults, TrainerOptions? saved) where TOptions : TrainerOptions
    {
        T V<T>(Option<T> option, Func<TrainerOptions, T> fromRun) => Value(result, option, saved is not null, () => fromRun(saved!));
        TrainerOptions start = defaults;
        return (TOptions)(start with
        {
            TotalSteps = V(Steps, r => r.TotalSteps),
            BatchSize = V(Batch, r => r.BatchSize),
            Seed = V(Seed, r => r.Seed),
            OutputDir = result.GetValue(Output)!.FullName,
            Resume = result.GetValue(Resume),
            CheckpointEvery = V(Every, r => r.CheckpointEvery),
            NumThreads = result.GetValue(Threads),
            LearningRate = V(Lr, r => r.LearningRate),
        });
    }
}
