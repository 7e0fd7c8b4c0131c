using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json.Nodes;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace RlRig.Diffusion;

/// <summary>
/// Trains a <see cref="TextToImageDiffuser"/> on the DDPM objective (predict epsilon, v or x0 at a random timestep, mean
/// squared error), with null-prompt dropout for guidance, Adam with warm-up and decay, gradient clipping, an EMA of the
/// weights, TensorBoard scalars, and atomic checkpoints that resume bit-exactly.
/// </summary>
/// <remarks>
/// The run folder holds <c>diffuser.ckpt</c> (+ manifest: the small inference checkpoint, EMA weights),
/// <c>training-state.bin</c> (weights, EMA, Adam moments, both generators' states, step, options, config) and
/// <c>tensorboard/</c>. All randomness comes from two torch generators (data and noise); no System.Random is used.
/// </remarks>
public sealed class DiffuserTrainer : IDisposable
{
    readonly Adam optimizer;
    readonly Generator dataGenerator, noiseGenerator;
    readonly NoiseSchedule schedule;
    readonly PromptTokenizer tokenizer;
    readonly Parameter[] parameters, emaParameters;
    SummaryWriter? tensorboard;

    /// <summary>Builds the model (seeded by <see cref="DiffuserTrainerOptions.Seed"/>) or, with Resume, restores the run in OutputDir.</summary>
    /// <exception cref="ArgumentException">Invalid options or configuration.</exception>
    /// <exception cref="DiffuserCheckpointException">Resume was asked for and the training state is missing, damaged, or of another configuration.</exception>
    public DiffuserTrainer(DiffuserConfig config, DiffuserTrainerOptions options)
    {
        Config = (config ?? throw new ArgumentNullException(nameof(config))).Validate();
        Options = (options ?? throw new ArgumentNullException(nameof(options))).Validate();
        if (options.MaxTimestep > config.NumTrainTimesteps)
            throw new ArgumentException($"DiffuserTrainerOptions.MaxTimestep: {options.MaxTimestep} is beyond the schedule's {config.NumTrainTimesteps} timesteps; use at most {config.NumTrainTimesteps}, or 0 for all", nameof(options));
        if (options.NumThreads > 0) set_num_threads(options.NumThreads);
        schedule = config.CreateSchedule();
        tokenizer = config.CreateTokenizer();
        random.manual_seed(options.Seed);
        Model = new TextToImageDiffuser(config);
        if (options.InitFrom is { } init && !options.Resume)
        {
            using var source = DiffuserCheckpoint.Load(init);
            Model.InitialiseFrom(source.Model, options.ShareInputWeights);
        }
        EmaModel = new TextToImageDiffuser(config);
        parameters = Model.parameters().ToArray();
        emaParameters = EmaModel.parameters().ToArray();
        using (no_grad())
            for (var i = 0; i < parameters.Length; i++) { emaParameters[i].copy_(parameters[i]); emaParameters[i].requires_grad = false; }
        EmaModel.eval();
        optimizer = optim.Adam(parameters, options.LearningRate, options.AdamBeta1, options.AdamBeta2);
        // Distinct seeds, so data and noise draws are independent streams.
        dataGenerator = new Generator((ulong)options.Seed * 2 + 1, CPU);
        noiseGenerator = new Generator((ulong)options.Seed * 2 + 2, CPU);
        if (options.Resume) LoadTrainingState();
        // A run killed mid-checkpoint (SIGKILL, power loss) leaves its hidden temporary file; nothing else would remove it.
        RlRig.IO.AtomicFile.RemoveStaleTemporaries(options.OutputDir);
    }

    public DiffuserConfig Config { get; }
    public DiffuserTrainerOptions Options { get; }
    /// <summary>The trained weights.</summary>
    public TextToImageDiffuser Model { get; }
    /// <summary>The exponential moving average of <see cref="Model"/>'s weights: what checkpoints store and samplers use.</summary>
    public TextToImageDiffuser EmaModel { get; }
    /// <summary>Optimizer steps done.</summary>
    public int Step { get; private set; }

    /// <summary>The inference checkpoint path of a run folder (a text-to-image Diffuser's, <see cref="DiffuserTrainerOptions.CheckpointName"/>'s default).</summary>
    public static string CheckpointPath(string outputDir) => Path.Combine(outputDir, new DiffuserTrainerOptions().CheckpointName);
    /// <summary>The full training state path of a run folder.</summary>
    public static string TrainingStatePath(string outputDir) => Path.Combine(outputDir, "training-state.bin");

    /// <summary>
    /// Trains to <see cref="DiffuserTrainerOptions.TotalSteps"/>, yielding a report after every step. Checkpoints are
    /// written every CheckpointEvery steps and at the end; on cancellation the trainer writes a checkpoint and the
    /// sequence ends normally (no exception).
    /// </summary>
    /// <remarks>
    /// Each step runs on the thread that asks for the next report, with no hop to the thread pool: on 2 cores, steps run
    /// on a thread other than the one that had already done torch work were 12-25 % slower (measured in three runs; each
    /// thread that calls libtorch gets its own OpenMP team, the likely cause), and a run that hopped between pool
    /// threads held 2-2.6 GB where one thread holds under 1 GB. Build the trainer and enumerate on one thread (the
    /// <c>rlrig</c> command does); a caller that must stay responsive (a UI) should enumerate on a thread of its own.
    /// </remarks>
#pragma warning disable CS1998 // Deliberately synchronous: see the remarks.
    public async IAsyncEnumerable<TrainProgress> TrainAsync(IImageTextDataset data, [EnumeratorCancellation] CancellationToken ct = default)
#pragma warning restore CS1998
    {
        ArgumentNullException.ThrowIfNull(data);
        foreach (var report in RlRig.Torch.TrainingLoop.Run(() => Step, Options.TotalSteps, Options.CheckpointEvery, () =>
        {
            var r = TrainStep(data);
            Log(r);
            return r;
        }, SaveCheckpoint, ct))
            yield return report;
    }

    /// <summary>
    /// One optimisation step on a fresh batch, without logging or checkpoints (benchmarks and tests use it directly).
    /// Returns the report with speed fields 0.
    /// </summary>
    public TrainProgress TrainStep(IImageTextDataset data)
    {
        var lr = LrSchedule.At(Step, Options);
        using var scope = NewDisposeScope();
        Model.train();
        // 1. Data, with null-prompt dropout for classifier-free guidance.
        var grounded = Options.GroundingWeight > 0 ? data as IGroundedImageTextDataset : null;
        Tensor images;
        Tensor? regions = null, condition = null;
        IReadOnlyList<string> prompts;
        if (Config.ConditionChannels > 0)
        {
            if (data is not IConditionedImageTextDataset conditionedData)
                throw new ArgumentException($"the model reads a condition image (ConditionChannels = {Config.ConditionChannels}); give a dataset of (image, prompt, condition) triples", nameof(data));
            (images, prompts, condition) = conditionedData.NextConditionedBatch(Options.BatchSize, dataGenerator);
        }
        else if (grounded is null) (images, prompts) = data.NextBatch(Options.BatchSize, dataGenerator);
        else (images, prompts, regions) = grounded.NextGroundedBatch(Options.BatchSize, dataGenerator, Config.MaxPromptTokens);
        CheckBatch(images, prompts);
        // One uniform draw per example picks its case: text dropped, image dropped, both, or neither (InstructPix2Pix).
        var drop = rand(prompts.Count, generator: noiseGenerator).data<float>().ToArray();
        var (pText, pImage, pBoth) = (Options.ConditioningDropout, Options.ImageDropout, Options.JointDropout);
        bool TextDropped(float u) => u < pText || (condition is not null && u >= pText + pImage && u < pText + pImage + pBoth);
        var conditioned = prompts.Select((p, i) => TextDropped(drop[i]) ? "" : p).ToList();
        if (condition is not null)
        {
            CheckCondition(condition, images);
            var keep = tensor(drop.Select(u => u >= pText && u < pText + pImage + pBoth ? 0f : 1f).ToArray()).view(-1, 1, 1, 1);
            condition = condition * keep;                                                             // (B, C, H, W), zeros where dropped
        }
        var tokens = tokenizer.Encode(conditioned);                                                   // (B, L)
        // 2. Forward process at a random timestep per image.
        var b = images.shape[0];
        var t = randint(0, MaxTimestep, [b], generator: noiseGenerator);                              // (B)
        var noise = randn(images.shape, generator: noiseGenerator);                                  // (B, 3, H, W)
        var noisy = schedule.AddNoise(images, noise, t);
        var target = Config.PredictionType switch
        {
            PredictionType.Epsilon => noise,
            PredictionType.VPrediction => schedule.Velocity(images, noise, t),
            _ => images,
        };
        // 3. Loss, backward, clip, step.
        var attention = new List<Tensor>();
        Tensor diffusion, loss;
        Tensor? grounding = null;
        try
        {
            using (regions is null ? null : Model.RecordCrossAttention(attention))
                diffusion = Loss(Model.Forward(noisy, t, tokens, condition), target, t);
            loss = diffusion;
            if (regions is not null)
            {
                // A dropped prompt has no words to ground.
                var kept = tensor(conditioned.Select(p => p.Length > 0 ? 1f : 0f).ToArray()).view(-1, 1, 1, 1);
                grounding = GroundingLoss(attention, regions * kept);
                loss = diffusion + Options.GroundingWeight * grounding;
            }
            optimizer.zero_grad();
            loss.backward();
        }
        finally
        {
            foreach (var a in attention) a.Dispose();
        }
        var gradNorm = Options.GradClipNorm > 0
            ? nn.utils.clip_grad_norm_(parameters, Options.GradClipNorm)
            : double.NaN;
        foreach (var group in optimizer.ParamGroups) group.LearningRate = lr;
        optimizer.step();
        // 4. EMA of the weights.
        UpdateEma();
        Step++;
        return new TrainProgress(Step, Options.TotalSteps, diffusion.ToSingle(), lr, gradNorm, 0, TimeSpan.Zero, null,
            grounding?.ToSingle() ?? double.NaN);
    }

    /// <summary>
    /// The share of each object word's attention that falls outside its object, averaged over the words that name an
    /// object and over the blocks: for block weights A (B, N, L) at side r = sqrt(N), 1 - sum_p A[p, l] m[p, l] / sum_p
    /// A[p, l], with m the word's region averaged down to r x r (a pixel half inside counts half). The caller owns the result.
    /// </summary>
    /// <param name="weights">Each block's attention weights (B, N, L), as <see cref="TextToImageDiffuser.RecordCrossAttention"/> records them.</param>
    /// <param name="regions">(B, L, S, S) where each word is drawn (<see cref="IGroundedImageTextDataset"/>), 0 for words without a place.</param>
    public static Tensor GroundingLoss(IReadOnlyList<Tensor> weights, Tensor regions)
    {
        if (weights.Count == 0) throw new ArgumentException("no attention was recorded: the configuration has no block that attends to the prompt (CrossAttentionResolutions)", nameof(weights));
        using var scope = NewDisposeScope();
        var size = regions.shape[2];
        var named = regions.flatten(2).amax([2]).gt(0).to(float32);                                       // (B, L) words with a place
        var total = zeros(1);
        foreach (var a in weights)
        {
            var side = (long)Math.Round(Math.Sqrt(a.shape[1]));
            var inside = nn.functional.avg_pool2d(regions, size / side).flatten(2).transpose(1, 2);    // (B, N, L)
            var share = (a * inside).sum([1]) / (a.sum([1]) + 1e-6);                                  // (B, L)
            total = total + ((1 - share) * named).sum() / named.sum().clamp_min(1);
        }
        return (total / weights.Count).squeeze().MoveToOuterDisposeScope();
    }

    // Mean squared error, per image weighted by Min-SNR-gamma when that is on.
    Tensor Loss(Tensor prediction, Tensor target, Tensor t)
    {
        if (Options.MinSnrGamma == 0) return nn.functional.mse_loss(prediction, target);
        var perImage = (prediction - target).square().flatten(1).mean([1]);                        // (B)
        return (perImage * MinSnrWeight(schedule.SignalToNoise(t), Options.MinSnrGamma, Config.PredictionType)).mean();
    }

    /// <summary>
    /// Min-SNR-gamma loss weights for a prediction type: min(SNR, gamma) / SNR for epsilon, min(SNR, gamma) / (SNR + 1)
    /// for v, min(SNR, gamma) for x0; all give every timestep the weight min(SNR, gamma) in x0 space. The caller owns the result.
    /// </summary>
    public static Tensor MinSnrWeight(Tensor snr, double gamma, PredictionType predictionType) => predictionType switch
    {
        PredictionType.Epsilon => snr.clamp(max: gamma) / snr,
        PredictionType.VPrediction => snr.clamp(max: gamma) / (snr + 1),
        _ => snr.clamp(max: gamma),
    };

    // Training timesteps are drawn from [0, MaxTimestep): the whole schedule unless the options narrow it.
    int MaxTimestep => Options.MaxTimestep == 0 ? schedule.NumTrainTimesteps : Options.MaxTimestep;

    void CheckBatch(Tensor images, IReadOnlyList<string> prompts)
    {
        var s = Config.ImageSize;
        if (images.dim() != 4 || images.shape[1] != 3 || images.shape[2] != s || images.shape[3] != s || images.shape[0] != prompts.Count)
            throw new InvalidOperationException(
                $"the dataset returned images ({string.Join(", ", images.shape)}) and {prompts.Count} prompts; expected (B, 3, {s}, {s}) and B prompts (DiffuserConfig.ImageSize = {s})");
    }

    void CheckCondition(Tensor condition, Tensor images)
    {
        if (condition.dim() != 4 || condition.shape[0] != images.shape[0] || condition.shape[1] != Config.ConditionChannels || condition.shape[2] != images.shape[2] || condition.shape[3] != images.shape[3])
            throw new InvalidOperationException(
                $"the dataset returned conditions ({string.Join(", ", condition.shape)}); expected ({images.shape[0]}, {Config.ConditionChannels}, {images.shape[2]}, {images.shape[3]})");
    }

    void UpdateEma()
    {
        var decay = Options.EmaWarmup ? Math.Min(Options.EmaDecay, (1.0 + Step) / (10.0 + Step)) : Options.EmaDecay;
        using var noGrad = no_grad();
        for (var i = 0; i < parameters.Length; i++)
            emaParameters[i].mul_(decay).add_(parameters[i], alpha: 1 - decay);
    }

    void Log(TrainProgress report)
    {
        if (Options.LogEvery == 0 || Step % Options.LogEvery != 0) return;
        tensorboard ??= utils.tensorboard.SummaryWriter(Path.Combine(Options.OutputDir, "tensorboard"));
        tensorboard.add_scalar("train/loss", (float)report.Loss, Step);
        tensorboard.add_scalar("train/lr", (float)report.LearningRate, Step);
        if (!double.IsNaN(report.GradNorm)) tensorboard.add_scalar("train/grad_norm", (float)report.GradNorm, Step);
        if (!double.IsNaN(report.GroundingLoss)) tensorboard.add_scalar("train/grounding", (float)report.GroundingLoss, Step);
    }

    /// <summary>Writes the inference checkpoint (EMA weights + manifest) and the full training state, each atomically.</summary>
    /// <returns>The inference checkpoint's path.</returns>
    public string SaveCheckpoint()
    {
        Directory.CreateDirectory(Options.OutputDir);
        SaveTrainingState();
        var path = Path.Combine(Options.OutputDir, Options.CheckpointName);
        DiffuserCheckpoint.Save(path, EmaModel, Step, Options);
        return path;
    }

    void SaveTrainingState()
    {
        var header = new JsonObject
        {
            ["format"] = "rlrig-diffuser-training-state",
            ["step"] = Step,
            ["config"] = JsonNode.Parse(Config.ToJson()),
            ["options"] = JsonNode.Parse(Options.ToJson()),
        };
        DiffuserCheckpoint.WriteFile(TrainingStatePath(Options.OutputDir), DiffuserCheckpoint.TrainingMagic, header, payload =>
        {
            using var w = new BinaryWriter(payload, Encoding.UTF8, leaveOpen: true);
            Model.save(w);
            EmaModel.save(w);
            optimizer.save_state_dict(w);
            using var data = dataGenerator.get_state();
            using var noise = noiseGenerator.get_state();
            data.Save(w);
            noise.Save(w);
        });
    }

    /// <summary>What the training state in <paramref name="outputDir"/> says about its run: the architecture, the options
    /// it was started with, and the step it reached. A resumed run should continue with these.</summary>
    /// <exception cref="DiffuserCheckpointException">There is no training state, or it is truncated or its header is damaged (the weights are checked when a trainer resumes from it).</exception>
    public static DiffuserRun ReadRun(string outputDir)
    {
        var path = RequireTrainingState(outputDir);
        var header = DiffuserCheckpoint.ReadHeader(path, DiffuserCheckpoint.TrainingMagic);
        try
        {
            var options = DiffuserTrainerOptions.FromJson(header["options"]!.ToJsonString());
            return new DiffuserRun(DiffuserCheckpoint.ConfigFrom(path, header), options, header["step"]!.GetValue<int>());
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or NullReferenceException or InvalidOperationException or FormatException)
        {
            throw new DiffuserCheckpointException($"checkpoint {path} has unreadable training options or step: {e.Message}", e);
        }
    }

    static string RequireTrainingState(string outputDir)
    {
        var path = TrainingStatePath(outputDir);
        if (!File.Exists(path))
            throw new DiffuserCheckpointException($"nothing to resume: {path} does not exist (train without Resume first, or point OutputDir at the run folder)");
        return path;
    }

    void LoadTrainingState()
    {
        var path = RequireTrainingState(Options.OutputDir);
        var (header, payload) = DiffuserCheckpoint.ReadFile(path, DiffuserCheckpoint.TrainingMagic);
        DiffuserCheckpoint.RequireSameConfig(path, DiffuserCheckpoint.ConfigFrom(path, header), Config);
        using var r = new BinaryReader(new MemoryStream(payload));
        DiffuserCheckpoint.LoadWeights(path, Model, r, "weights");
        DiffuserCheckpoint.LoadWeights(path, EmaModel, r, "EMA weights");
        try
        {
            optimizer.load_state_dict(r);
            using var data = TensorExtensionMethods.Load(r);
            using var noise = TensorExtensionMethods.Load(r);
            dataGenerator.set_state(data);
            noiseGenerator.set_state(noise);
        }
        catch (Exception e) when (e is not DiffuserCheckpointException)
        {
            throw new DiffuserCheckpointException($"checkpoint {path}: the optimizer or generator state is unreadable: {e.Message}", e);
        }
        Step = header["step"]!.GetValue<int>();
        if (Step > Options.TotalSteps)
            throw new DiffuserCheckpointException($"checkpoint {path} is at step {Step}, beyond TotalSteps = {Options.TotalSteps}; raise TotalSteps to continue");
    }

    public void Dispose()
    {
        optimizer.Dispose();
        Model.Dispose();
        EmaModel.Dispose();
        dataGenerator.Dispose();
        noiseGenerator.Dispose();
    }
}

/// <summary>A run folder's training state as <see cref="DiffuserTrainer.ReadRun"/> reads it.</summary>
/// <param name="Config">The architecture the run trains.</param>
/// <param name="Options">The options it was last started with.</param>
/// <param name="Step">The step its training state is at.</param>
public sealed record DiffuserRun(DiffuserConfig Config, DiffuserTrainerOptions Options, int Step);
