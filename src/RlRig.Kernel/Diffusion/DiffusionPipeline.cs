using RlRig.Imaging;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using TorchSharp;
using static TorchSharp.torch;

namespace RlRig.Diffusion;

/// <summary>
/// The denoising chain of a generation or edit, for image strips and for RL on the chain (Reflection-GRPO).
/// All tensors are on the CPU, batch-first; the owner of the <see cref="GenerationResult"/> owns them.
/// </summary>
/// <param name="Timesteps">The timestep of each step, noisiest first (S steps).</param>
/// <param name="Latents">S + 1 tensors (B, 3, H, W): x_t before each step, then the final sample.</param>
/// <param name="PredictedOriginals">S tensors (B, 3, H, W): the predicted x_0 at each step (the picture of an image strip).</param>
/// <param name="LogProbs">
/// (B, S) log-probability of each step's transition (pixel mean), or null when eta = 0. The last step lands on the clean
/// image (alpha_bar = 1, sigma = 0) and is deterministic; its column is 0, so policy ratios there are 1 (skip it in RL).
/// </param>
public sealed record DiffusionTrajectory(IReadOnlyList<int> Timesteps, IReadOnlyList<Tensor> Latents, IReadOnlyList<Tensor> PredictedOriginals, Tensor? LogProbs);

/// <summary>Images from <see cref="DiffusionPipeline.Generate"/> or <see cref="DiffusionPipeline.Edit(Tensor, IReadOnlyList{string}, double, int, double, double, Generator?, int, bool)"/>.</summary>
/// <param name="Images">(B, 3, H, W) in [-1, 1], in prompt order.</param>
/// <param name="Trajectory">The chain, when asked for.</param>
public sealed record GenerationResult(Tensor Images, DiffusionTrajectory? Trajectory) : IDisposable
{
    /// <summary>The images as ImageSharp RGB images, in prompt order.</summary>
    public IReadOnlyList<Image<Rgb24>> ToImages() =>
        Enumerable.Range(0, (int)Images.shape[0]).Select(i => { using var chw = Images[i]; return TensorImages.ToImage(chw, PixelRange.MinusOneToOne); }).ToList();

    /// <summary>One sample's predicted x_0 at every step, left to right, then the final image: how the picture formed.</summary>
    public Image<Rgb24> TrajectoryStrip(int sample)
    {
        if (Trajectory is null) throw new InvalidOperationException("generate with returnTrajectory: true to get a strip");
        var frames = Trajectory.PredictedOriginals.Append(Images)
            .Select(t => { using var chw = t[sample]; return TensorImages.ToImage(chw, PixelRange.MinusOneToOne); }).ToList();
        try { return TensorImages.Grid(frames, frames.Count); }
        finally { foreach (var f in frames) f.Dispose(); }
    }

    public void Dispose()
    {
        Images.Dispose();
        if (Trajectory is null) return;
        foreach (var t in Trajectory.Latents.Concat(Trajectory.PredictedOriginals)) t.Dispose();
        Trajectory.LogProbs?.Dispose();
    }
}

/// <summary>
/// Text-to-image generation and SDEdit editing with a <see cref="TextToImageDiffuser"/>, DDIM sampling and
/// classifier-free guidance (one doubled batch per step). Names and defaults follow diffusers' pipelines.
/// </summary>
public sealed class DiffusionPipeline
{
    public DiffusionPipeline(TextToImageDiffuser model)
    {
        Model = model ?? throw new ArgumentNullException(nameof(model));
        Tokenizer = model.Config.CreateTokenizer();
        Schedule = model.Config.CreateSchedule();
    }

    public TextToImageDiffuser Model { get; }
    public PromptTokenizer Tokenizer { get; }
    public NoiseSchedule Schedule { get; }

    /// <summary>
    /// Generates one image per prompt. The initial noise of all prompts is drawn first, so with eta = 0 an image does not
    /// depend on <paramref name="batchSize"/>. The caller owns (disposes) the result.
    /// </summary>
    /// <param name="prompts">Prompts in the world's vocabulary; "" is the unconditional prompt.</param>
    /// <param name="numInferenceSteps">DDIM steps. Defaults to 20.</param>
    /// <param name="guidanceScale">Classifier-free guidance scale s; 1 disables guidance (no doubled batch). Defaults to 3 (the prior).</param>
    /// <param name="eta">DDIM noise: 0 deterministic, 1 DDPM-like; eta &gt; 0 records per-step log-probabilities. Defaults to 0.</param>
    /// <param name="generator">Source of all noise; null uses torch's default generator.</param>
    /// <param name="batchSize">Prompts per forward pass (the pass itself is twice as large with guidance). Defaults to 16.</param>
    /// <param name="returnTrajectory">Keep every step's latent, predicted x_0 and log-probability.</param>
    public GenerationResult Generate(IReadOnlyList<string> prompts, int numInferenceSteps = 20, double guidanceScale = 3.0, double eta = 0.0,
        Generator? generator = null, int batchSize = 16, bool returnTrajectory = false)
    {
        // 1. Check inputs.
        CheckArguments(prompts, numInferenceSteps, guidanceScale, eta, batchSize);
        var size = Model.Config.ImageSize;
        // 2. Timesteps, and 3. the initial noise x_T of every prompt.
        var timesteps = Schedule.InferenceTimesteps(numInferenceSteps);
        using var start = randn([prompts.Count, 3, size, size], generator: generator);
        // 4. Denoise batch by batch.
        return DenoiseInBatches(prompts, start, numInferenceSteps, timesteps, guidanceScale, eta, generator, batchSize, returnTrajectory);
    }

    /// <summary>
    /// SDEdit / img2img (Meng et al. 2022): noises <paramref name="images"/> to the step at <paramref name="strength"/> of the
    /// chain, x_t0 = sqrt(a_t0) x0 + sqrt(1 - a_t0) eps, and denoises with the new prompts. strength 1 ignores the input;
    /// small strength keeps layout and colours. The caller owns the result.
    /// </summary>
    /// <param name="images">(B, 3, H, W) in [-1, 1].</param>
    /// <param name="prompts">One prompt per image.</param>
    /// <param name="strength">Fraction of the <paramref name="numInferenceSteps"/> steps that are re-run, in (0, 1]. Defaults to 0.8 (diffusers).</param>
    public GenerationResult Edit(Tensor images, IReadOnlyList<string> prompts, double strength = 0.8, int numInferenceSteps = 20, double guidanceScale = 3.0,
        double eta = 0.0, Generator? generator = null, int batchSize = 16, bool returnTrajectory = false)
    {
        // 1. Check inputs.
        CheckArguments(prompts, numInferenceSteps, guidanceScale, eta, batchSize);
        var size = Model.Config.ImageSize;
        if (images.dim() != 4 || images.shape[0] != prompts.Count || images.shape[1] != 3 || images.shape[2] != size || images.shape[3] != size)
            throw new ArgumentException($"images must have shape ({prompts.Count}, 3, {size}, {size}) to match the prompts and the model, got ({string.Join(", ", images.shape)})", nameof(images));
        if (!(strength > 0 && strength <= 1)) throw new ArgumentOutOfRangeException(nameof(strength), strength, "strength must be in (0, 1]");
        // 2. The tail of the timestep grid that strength selects (at least one step).
        var all = Schedule.InferenceTimesteps(numInferenceSteps);
        var run = Math.Clamp((int)Math.Round(numInferenceSteps * strength), 1, numInferenceSteps);
        var timesteps = all[(numInferenceSteps - run)..];
        // 3. Noise the input to the first of them.
        using var noise = randn(images.shape, generator: generator);
        using var start = Schedule.AddNoise(images.detach().cpu().to(float32), noise, timesteps[0]);
        // 4. Denoise with the new prompts.
        return DenoiseInBatches(prompts, start, numInferenceSteps, timesteps, guidanceScale, eta, generator, batchSize, returnTrajectory);
    }

    /// <summary><see cref="Edit(Tensor, IReadOnlyList{string}, double, int, double, double, Generator?, int, bool)"/> on ImageSharp images.</summary>
    public GenerationResult Edit(IReadOnlyList<Image<Rgb24>> images, IReadOnlyList<string> prompts, double strength = 0.8, int numInferenceSteps = 20,
        double guidanceScale = 3.0, double eta = 0.0, Generator? generator = null, int batchSize = 16, bool returnTrajectory = false)
    {
        using var scope = NewDisposeScope();
        var batch = stack(images.Select(i => TensorImages.ToTensor(i, PixelRange.MinusOneToOne)).ToArray());
        return Edit(batch, prompts, strength, numInferenceSteps, guidanceScale, eta, generator, batchSize, returnTrajectory);
    }

    void CheckArguments(IReadOnlyList<string> prompts, int numInferenceSteps, double guidanceScale, double eta, int batchSize)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        if (prompts.Count == 0) throw new ArgumentException("give at least one prompt", nameof(prompts));
        if (numInferenceSteps < 1 || numInferenceSteps > Schedule.NumTrainTimesteps)
            throw new ArgumentOutOfRangeException(nameof(numInferenceSteps), numInferenceSteps, $"must be in [1, {Schedule.NumTrainTimesteps}]");
        if (guidanceScale < 0) throw new ArgumentOutOfRangeException(nameof(guidanceScale), guidanceScale, "must be >= 0 (1 = no guidance)");
        if (eta < 0) throw new ArgumentOutOfRangeException(nameof(eta), eta, "must be >= 0");
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "must be at least 1");
        foreach (var p in prompts) Tokenizer.EncodeOne(p);  // fail on a bad prompt before any compute
    }

    GenerationResult DenoiseInBatches(IReadOnlyList<string> prompts, Tensor start, int numInferenceSteps, int[] timesteps, double guidanceScale, double eta,
        Generator? generator, int batchSize, bool returnTrajectory)
    {
        var wasTraining = Model.training;
        Model.eval();
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var sampler = new DdimSampler(Schedule, Model.Config.PredictionType);
        // An edit runs the tail of the full grid; the step sizes are those of the full grid.
        sampler.SetTimesteps(numInferenceSteps);
        var chunks = new List<ChainResult>();
        try
        {
            for (var from = 0; from < prompts.Count; from += batchSize)
            {
                var n = Math.Min(batchSize, prompts.Count - from);
                chunks.Add(DenoiseBatch(sampler, prompts.Skip(from).Take(n).ToList(), start.narrow(0, from, n), timesteps, guidanceScale, eta, generator, returnTrajectory));
            }
        }
        finally { Model.train(wasTraining); }
        var images = cat(chunks.Select(c => c.Final).ToArray(), 0).MoveToOuterDisposeScope();
        DiffusionTrajectory? trajectory = null;
        if (returnTrajectory)
        {
            var latents = Enumerable.Range(0, timesteps.Length + 1).Select(s => cat(chunks.Select(c => c.Latents[s]).ToArray(), 0).MoveToOuterDisposeScope()).ToList();
            var x0s = Enumerable.Range(0, timesteps.Length).Select(s => cat(chunks.Select(c => c.X0s[s]).ToArray(), 0).MoveToOuterDisposeScope()).ToList();
            var logProbs = chunks[0].LogProbs.Count == 0 ? null
                : cat(chunks.Select(c => stack(c.LogProbs.ToArray(), 1)).ToArray(), 0).MoveToOuterDisposeScope();
            trajectory = new DiffusionTrajectory(timesteps, latents, x0s, logProbs);
        }
        return new GenerationResult(images, trajectory);
    }

    sealed record ChainResult(Tensor Final, List<Tensor> Latents, List<Tensor> X0s, List<Tensor> LogProbs);

    // The DDIM loop for one batch; tensors belong to the caller's dispose scope.
    ChainResult DenoiseBatch(DdimSampler sampler, IReadOnlyList<string> prompts, Tensor start, int[] timesteps, double guidanceScale, double eta,
        Generator? generator, bool returnTrajectory)
    {
        var guided = guidanceScale != 1.0;
        var tokens = Tokenizer.Encode(guided ? [.. Enumerable.Repeat("", prompts.Count), .. prompts] : prompts);  // (2B or B, L)
        var context = Model.EncodeText(tokens);                                                                   // (2B or B, L, d)
        var x = start.alias();
        var (latents, x0s, logProbs) = (new List<Tensor> { x }, new List<Tensor>(), new List<Tensor>());
        foreach (var t in timesteps)
        {
            using var stepScope = NewDisposeScope();
            var input = guided ? ClassifierFreeGuidance.Double(x) : x.alias();                                     // (2B or B, 3, H, W)
            var tBatch = full([input.shape[0]], t, int64);
            var output = Model.Denoise(input, tBatch, context, tokens);
            var modelOutput = guided ? ClassifierFreeGuidance.CombineDoubled(output, guidanceScale) : output;    // (B, 3, H, W)
            var step = sampler.Step(modelOutput, t, x, eta, generator);
            x = step.PrevSample.MoveToOuterDisposeScope();
            if (returnTrajectory)
            {
                latents.Add(x);
                x0s.Add(step.PredOriginalSample.MoveToOuterDisposeScope());
                // The last step (to alpha_bar = 1) is deterministic even when eta > 0: it is recorded as 0, a ratio of 1.
                if (eta > 0) logProbs.Add((step.LogProb ?? zeros(x.shape[0], dtype: x.dtype)).MoveToOuterDisposeScope());
            }
        }
        return new ChainResult(x, latents, x0s, logProbs);
    }
}
