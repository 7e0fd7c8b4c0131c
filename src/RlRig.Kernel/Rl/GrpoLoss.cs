using static TorchSharp.torch;

namespace RlRig.Rl;

/// <summary>The loss of a batch and the figures TRL logs with it (means over the active tokens).</summary>
/// <param name="Loss">The scalar to minimise; the caller owns it.</param>
/// <param name="Kl">Mean k3 KL estimate to the reference (NaN without one).</param>
/// <param name="ClipRatioLow">Fraction of tokens with a negative advantage whose ratio fell below 1 - epsilon.</param>
/// <param name="ClipRatioHigh">Fraction of tokens with a positive advantage whose ratio rose above 1 + epsilon_high.</param>
/// <param name="ClipRatioRegion">Either of the two: tokens the clip stopped from pushing further.</param>
public sealed record GrpoLossOutput(Tensor Loss, double Kl, double ClipRatioLow, double ClipRatioHigh, double ClipRatioRegion) : IDisposable
{
    public void Dispose() => Loss.Dispose();
}

/// <summary>
/// GRPO's clipped surrogate with a KL penalty, per token, aggregated as <see cref="GrpoOptions.LossType"/> says:
/// ratio = exp(logp - logp_old); loss_t = -min(ratio A, clip(ratio, 1 - eps, 1 + eps_high) A) + beta kl_t, with the k3
/// estimate kl_t = exp(ref - logp) - (ref - logp) - 1. A "token" is whatever the policy's log-probabilities are per:
/// a word of an instruction, or a step of a denoising chain. Pure math on tensors, independent of any model.
/// </summary>
public static class GrpoLoss
{
    /// <param name="logProbs">(B, T) per-token log-probabilities under the current weights, with gradients.</param>
    /// <param name="oldLogProbs">(B, T) those the samples were drawn with (detached).</param>
    /// <param name="referenceLogProbs">(B, T) under the frozen reference, or null when beta is 0.</param>
    /// <param name="advantages">(B) one per sample.</param>
    /// <param name="mask">(B, T) 1 for a real token, 0 for padding.</param>
    public static GrpoLossOutput Compute(Tensor logProbs, Tensor oldLogProbs, Tensor? referenceLogProbs, Tensor advantages, Tensor mask, GrpoOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (logProbs.dim() != 2 || !logProbs.shape.SequenceEqual(oldLogProbs.shape) || !logProbs.shape.SequenceEqual(mask.shape)
            || advantages.dim() != 1 || advantages.shape[0] != logProbs.shape[0])
            throw new ArgumentException($"log-probs ({string.Join(", ", logProbs.shape)}), old log-probs ({string.Join(", ", oldLogProbs.shape)}) and mask ({string.Join(", ", mask.shape)}) must all be (B, T) and advantages (B), got ({string.Join(", ", advantages.shape)})");
        if (options.Beta > 0 && referenceLogProbs is null) throw new ArgumentException("beta > 0 needs the reference log-probs", nameof(referenceLogProbs));
        using var scope = NewDisposeScope();
        var m = mask.to(logProbs.dtype);
        var a = advantages.to(logProbs.dtype).unsqueeze(1);                                                 // (B, 1)
        var ratio = exp(logProbs - oldLogProbs.detach());                                                   // (B, T)
        var clipped = ratio.clamp(1 - options.Epsilon, 1 + options.UpperEpsilon);
        var perToken = -minimum(ratio * a, clipped * a);                                                    // (B, T)
        Tensor? kl = null;
        if (referenceLogProbs is not null && options.Beta > 0)
        {
            var delta = referenceLogProbs.detach() - logProbs;
            kl = exp(delta) - delta - 1;
            perToken = perToken + options.Beta * kl;
        }
        var active = m.sum().clamp_min(1);
        var loss = options.LossType switch
        {
            GrpoLossType.Grpo => ((perToken * m).sum(1) / m.sum(1).clamp_min(1)).mean(),
            GrpoLossType.DrGrpo => (perToken * m).sum() / (logProbs.shape[0] * (double)options.MaxCompletionLength),
            _ => (perToken * m).sum() / active,
        };
        using var noGrad = no_grad();
        double MeanOver(Tensor flags) => ((flags.to(m.dtype) * m).sum() / active).item<float>();
        var low = ratio.lt(1 - options.Epsilon).logical_and(a.lt(0));
        var high = ratio.gt(1 + options.UpperEpsilon).logical_and(a.gt(0));
        var klMean = kl is null ? double.NaN : ((kl * m).sum() / active).item<float>();
        return new GrpoLossOutput(loss.MoveToOuterDisposeScope(), klMean, MeanOver(low), MeanOver(high), MeanOver(low.logical_or(high)));
    }
}
