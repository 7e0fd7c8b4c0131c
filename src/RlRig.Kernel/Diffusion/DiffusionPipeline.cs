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

/// <summary>Images from <see cref="DiffusionPipeline.Generate(IReadOnlyList{string}, int, double, double, Generator?, int, bool)"/> or <see cref="DiffusionPipeline.Edit(Tensor, IReadOnlyList{string}, double, int, double, double, Generator?, int, bool)"/>.</summary>
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
        var noise = NoiseSource.Shared(generator);
        using var start = noise.Draw([3, size, size], 0, prompts.Count);
        // 4. Denoise batch by batch.
        return DenoiseInBatches(prompts, null, start, null, numInferenceSteps, timesteps, guidanceScale, eta, noise, batchSize, returnTrajectory);
    }

    /// <summary>
    /// <see cref="Generate(IReadOnlyList{string}, int, double, double, Generator?, int, bool)"/> with one generator per
    /// prompt (as diffusers accepts a list of generators): each image depends only on its own generator, whatever batch
    /// it is drawn in, so an image can be reproduced alone from its seed.
    /// </summary>
    public GenerationResult Generate(IReadOnlyList<string> prompts, IReadOnlyList<Generator> generators, int numInferenceSteps = 20, double guidanceScale = 3.0,
        double eta = 0.0, int batchSize = 16, bool returnTrajectory = false)
    {
        CheckArguments(prompts, numInferenceSteps, guidanceScale, eta, batchSize);
        var noise = NoiseSource.PerImage(generators, prompts.Count);
        var size = Model.Config.ImageSize;
        var timesteps = Schedule.InferenceTimesteps(numInferenceSteps);
        using var start = noise.Draw([3, size, size], 0, prompts.Count);
        return DenoiseInBatches(prompts, null, start, null, numInferenceSteps, timesteps, guidanceScale, eta, noise, batchSize, returnTrajectory);
    }

    /// <summary>
    /// Regenerates the masked region of each image and keeps the rest (blended diffusion / RePaint without resampling,
    /// as SLD's latent operations do): after every step the unmasked region is replaced by the input noised to the same
    /// level, so the new content is denoised in the context of what stays, and the last step restores the unmasked
    /// pixels exactly. Nothing is pasted: every pixel of the region comes from the model. The caller owns the result.
    /// </summary>
    /// <param name="images">(B, 3, H, W) in [-1, 1].</param>
    /// <param name="masks">(B, 1, H, W), 1 where the image is regenerated, 0 where it is kept; values between blend.</param>
    /// <param name="prompts">One prompt per image: what the whole image should show once the region is redrawn.</param>
    /// <param name="generators">One generator per image.</param>
    /// <param name="negativePrompts">Optional: what the region must not show, in place of the unconditional prompt in
    /// classifier-free guidance (diffusers' negative_prompt); "" is the unconditional prompt.</param>
    /// <param name="strength">Fraction of the chain re-run, in (0, 1]; 1 starts the region from pure noise. Defaults to 1.</param>
    /// <param name="initialNoise">(B, 3, H, W) noise of the chain's start in place of the generators' first draw (a GRPO group's shared start), or null.</param>
    /// <remarks>
    /// The trajectory's latents are the blended ones (what the model saw at each step), and its log-probabilities are over
    /// the regenerated region only (<see cref="DdimSampler.LogProb"/> with the mask): outside it a step is the input
    /// noised afresh, which no weight decides, so it carries no density. <see cref="LogProb"/> recomputes them.
    /// </remarks>
    public GenerationResult Inpaint(Tensor images, Tensor masks, IReadOnlyList<string> prompts, IReadOnlyList<Generator> generators,
        IReadOnlyList<string>? negativePrompts = null, double strength = 1.0, int numInferenceSteps = 20, double guidanceScale = 3.0, double eta = 0.0,
        int batchSize = 16, bool returnTrajectory = false, Tensor? initialNoise = null)
    {
        CheckArguments(prompts, numInferenceSteps, guidanceScale, eta, batchSize);
        var size = Model.Config.ImageSize;
        CheckImages(images, prompts.Count, 3);
        CheckImages(masks, prompts.Count, 1);
        if (initialNoise is not null) CheckImages(initialNoise, prompts.Count, 3);
        CheckNegativePrompts(negativePrompts, prompts.Count);
        if (!(strength > 0 && strength <= 1)) throw new ArgumentOutOfRangeException(nameof(strength), strength, "strength must be in (0, 1]");
        var noise = NoiseSource.PerImage(generators, prompts.Count);
        var all = Schedule.InferenceTimesteps(numInferenceSteps);
        var run = Math.Clamp((int)Math.Round(numInferenceSteps * strength), 1, numInferenceSteps);
        var timesteps = all[(numInferenceSteps - run)..];
        // Not a dispose scope: DenoiseInBatches hands its results to the caller's scope.
        using var known = images.detach().cpu().to(float32);
        using var mask = masks.detach().cpu().to(float32).clamp(0, 1);
        using var startNoise = initialNoise?.detach().cpu().to(float32) ?? noise.Draw([3, size, size], 0, prompts.Count);
        using var start = Schedule.AddNoise(known, startNoise, timesteps[0]);
        return DenoiseInBatches(prompts, negativePrompts, start, new Inpainting(known, mask), numInferenceSteps, timesteps, guidanceScale, eta, noise, batchSize, returnTrajectory);
    }

    /// <summary>
    /// log p(<paramref name="prevSample"/> | <paramref name="sample"/>) over the regenerated region of one recorded
    /// <see cref="Inpaint"/> step under the model's current weights, with gradients: the guided prediction at
    /// (<paramref name="sample"/>, <paramref name="timestep"/>) and <see cref="DdimSampler.LogProb"/> with the mask. With
    /// the weights and settings the chain was sampled with, it equals the trajectory's column of that step. (B). The
    /// caller owns the result.
    /// </summary>
    /// <param name="masks">(B, 1, H, W), the masks the chain was drawn with.</param>
    /// <param name="sample">x_t, (B, 3, H, W): the trajectory's latent before the step.</param>
    /// <param name="timestep">The step's timestep (a grid timestep of <paramref name="numInferenceSteps"/>, not the last).</param>
    /// <param name="prevSample">The trajectory's latent after the step.</param>
    public Tensor LogProb(Tensor masks, IReadOnlyList<string> prompts, IReadOnlyList<string>? negativePrompts, Tensor sample, int timestep, Tensor prevSample,
        int numInferenceSteps = 20, double guidanceScale = 3.0, double eta = 1.0)
    {
        CheckArguments(prompts, numInferenceSteps, guidanceScale, eta, 1);
        CheckImages(masks, prompts.Count, 1);
        CheckImages(sample, prompts.Count, 3);
        CheckImages(prevSample, prompts.Count, 3);
        CheckNegativePrompts(negativePrompts, prompts.Count);
        using var scope = NewDisposeScope();
        var sampler = new DdimSampler(Schedule, Model.Config.PredictionType);
        sampler.SetTimesteps(numInferenceSteps);
        var (tokens, context) = Conditioning(prompts, negativePrompts, guidanceScale);
        var output = GuidedOutput(sample, timestep, tokens, context, guidanceScale);
        return sampler.LogProb(output, timestep, sample, prevSample, eta, masks.to(float32).clamp(0, 1)).MoveToOuterDisposeScope();
    }

    /// <summary>The number of denoiser evaluations (NFE) of a call: steps run times 2 with classifier-free guidance.</summary>
    public static int Nfe(int numInferenceSteps, double guidanceScale, double strength = 1.0) =>
        Math.Clamp((int)Math.Round(numInferenceSteps * strength), 1, numInferenceSteps) * (guidanceScale != 1.0 ? 2 : 1);

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
        CheckImages(images, prompts.Count, 3);
        if (!(strength > 0 && strength <= 1)) throw new ArgumentOutOfRangeException(nameof(strength), strength, "strength must be in (0, 1]");
        // 2. The tail of the timestep grid that strength selects (at least one step).
        var all = Schedule.InferenceTimesteps(numInferenceSteps);
        var run = Math.Clamp((int)Math.Round(numInferenceSteps * strength), 1, numInferenceSteps);
        var timesteps = all[(numInferenceSteps - run)..];
        // 3. Noise the input to the first of them.
        using var noise = randn(images.shape, generator: generator);
        using var start = Schedule.AddNoise(images.detach().cpu().to(float32), noise, timesteps[0]);
        // 4. Denoise with the new prompts.
        return DenoiseInBatches(prompts, null, start, null, numInferenceSteps, timesteps, guidanceScale, eta, NoiseSource.Shared(generator), batchSize, returnTrajectory);
    }

    /// <summary><see cref="Edit(Tensor, IReadOnlyList{string}, double, int, double, double, Generator?, int, bool)"/> on ImageSharp images.</summary>
    public GenerationResult Edit(IReadOnlyList<Image<Rgb24>> images, IReadOnlyList<string> prompts, double strength = 0.8, int numInferenceSteps = 20,
        double guidanceScale = 3.0, double eta = 0.0, Generator? generator = null, int batchSize = 16, bool returnTrajectory = false)
    {
        using var scope = NewDisposeScope();
        var batch = stack(images.Select(i => TensorImages.ToTensor(i, PixelRange.MinusOneToOne)).ToArray());
        return Edit(batch, prompts, strength, numInferenceSteps, guidanceScale, eta, generator, batchSize, returnTrajectory);
    }

    void CheckImages(Tensor images, int count, int channels, [System.Runtime.CompilerServices.CallerArgumentExpression(nameof(images))] string name = "")
    {
        var size = Model.Config.ImageSize;
        if (images.dim() != 4 || images.shape[0] != count || images.shape[1] != channels || images.shape[2] != size || images.shape[3] != size)
            throw new ArgumentException($"{name} must have shape ({count}, {channels}, {size}, {size}) to match the prompts and the model, got ({string.Join(", ", images.shape)})", name);
    }

    void CheckNegativePrompts(IReadOnlyList<string>? negativePrompts, int count)
    {
        if (negativePrompts is null) return;
        if (negativePrompts.Count != count) throw new ArgumentException($"give one negative prompt per prompt ({count}), got {negativePrompts.Count}", nameof(negativePrompts));
        foreach (var p in negativePrompts) Tokenizer.EncodeOne(p);
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

    GenerationResult DenoiseInBatches(IReadOnlyList<string> prompts, IReadOnlyList<string>? negativePrompts, Tensor start, Inpainting? region, int numInferenceSteps,
        int[] timesteps, double guidanceScale, double eta, NoiseSource noise, int batchSize, bool returnTrajectory)
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
                chunks.Add(DenoiseBatch(sampler, prompts.Skip(from).Take(n).ToList(), negativePrompts?.Skip(from).Take(n).ToList(), start.narrow(0, from, n),
                    region?.Narrow(from, n), timesteps, guidanceScale, eta, noise.Narrow(from, n), returnTrajectory));
            }
        }
        finally { Model.train(wasTraining); }
        return ChainResult.Gather(chunks, timesteps, returnTrajectory);
    }

    // The kept pixels of an inpainting call and where the image is regenerated.
    sealed record Inpainting(Tensor Known, Tensor Mask)
    {
        public Inpainting Narrow(int from, int count) => new(Known.narrow(0, from, count), Mask.narrow(0, from, count));

        // x_{t-1} keeps the generated region and takes the rest from the input noised to the level of t-1.
        public Tensor Blend(Tensor generated, NoiseSchedule schedule, int previousTimestep, NoiseSource noise)
        {
            var kept = previousTimestep < 0 ? Known.alias() : schedule.AddNoise(Known, noise.Draw([.. Known.shape.Skip(1)], 0, (int)Known.shape[0]), previousTimestep);
            return Mask * generated + (1 - Mask) * kept;
        }
    }


    // The DDIM loop for one batch; tensors belong to the caller's dispose scope.
    ChainResult DenoiseBatch(DdimSampler sampler, IReadOnlyList<string> prompts, IReadOnlyList<string>? negativePrompts, Tensor start, Inpainting? region,
        int[] timesteps, double guidanceScale, double eta, NoiseSource noise, bool returnTrajectory)
    {
        var (tokens, context) = Conditioning(prompts, negativePrompts, guidanceScale);
        var x = start.alias();
        var (latents, x0s, logProbs) = (new List<Tensor> { x }, new List<Tensor>(), new List<Tensor>());
        foreach (var t in timesteps)
        {
            using var stepScope = NewDisposeScope();
            var modelOutput = GuidedOutput(x, t, tokens, context, guidanceScale);                                   // (B, 3, H, W)
            var step = noise.Generator is { } shared || eta == 0 ? sampler.Step(modelOutput, t, x, eta, noise.Generator, mask: region?.Mask)
                : sampler.Step(modelOutput, t, x, eta, varianceNoise: noise.Draw([.. x.shape.Skip(1)], 0, (int)x.shape[0]), mask: region?.Mask);
            x = (region is null ? step.PrevSample : region.Blend(step.PrevSample, Schedule, sampler.PreviousTimestep(t), noise)).MoveToOuterDisposeScope();
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

    // The prompts' tokens and encodings, doubled for guidance as [negative (or unconditional); prompt]: (2B or B, L) and (2B or B, L, d).
    (Tensor Tokens, Tensor Context) Conditioning(IReadOnlyList<string> prompts, IReadOnlyList<string>? negativePrompts, double guidanceScale)
    {
        var unconditional = negativePrompts ?? Enumerable.Repeat("", prompts.Count).ToList();
        var tokens = Tokenizer.Encode(guidanceScale != 1.0 ? [.. unconditional, .. prompts] : prompts);
        return (tokens, Model.EncodeText(tokens));
    }

    // The guided model output at (x, t), (B, 3, H, W): one doubled batch with guidance.
    Tensor GuidedOutput(Tensor x, int t, Tensor tokens, Tensor context, double guidanceScale)
    {
        var guided = guidanceScale != 1.0;
        var input = guided ? ClassifierFreeGuidance.Double(x) : x.alias();
        var output = Model.Denoise(input, full([input.shape[0]], t, int64), context, tokens);
        return guided ? ClassifierFreeGuidance.CombineDoubled(output, guidanceScale) : output;
    }
}

/// <summary>One batch's DDIM chain: the final sample, and with a trajectory every latent, predicted x_0 and log-probability (none when eta = 0).</summary>
sealed record ChainResult(Tensor Final, List<Tensor> Latents, List<Tensor> X0s, List<Tensor> LogProbs)
{
    /// <summary>The batches' chains as one result, in batch order; the tensors move to the caller's outer dispose scope.</summary>
    public static GenerationResult Gather(IReadOnlyList<ChainResult> chunks, int[] timesteps, bool returnTrajectory)
    {
        var images = cat(chunks.Select(c => c.Final).ToArray(), 0).MoveToOuterDisposeScope();
        if (!returnTrajectory) return new GenerationResult(images, null);
        var latents = Enumerable.Range(0, timesteps.Length + 1).Select(s => cat(chunks.Select(c => c.Latents[s]).ToArray(), 0).MoveToOuterDisposeScope()).ToList();
        var x0s = Enumerable.Range(0, timesteps.Length).Select(s => cat(chunks.Select(c => c.X0s[s]).ToArray(), 0).MoveToOuterDisposeScope()).ToList();
        var logProbs = chunks[0].LogProbs.Count == 0 ? null
            : cat(chunks.Select(c => stack(c.LogProbs.ToArray(), 1)).ToArray(), 0).MoveToOuterDisposeScope();
        return new GenerationResult(images, new DiffusionTrajectory(timesteps, latents, x0s, logProbs));
    }
}

/// <summary>
/// Where a pipeline call draws its noise: one generator for the whole call (with eta &gt; 0 an image then depends on the
/// batch it is drawn in, since the batch's step noise is drawn at once), or one generator per image, so that an image
/// depends only on its own generator.
/// </summary>
sealed class NoiseSource
{
    readonly IReadOnlyList<Generator>? perImage;
    readonly int offset;

    NoiseSource(Generator? shared, IReadOnlyList<Generator>? perImage, int offset) => (Generator, this.perImage, this.offset) = (shared, perImage, offset);

    /// <summary>The shared generator, or null for per-image generators (or torch's default generator when both are null).</summary>
    public Generator? Generator { get; }

    public static NoiseSource Shared(Generator? generator) => new(generator, null, 0);

    public static NoiseSource PerImage(IReadOnlyList<Generator> generators, int count)
    {
        ArgumentNullException.ThrowIfNull(generators);
        if (generators.Count != count) throw new ArgumentException($"give one generator per prompt ({count}), got {generators.Count}", nameof(generators));
        if (generators.Any(g => g is null)) throw new ArgumentException("a generator is null", nameof(generators));
        return new(null, generators, 0);
    }

    /// <summary>The noise source of images [from, from + count) of this one's.</summary>
    public NoiseSource Narrow(int from, int count) => perImage is null ? this : new(null, perImage, offset + from);

    /// <summary>Standard normal noise of shape (count, ..<paramref name="shape"/>) for images [from, from + count).</summary>
    public Tensor Draw(long[] shape, int from, int count) => perImage is null
        ? randn([count, .. shape], generator: Generator)
        : cat(Enumerable.Range(offset + from, count).Select(i => randn([1, .. shape], generator: perImage[i])).ToArray(), 0);
}
