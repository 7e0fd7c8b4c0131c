namespace RlRig.Diffusion;

/// <summary>How the learning rate falls after warm-up.</summary>
public enum LrDecay
{
    /// <summary>Half a cosine from the peak to MinLearningRateRatio x peak at the last step.</summary>
    Cosine,
    /// <summary>The peak rate until the end.</summary>
    Constant,
}

/// <summary>The learning rate at each step: linear warm-up from 0, then constant or cosine decay (nanoGPT's get_lr).</summary>
public static class LrSchedule
{
    /// <summary>Learning rate for 0-based <paramref name="step"/> of <paramref name="totalSteps"/>.</summary>
    public static double At(long step, long totalSteps, double peak, int warmupSteps, LrDecay decay, double minRatio)
    {
        if (step < warmupSteps) return peak * (step + 1) / warmupSteps;
        if (decay == LrDecay.Constant || totalSteps <= warmupSteps) return peak;
        var progress = Math.Min(1.0, (double)(step - warmupSteps) / Math.Max(1, totalSteps - 1 - warmupSteps));
        var min = peak * minRatio;
        return min + 0.5 * (1 + Math.Cos(Math.PI * progress)) * (peak - min);
    }

    /// <summary>Learning rate at <paramref name="step"/> under <paramref name="options"/>.</summary>
    public static double At(long step, DiffuserTrainerOptions options) =>
        At(step, options.TotalSteps, options.LearningRate, options.WarmupSteps, options.Decay, options.MinLearningRateRatio);
}
