using TorchSharp;
using static TorchSharp.torch;

namespace RlRig.Diffusion;

/// <summary>
/// DDPM ancestral sampling (Ho et al. 2020) on a possibly strided timestep grid: x_{t-1} ~ q(x_prev | x_t, x0_hat), the
/// Gaussian posterior with the "small" variance beta_tilde. Same as <see cref="DdimSampler"/> with eta = 1; kept as the
/// reference sampler and for closed-form tests.
/// </summary>
public sealed class DdpmSampler(NoiseSchedule schedule, PredictionType predictionType = PredictionType.Epsilon, bool clipSample = true)
    : DiffusionSampler(schedule, predictionType, clipSample)
{
    /// <summary>
    /// Coefficients of the posterior q(x_prev | x_t, x_0) = N(c0 x_0 + ct x_t, variance) (DDPM eq. 7), with
    /// alpha_t = a_t / a_prev and beta_t = 1 - alpha_t for the (possibly strided) step.
    /// </summary>
    public (double X0Coefficient, double SampleCoefficient, double Variance) Posterior(int timestep)
    {
        var (at, ap) = (Schedule.AlphaBar(timestep), Schedule.AlphaBar(PreviousTimestep(timestep)));
        var alpha = at / ap;
        var beta = 1 - alpha;
        return (Math.Sqrt(ap) * beta / (1 - at), Math.Sqrt(alpha) * (1 - ap) / (1 - at), (1 - ap) / (1 - at) * beta);
    }

    /// <summary>
    /// One reverse step. Noise comes from <paramref name="generator"/> or <paramref name="varianceNoise"/> (not both), and
    /// is not drawn on the last step (variance 0). The caller owns the returned tensors.
    /// </summary>
    /// <exception cref="InvalidOperationException"><see cref="DiffusionSampler.SetTimesteps"/> was not called.</exception>
    public SamplerStepOutput Step(Tensor modelOutput, int timestep, Tensor sample, Generator? generator = null, Tensor? varianceNoise = null)
    {
        var (c0, ct, variance) = Posterior(timestep);
        using var scope = NewDisposeScope();
        var (x0, _) = Predict(modelOutput, timestep, sample);
        var mean = c0 * x0 + ct * sample;
        if (variance <= 0)
            return new SamplerStepOutput(mean.MoveToOuterDisposeScope(), x0.MoveToOuterDisposeScope(), null);
        var sigma = Math.Sqrt(variance);
        var prev = mean + sigma * StepNoise(sample, generator, varianceNoise);
        var logProb = GaussianLogProb(prev, mean, sigma);
        return new SamplerStepOutput(prev.MoveToOuterDisposeScope(), x0.MoveToOuterDisposeScope(), logProb.MoveToOuterDisposeScope());
    }
}
