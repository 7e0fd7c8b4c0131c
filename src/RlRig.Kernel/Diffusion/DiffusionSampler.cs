using TorchSharp;
using static TorchSharp.torch;

namespace RlRig.Diffusion;

/// <summary>
/// One reverse step's result. The caller owns the tensors (dispose them, or let an enclosing dispose scope do it).
/// </summary>
/// <param name="PrevSample">x_{t-1}, shape of the sample (B, C, H, W).</param>
/// <param name="PredOriginalSample">The model's estimate of x_0 at this step, (B, C, H, W).</param>
/// <param name="LogProb">
/// log p(x_{t-1} | x_t) of the produced <paramref name="PrevSample"/> under the step's Gaussian, averaged over pixels, (B);
/// null when the step is deterministic (DDIM with eta = 0, or the last DDPM step).
/// </param>
public readonly record struct SamplerStepOutput(Tensor PrevSample, Tensor PredOriginalSample, Tensor? LogProb);

/// <summary>
/// What DDPM and DDIM share: the frozen schedule, the prediction type, the timestep grid set by
/// <see cref="SetTimesteps"/>, and the conversions between model output, x_0 and epsilon.
/// </summary>
public abstract class DiffusionSampler
{
    int[]? timesteps;

    protected DiffusionSampler(NoiseSchedule schedule, PredictionType predictionType, bool clipSample)
    {
        Schedule = schedule ?? throw new ArgumentNullException(nameof(schedule));
        PredictionType = predictionType;
        ClipSample = clipSample;
    }

    public NoiseSchedule Schedule { get; }
    public PredictionType PredictionType { get; }
    /// <summary>Whether the predicted x_0 is clamped to [-1, 1] (the image range) before it is used. Defaults to true.</summary>
    public bool ClipSample { get; }

    /// <summary>The sampling timesteps, noisiest first; empty until <see cref="SetTimesteps"/> is called.</summary>
    public IReadOnlyList<int> Timesteps => timesteps ?? [];

    /// <summary>Number of sampling steps set by <see cref="SetTimesteps"/>, or 0.</summary>
    public int NumInferenceSteps => timesteps?.Length ?? 0;

    /// <summary>Chooses <paramref name="numInferenceSteps"/> timesteps ("trailing" spacing, first = T-1).</summary>
    public void SetTimesteps(int numInferenceSteps) => timesteps = Schedule.InferenceTimesteps(numInferenceSteps);

    /// <summary>The timestep that follows <paramref name="timestep"/> in the sampling grid, or -1 after the last one.</summary>
    public int PreviousTimestep(int timestep)
    {
        if (timesteps is null)
            throw new InvalidOperationException($"{GetType().Name}: call SetTimesteps(numInferenceSteps) before stepping.");
        var i = Array.IndexOf(timesteps, timestep);
        if (i < 0)
            throw new ArgumentException($"timestep {timestep} is not one of the {timesteps.Length} sampling timesteps set by SetTimesteps ({string.Join(", ", timesteps.Take(4))}, ...)", nameof(timestep));
        return i + 1 < timesteps.Length ? timesteps[i + 1] : -1;
    }

    /// <summary>(x0_hat, eps_hat) from the model output at timestep t. Tensors belong to the caller's dispose scope.</summary>
    protected (Tensor X0, Tensor Eps) Predict(Tensor modelOutput, int t, Tensor sample)
    {
        if (!modelOutput.shape.SequenceEqual(sample.shape))
            throw new ArgumentException($"model output ({string.Join(", ", modelOutput.shape)}) and sample ({string.Join(", ", sample.shape)}) must have the same shape", nameof(modelOutput));
        var a = Schedule.AlphaBar(t);
        var (sa, sb) = (Math.Sqrt(a), Math.Sqrt(1 - a));
        var (x0, eps) = PredictionType switch
        {
            // DDIM eq. 12, "predicted x_0": x0 = (x_t - sqrt(1 - a_t) eps) / sqrt(a_t).
            PredictionType.Epsilon => ((sample - sb * modelOutput) / sa, modelOutput.alias()),
            // v = sqrt(a_t) eps - sqrt(1 - a_t) x0 and x_t = sqrt(a_t) x0 + sqrt(1 - a_t) eps, solved for x0 and eps.
            PredictionType.VPrediction => (sa * sample - sb * modelOutput, sa * modelOutput + sb * sample),
            // x_t = sqrt(a_t) x0 + sqrt(1 - a_t) eps solved for eps, from the unclipped x0 as diffusers does.
            PredictionType.Sample => (modelOutput.alias(), (sample - sa * modelOutput) / sb),
            _ => throw new InvalidOperationException($"unknown prediction type {PredictionType}"),
        };
        if (ClipSample) x0 = x0.clamp(-1, 1);
        return (x0, eps);
    }

    /// <summary>
    /// Mean over every dimension but the batch of the log-density of <paramref name="x"/> under N(mean, sigma^2); with a
    /// (B, 1, H, W) <paramref name="mask"/>, the mask-weighted mean over its pixels (0 for an empty mask): the pixels outside
    /// are not drawn from this Gaussian and carry no density.
    /// </summary>
    internal static Tensor GaussianLogProb(Tensor x, Tensor mean, double sigma, Tensor? mask = null)
    {
        var perPixel = -(x - mean).square() / (2 * sigma * sigma) - Math.Log(sigma) - 0.5 * Math.Log(2 * Math.PI);
        if (mask is null) return perPixel.flatten(1).mean([1]);
        if (mask.dim() != 4 || mask.shape[0] != x.shape[0] || mask.shape[1] != 1 || !mask.shape.Skip(2).SequenceEqual(x.shape.Skip(2)))
            throw new ArgumentException($"the mask ({string.Join(", ", mask.shape)}) must be (B, 1, H, W) for samples ({string.Join(", ", x.shape)})", nameof(mask));
        var weights = mask.to(perPixel.dtype).expand_as(perPixel);
        return (perPixel * weights).flatten(1).sum([1]) / weights.flatten(1).sum([1]).clamp_min(1e-12);
    }

    /// <summary>Noise for a stochastic step: exactly one of the explicit tensor or the generator (or the default generator).</summary>
    internal static Tensor StepNoise(Tensor sample, Generator? generator, Tensor? varianceNoise)
    {
        if (generator is not null && varianceNoise is not null)
            throw new ArgumentException("pass either a generator or explicit varianceNoise, not both", nameof(varianceNoise));
        if (varianceNoise is null) return randn(sample.shape, dtype: sample.dtype, device: sample.device, generator: generator);
        if (!varianceNoise.shape.SequenceEqual(sample.shape))
            throw new ArgumentException($"varianceNoise ({string.Join(", ", varianceNoise.shape)}) must have the sample's shape ({string.Join(", ", sample.shape)})", nameof(varianceNoise));
        return varianceNoise.alias();
    }
}
