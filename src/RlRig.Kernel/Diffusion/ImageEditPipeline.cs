using TorchSharp;
using static TorchSharp.torch;

namespace RlRig.Diffusion;

/// <summary>
/// Instruction-following image editing (InstructPix2Pix, Brooks et al. 2023) with a <see cref="TextToImageDiffuser"/>
/// that reads the source image (<see cref="DiffuserConfig.ConditionChannels"/> = 3): DDIM with eta &gt; 0 and dual
/// classifier-free guidance on image and text, one tripled batch per step (3 NFE). Each edit draws all of its noise from
/// its own generator, so it is reproducible from its seed whatever batch it runs in.
/// </summary>
/// <remarks>
/// For RL on the chain (DDPO, Flow-GRPO): <see cref="Edit"/> with <c>returnTrajectory</c> records every latent, timestep
/// and per-step Gaussian log-probability; <see cref="LogProb"/> recomputes one step's log-probability under the current
/// weights with gradients (the stored x_{t-1} re-scored by <see cref="DdimSampler.LogProb"/>). A group of edits of one
/// (image, instruction) may share its initial noise (<c>initialNoise</c>) and still draw its own step noise.
/// </remarks>
public sealed class ImageEditPipeline
{
    /// <exception cref="ArgumentException">The model reads no 3-channel source image.</exception>
    public ImageEditPipeline(TextToImageDiffuser model)
    {
        Model = model ?? throw new ArgumentNullException(nameof(model));
        if (model.Config.ConditionChannels != 3)
            throw new ArgumentException($"an editor reads the 3-channel source image beside the noisy one; this model has ConditionChannels = {model.Config.ConditionChannels}", nameof(model));
        Tokenizer = model.Config.CreateTokenizer();
        Schedule = model.Config.CreateSchedule();
    }

    public TextToImageDiffuser Model { get; }
    public PromptTokenizer Tokenizer { get; }
    public NoiseSchedule Schedule { get; }

    /// <summary>Denoiser evaluations of one edit: the steps run, times 3 with guidance (times 1 when both scales are 1).</summary>
    public static int Nfe(int numInferenceSteps, double strength, double imageGuidanceScale, double guidanceScale) =>
        StepsRun(numInferenceSteps, strength) * (Guided(imageGuidanceScale, guidanceScale) ? 3 : 1);

    /// <summary>
    /// Edits each source image as its instruction says. The caller owns (disposes) the result.
    /// </summary>
    /// <param name="sources">(B, 3, H, W) in [-1, 1], the images to edit.</param>
    /// <param name="instructions">One instruction per image, in the model's words; "" is the null instruction.</param>
    /// <param name="generators">One generator per image: its initial noise (unless <paramref name="initialNoise"/> is given) and every step's noise.</param>
    /// <param name="numInferenceSteps">DDIM steps of the full chain. Defaults to 20.</param>
    /// <param name="imageGuidanceScale">sI: how closely the result follows the source image; 1 = no image guidance. Defaults to 1.5 (InstructPix2Pix).</param>
    /// <param name="guidanceScale">sT: how strongly the result follows the instruction. Defaults to 3.</param>
    /// <param name="eta">DDIM noise: 1 = DDPM-like; &gt; 0 records per-step log-probabilities. Defaults to 1.</param>
    /// <param name="strength">Fraction of the chain run, in (0, 1]: below 1 the chain starts from the source noised to that level (SDEdit) and spends fewer NFE. Defaults to 1.</param>
    /// <param name="initialNoise">(B, 3, H, W) noise for the chain's start in place of the generators' first draw (a GRPO group's shared start), or null.</param>
    /// <param name="batchSize">Edits per forward pass (the pass itself is 3 times as large with guidance). Defaults to 16.</param>
    /// <param name="returnTrajectory">Keep every step's latent, predicted x_0 and log-probability.</param>
    /// <param name="cancellationToken">Checked before every step: a batch of edits takes seconds to minutes on a CPU.</param>
    public GenerationResult Edit(Tensor sources, IReadOnlyList<string> instructions, IReadOnlyList<Generator> generators, int numInferenceSteps = 20,
        double imageGuidanceScale = 1.5, double guidanceScale = 3.0, double eta = 1.0, double strength = 1.0, Tensor? initialNoise = null,
        int batchSize = 16, bool returnTrajectory = false, CancellationToken cancellationToken = default)
    {
        // 1. Check inputs.
        ArgumentNullException.ThrowIfNull(sources);
        ArgumentNullException.ThrowIfNull(instructions);
        ArgumentNullException.ThrowIfNull(generators);
        var n = instructions.Count;
        if (n == 0) throw new ArgumentException("give at least one instruction", nameof(instructions));
        CheckImages(sources, n, nameof(sources));
        if (initialNoise is not null) CheckImages(initialNoise, n, nameof(initialNoise));
        if (generators.Count != n || generators.Any(g => g is null)) throw new ArgumentException($"give one generator per instruction ({n}), got {generators.Count}", nameof(generators));
        CheckSampling(numInferenceSteps, imageGuidanceScale, guidanceScale, eta, strength);
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "must be at least 1");
        foreach (var i in instructions) Tokenizer.EncodeOne(i);  // fail on a bad instruction before any compute
        var wasTraining = Model.training;
        Model.eval();
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        // 2. Timesteps: the tail of the full grid that strength selects.
        var sampler = Sampler(numInferenceSteps);
        var timesteps = sampler.Timesteps.Skip(numInferenceSteps - StepsRun(numInferenceSteps, strength)).ToArray();
        // 3. The chain's start: pure noise at T-1 (strength 1), or the source noised to the first timestep.
        var source = sources.detach().cpu().to(float32);
        var shape = new long[] { 1, 3, source.shape[2], source.shape[3] };
        var noise = initialNoise?.detach().cpu().to(float32) ?? cat(generators.Select(g => randn(shape, generator: g)).ToArray(), 0);
        var start = Schedule.AddNoise(source, noise, timesteps[0]);
        // 4. Denoise batch by batch.
        var chunks = new List<ChainResult>();
        try
        {
            for (var from = 0; from < n; from += batchSize)
            {
                var count = Math.Min(batchSize, n - from);
                chunks.Add(DenoiseBatch(sampler, source.narrow(0, from, count), [.. instructions.Skip(from).Take(count)], start.narrow(0, from, count),
                    [.. generators.Skip(from).Take(count)], timesteps, imageGuidanceScale, guidanceScale, eta, returnTrajectory, cancellationToken));
            }
        }
        finally { Model.train(wasTraining); }
        // 5. Gather.
        return ChainResult.Gather(chunks, timesteps, returnTrajectory);
    }

    /// <summary>
    /// log p(<paramref name="prevSample"/> | <paramref name="sample"/>) of one recorded step under the model's current
    /// weights, with gradients: the guided prediction at (<paramref name="sample"/>, <paramref name="timestep"/>) and
    /// <see cref="DdimSampler.LogProb"/>. With the weights and settings the chain was sampled with, it equals the
    /// trajectory's <see cref="DiffusionTrajectory.LogProbs"/> column of that step. (B). The caller owns the result.
    /// </summary>
    /// <param name="sources">(B, 3, H, W) the source images of the edits.</param>
    /// <param name="instructions">Their instructions.</param>
    /// <param name="sample">x_t, (B, 3, H, W): the trajectory's latent before the step.</param>
    /// <param name="timestep">The step's timestep (a grid timestep of <paramref name="numInferenceSteps"/>, not the last).</param>
    /// <param name="prevSample">x_{t-1}: the trajectory's latent after the step.</param>
    public Tensor LogProb(Tensor sources, IReadOnlyList<string> instructions, Tensor sample, int timestep, Tensor prevSample, int numInferenceSteps,
        double imageGuidanceScale = 1.5, double guidanceScale = 3.0, double eta = 1.0)
    {
        ArgumentNullException.ThrowIfNull(instructions);
        CheckImages(sources, instructions.Count, nameof(sources));
        CheckImages(sample, instructions.Count, nameof(sample));
        CheckImages(prevSample, instructions.Count, nameof(prevSample));
        CheckSampling(numInferenceSteps, imageGuidanceScale, guidanceScale, eta, 1.0);
        using var scope = NewDisposeScope();
        var sampler = Sampler(numInferenceSteps);
        var (context, tokens, condition) = Conditioning(sources, instructions, Guided(imageGuidanceScale, guidanceScale));
        var output = GuidedOutput(sample, timestep, context, tokens, condition, imageGuidanceScale, guidanceScale);
        return sampler.LogProb(output, timestep, sample, prevSample, eta).MoveToOuterDisposeScope();
    }

    // The DDIM loop for one batch; tensors belong to the caller's dispose scope.
    ChainResult DenoiseBatch(DdimSampler sampler, Tensor source, IReadOnlyList<string> instructions,
        Tensor start, IReadOnlyList<Generator> generators, int[] timesteps, double imageGuidanceScale, double guidanceScale, double eta, bool returnTrajectory,
        CancellationToken cancellationToken)
    {
        var (context, tokens, condition) = Conditioning(source, instructions, Guided(imageGuidanceScale, guidanceScale));
        var x = start.alias();
        var (latents, x0s, logProbs) = (new List<Tensor> { x }, new List<Tensor>(), new List<Tensor>());
        foreach (var t in timesteps)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var stepScope = NewDisposeScope();
            var output = GuidedOutput(x, t, context, tokens, condition, imageGuidanceScale, guidanceScale);     // (B, 3, H, W)
            // Each edit's step noise from its own generator, so an edit does not depend on its batch.
            var stepNoise = eta == 0 ? null : cat(generators.Select(g => randn([1, .. x.shape.Skip(1)], generator: g)).ToArray(), 0);
            var step = sampler.Step(output, t, x, eta, varianceNoise: stepNoise);
            x = step.PrevSample.MoveToOuterDisposeScope();
            if (!returnTrajectory) continue;
            latents.Add(x);
            x0s.Add(step.PredOriginalSample.MoveToOuterDisposeScope());
            // The last step (to alpha_bar = 1) is deterministic even when eta > 0: it is recorded as 0, a ratio of 1.
            if (eta > 0) logProbs.Add((step.LogProb ?? zeros(x.shape[0], dtype: x.dtype)).MoveToOuterDisposeScope());
        }
        return new ChainResult(x, latents, x0s, logProbs);
    }

    // Encoded instructions and condition images, tripled for guidance as [no image, no text; image, no text; image, text].
    (Tensor Context, Tensor Tokens, Tensor Condition) Conditioning(Tensor source, IReadOnlyList<string> instructions, bool guided)
    {
        var tokens = Tokenizer.Encode(guided ? [.. Enumerable.Repeat("", 2 * instructions.Count), .. instructions] : instructions);  // (3B or B, L)
        var condition = guided ? cat([zeros_like(source), source, source], 0) : source.alias();                                     // (3B or B, 3, H, W)
        return (Model.EncodeText(tokens), tokens, condition);
    }

    Tensor GuidedOutput(Tensor x, int t, Tensor context, Tensor tokens, Tensor condition, double imageGuidanceScale, double guidanceScale)
    {
        var guided = Guided(imageGuidanceScale, guidanceScale);
        var input = guided ? cat([x, x, x], 0) : x.alias();                                                   // (3B or B, 3, H, W)
        var output = Model.Denoise(input, full([input.shape[0]], t, int64), context, tokens, condition);
        return guided ? ClassifierFreeGuidance.CombineTripled(output, imageGuidanceScale, guidanceScale) : output;
    }

    DdimSampler Sampler(int numInferenceSteps)
    {
        var sampler = new DdimSampler(Schedule, Model.Config.PredictionType);
        sampler.SetTimesteps(numInferenceSteps);
        return sampler;
    }

    static bool Guided(double imageGuidanceScale, double guidanceScale) => imageGuidanceScale != 1.0 || guidanceScale != 1.0;

    static int StepsRun(int numInferenceSteps, double strength) => Math.Clamp((int)Math.Round(numInferenceSteps * strength), 1, numInferenceSteps);

    void CheckSampling(int numInferenceSteps, double imageGuidanceScale, double guidanceScale, double eta, double strength)
    {
        if (numInferenceSteps < 1 || numInferenceSteps > Schedule.NumTrainTimesteps)
            throw new ArgumentOutOfRangeException(nameof(numInferenceSteps), numInferenceSteps, $"must be in [1, {Schedule.NumTrainTimesteps}]");
        if (!(imageGuidanceScale >= 0)) throw new ArgumentOutOfRangeException(nameof(imageGuidanceScale), imageGuidanceScale, "must be >= 0 (1 = no image guidance)");
        if (!(guidanceScale >= 0)) throw new ArgumentOutOfRangeException(nameof(guidanceScale), guidanceScale, "must be >= 0 (1 = no text guidance)");
        if (!(eta >= 0)) throw new ArgumentOutOfRangeException(nameof(eta), eta, "must be >= 0");
        if (!(strength > 0 && strength <= 1)) throw new ArgumentOutOfRangeException(nameof(strength), strength, "strength must be in (0, 1]");
    }

    void CheckImages(Tensor images, int count, string name)
    {
        var size = Model.Config.ImageSize;
        if (images.dim() != 4 || images.shape[0] != count || images.shape[1] != 3 || images.shape[2] != size || images.shape[3] != size)
            throw new ArgumentException($"{name} must have shape ({count}, 3, {size}, {size}) to match the instructions and the model, got ({string.Join(", ", images.shape)})", name);
    }
}
