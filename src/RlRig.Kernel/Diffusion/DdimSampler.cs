using TorchSharp;
using static TorchSharp.torch;

namespace RlRig.Diffusion;

/// <summary>
/// DDIM (Song et al. 2021, "Denoising Diffusion Implicit Models"), with the eta &gt; 0 step and its log-probability as
/// DDPO uses it (Black et al. 2024). eta = 0 is the deterministic ODE-like sampler; eta = 1 is DDPM's ancestral sampler.
/// </summary>
/// <remarks>
/// Symbols: a_t = alpha_bar_t, a_prev = alpha_bar at the next (less noisy) sampling timestep (1 after the last),
/// eps_hat = predicted noise, x0_hat = predicted clean image, sigma_t = the step's noise scale.
/// </remarks>
public sealed class DdimSampler(NoiseSchedule schedule, PredictionType predictionType = PredictionType.Epsilon, bool clipSample = true)
    : DiffusionSampler(schedule, predictionType, clipSample)
{
    /// <summary>
    /// sigma_t = eta * sqrt((1 - a_prev) / (1 - a_t) * (1 - a_t / a_prev)) (DDIM eq. 16) for the step from
    /// <paramref name="timestep"/> to the next sampling timestep.
    /// </summary>
    public double Sigma(int timestep, double eta)
    {
        if (eta < 0) throw new ArgumentOutOfRangeException(nameof(eta), eta, "eta must be >= 0");
        var (at, ap) = (Schedule.AlphaBar(timestep), Schedule.AlphaBar(PreviousTimestep(timestep)));
        return eta * Math.Sqrt((1 - ap) / (1 - at) * (1 - at / ap));
    }

    /// <summary>
    /// One reverse step x_t -&gt; x_{t-1}. Noise comes from <paramref name="generator"/> or <paramref name="varianceNoise"/>
    /// (not both); neither is used when eta = 0. The caller owns the returned tensors.
    /// </summary>
    /// <param name="modelOutput">The network's output at (sample, timestep): epsilon, v or x0, per <see cref="DiffusionSampler.PredictionType"/>.</param>
    /// <param name="timestep">The current timestep, one of <see cref="DiffusionSampler.Timesteps"/>.</param>
    /// <param name="sample">x_t, (B, C, H, W).</param>
    /// <param name="eta">0 = deterministic DDIM, 1 = DDPM-like ancestral sampling.</param>
    /// <param name="mask">(B, 1, H, W): where the step is the policy's (1) and where the caller replaces it (0, an inpainting
    /// chain's kept region); the log-probability is the mean over the masked pixels only. Null: every pixel.</param>
    /// <exception cref="InvalidOperationException"><see cref="DiffusionSampler.SetTimesteps"/> was not called.</exception>
    public SamplerStepOutput Step(Tensor modelOutput, int timestep, Tensor sample, double eta = 0.0, Generator? generator = null, Tensor? varianceNoise = null,
        Tensor? mask = null)
    {
        var sigma = Sigma(timestep, eta);
        using var scope = NewDisposeScope();
        var (x0, mean) = Mean(modelOutput, timestep, sample, sigma);
        if (sigma == 0)
            return new SamplerStepOutput(mean.MoveToOuterDisposeScope(), x0.MoveToOuterDisposeScope(), null);
        // x_{t-1} = mean + sigma_t z (DDIM eq. 12, last term).
        var prev = mean + sigma * StepNoise(sample, generator, varianceNoise);
        var logProb = GaussianLogProb(prev, mean, sigma, mask);
        return new SamplerStepOutput(prev.MoveToOuterDisposeScope(), x0.MoveToOuterDisposeScope(), logProb.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// log p(<paramref name="prevSample"/> | <paramref name="sample"/>) under the Gaussian that <see cref="Step"/> would sample
    /// from given <paramref name="modelOutput"/>, averaged over pixels: (B). Differentiable in the model output, so a
    /// policy-gradient loss can re-score a stored transition under updated weights. The caller owns the result.
    /// </summary>
    /// <param name="mask">As <see cref="Step"/>'s: the pixels whose density counts (an inpainting chain's region), or null for all.</param>
    /// <exception cref="ArgumentOutOfRangeException">eta is 0: a deterministic step has no density.</exception>
    public Tensor LogProb(Tensor modelOutput, int timestep, Tensor sample, Tensor prevSample, double eta, Tensor? mask = null)
    {
        var sigma = Sigma(timestep, eta);
        if (sigma == 0)
            throw new ArgumentOutOfRangeException(nameof(eta), eta, "a deterministic step (eta = 0) has no log-probability; sample with eta > 0");
        using var scope = NewDisposeScope();
        var (_, mean) = Mean(modelOutput, timestep, sample, sigma);
        return GaussianLogProb(prevSample, mean, sigma, mask).MoveToOuterDisposeScope();
    }

    // DDIM eq. 12 without the noise term: mean = sqrt(a_prev) x0_hat + sqrt(1 - a_prev - sigma_t^2) eps_hat.
    (Tensor X0, Tensor Mean) Mean(Tensor modelOutput, int timestep, Tensor sample, double sigma)
    {
        var ap = Schedule.AlphaBar(PreviousTimestep(timestep));
        var (x0, eps) = Predict(modelOutput, timestep, sample);
        var direction = Math.Sqrt(Math.Max(1 - ap - sigma * sigma, 0)) * eps;
        return (x0, Math.Sqrt(ap) * x0 + direction);
    }
}
