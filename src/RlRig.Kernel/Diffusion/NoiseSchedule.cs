using TorchSharp;
using static TorchSharp.torch;

namespace RlRig.Diffusion;

/// <summary>How the forward-process variances beta_t grow with t.</summary>
public enum BetaSchedule
{
    /// <summary>beta_t linear from <c>BetaStart</c> to <c>BetaEnd</c> (Ho et al. 2020, DDPM).</summary>
    Linear,
    /// <summary>alpha_bar_t = cos^2(((t/T) + s) / (1 + s) * pi/2), s = 0.008, betas capped at 0.999 (Nichol and Dhariwal 2021).</summary>
    Cosine,
}

/// <summary>What the denoising network predicts.</summary>
public enum PredictionType
{
    /// <summary>The added noise epsilon (DDPM).</summary>
    Epsilon,
    /// <summary>The velocity v = sqrt(alpha_bar) * eps - sqrt(1 - alpha_bar) * x0 (Salimans and Ho 2022).</summary>
    VPrediction,
    /// <summary>
    /// The clean sample x0 itself (diffusers' "sample"). Its loss asks for the whole image at every noise level, so what
    /// the model is told (an editor's source image) matters at high noise too, where an epsilon loss hardly depends on it.
    /// </summary>
    Sample,
}

/// <summary>
/// The forward (noising) process q(x_t | x_0) = N(sqrt(alpha_bar_t) x_0, (1 - alpha_bar_t) I) for t = 0 .. T-1.
/// Immutable: every derived quantity is computed once, in double precision, in the constructor; samplers and the trainer
/// read it and never change it.
/// </summary>
public sealed class NoiseSchedule
{
    /// <summary>Number of diffusion steps T used in training. Defaults to 1000.</summary>
    public int NumTrainTimesteps { get; }
    public BetaSchedule Kind { get; }
    public double BetaStart { get; }
    public double BetaEnd { get; }
    /// <summary>beta_t, t = 0 .. T-1.</summary>
    public IReadOnlyList<double> Betas { get; }
    /// <summary>alpha_bar_t = prod_{s &lt;= t} (1 - beta_s), t = 0 .. T-1.</summary>
    public IReadOnlyList<double> AlphasCumprod { get; }

    public NoiseSchedule(int numTrainTimesteps = 1000, BetaSchedule kind = BetaSchedule.Linear, double betaStart = 1e-4, double betaEnd = 0.02)
    {
        if (numTrainTimesteps < 2) throw new ArgumentOutOfRangeException(nameof(numTrainTimesteps), numTrainTimesteps, "needs at least 2 timesteps");
        if (kind == BetaSchedule.Linear && !(0 < betaStart && betaStart <= betaEnd && betaEnd < 1))
            throw new ArgumentException($"linear betas need 0 < betaStart <= betaEnd < 1, got {betaStart} .. {betaEnd}", nameof(betaStart));
        NumTrainTimesteps = numTrainTimesteps;
        Kind = kind;
        BetaStart = betaStart;
        BetaEnd = betaEnd;
        var betas = kind switch
        {
            BetaSchedule.Linear => LinearBetas(numTrainTimesteps, betaStart, betaEnd),
            BetaSchedule.Cosine => CosineBetas(numTrainTimesteps),
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown beta schedule"),
        };
        var cumprod = new double[numTrainTimesteps];
        var running = 1.0;
        for (var t = 0; t < numTrainTimesteps; t++) cumprod[t] = running *= 1 - betas[t];
        Betas = betas;
        AlphasCumprod = cumprod;
    }

    static double[] LinearBetas(int n, double start, double end) =>
        Enumerable.Range(0, n).Select(i => start + (end - start) * i / (n - 1)).ToArray();

    // Defined through alpha_bar so that the end of the chain is (nearly) pure noise; betas are capped because the last
    // ratio alpha_bar_T / alpha_bar_{T-1} goes to 0 and would make beta 1 (a singular step).
    static double[] CosineBetas(int n)
    {
        const double s = 0.008;
        static double F(double u) => Math.Pow(Math.Cos((u + s) / (1 + s) * Math.PI / 2), 2);
        return Enumerable.Range(0, n).Select(i => Math.Min(1 - F((i + 1.0) / n) / F((double)i / n), 0.999)).ToArray();
    }

    /// <summary>alpha_bar_t, or 1 for t &lt; 0 (the clean image: the "final alpha" of DDIM's last step).</summary>
    public double AlphaBar(int t) => t < 0 ? 1.0 : AlphasCumprod[CheckT(t)];

    int CheckT(int t) => t < NumTrainTimesteps ? t
        : throw new ArgumentOutOfRangeException(nameof(t), t, $"timestep must be below T = {NumTrainTimesteps}");

    /// <summary>
    /// Samples q(x_t | x_0): <c>sqrt(alpha_bar_t) * x0 + sqrt(1 - alpha_bar_t) * noise</c>, one timestep per sample.
    /// The caller owns the result.
    /// </summary>
    /// <param name="x0">Clean images (B, ...).</param>
    /// <param name="noise">Standard normal noise, same shape as <paramref name="x0"/>.</param>
    /// <param name="timesteps">(B) integer timesteps in [0, T).</param>
    public Tensor AddNoise(Tensor x0, Tensor noise, Tensor timesteps)
    {
        using var scope = NewDisposeScope();
        var (a, s) = Coefficients(x0, timesteps);
        return (a * x0 + s * noise).MoveToOuterDisposeScope();
    }

    /// <summary>Same as <see cref="AddNoise(Tensor, Tensor, Tensor)"/> with one timestep for the whole batch.</summary>
    public Tensor AddNoise(Tensor x0, Tensor noise, int timestep)
    {
        var ab = AlphaBar(timestep);
        using var scope = NewDisposeScope();
        return (Math.Sqrt(ab) * x0 + Math.Sqrt(1 - ab) * noise).MoveToOuterDisposeScope();
    }

    /// <summary>The v-prediction target <c>sqrt(alpha_bar_t) * noise - sqrt(1 - alpha_bar_t) * x0</c>. The caller owns the result.</summary>
    public Tensor Velocity(Tensor x0, Tensor noise, Tensor timesteps)
    {
        using var scope = NewDisposeScope();
        var (a, s) = Coefficients(x0, timesteps);
        return (a * noise - s * x0).MoveToOuterDisposeScope();
    }

    /// <summary>Signal-to-noise ratio <c>alpha_bar_t / (1 - alpha_bar_t)</c> per timestep: (B) float32. The caller owns the result.</summary>
    public Tensor SignalToNoise(Tensor timesteps)
    {
        if (timesteps.dim() != 1)
            throw new ArgumentException($"timesteps must have shape (B), got ({string.Join(", ", timesteps.shape)})", nameof(timesteps));
        using var scope = NewDisposeScope();
        var ab = AlphaBars(timesteps, timesteps.device);
        return (ab / (1 - ab)).to(float32).MoveToOuterDisposeScope();
    }

    // alpha_bar_t per timestep, float64 (B), in the caller's dispose scope.
    Tensor AlphaBars(Tensor timesteps, Device device) =>
        tensor(AlphasCumprod.ToArray(), dtype: float64, device: device).index_select(0, timesteps.to(int64));

    // sqrt(alpha_bar_t) and sqrt(1 - alpha_bar_t) per sample, shaped (B, 1, 1, ...) to broadcast over the image.
    // Callers hold a dispose scope; the tensors belong to it.
    (Tensor SqrtAlphaBar, Tensor SqrtOneMinus) Coefficients(Tensor x0, Tensor timesteps)
    {
        if (timesteps.dim() != 1 || timesteps.shape[0] != x0.shape[0])
            throw new ArgumentException($"timesteps must have shape ({x0.shape[0]}), got ({string.Join(", ", timesteps.shape)})", nameof(timesteps));
        var ab = AlphaBars(timesteps, x0.device).to(x0.dtype);
        var shape = new long[x0.dim()];
        Array.Fill(shape, 1L);
        shape[0] = x0.shape[0];
        ab = ab.reshape(shape);
        return (ab.sqrt(), (1 - ab).sqrt());
    }

    /// <summary>
    /// The sampling timesteps for <paramref name="numInferenceSteps"/> steps, from noisiest to cleanest, with "trailing"
    /// spacing (Lin et al. 2024, "Common diffusion noise schedules and sample steps are flawed"): the first step is
    /// always T-1, so sampling starts from the pure noise the model was trained on.
    /// </summary>
    public int[] InferenceTimesteps(int numInferenceSteps)
    {
        if (numInferenceSteps < 1 || numInferenceSteps > NumTrainTimesteps)
            throw new ArgumentOutOfRangeException(nameof(numInferenceSteps), numInferenceSteps, $"must be in [1, {NumTrainTimesteps}]");
        var ratio = (double)NumTrainTimesteps / numInferenceSteps;
        return Enumerable.Range(0, numInferenceSteps).Select(i => (int)Math.Round(NumTrainTimesteps - i * ratio) - 1).ToArray();
    }
}
