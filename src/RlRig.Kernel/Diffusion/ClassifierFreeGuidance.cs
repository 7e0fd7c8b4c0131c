using TorchSharp;
using static TorchSharp.torch;

namespace RlRig.Diffusion;

/// <summary>
/// Classifier-free guidance (Ho and Salimans 2022): the model is run once on a doubled batch, unconditional half first,
/// and the two predictions are extrapolated: eps = eps_uncond + s * (eps_cond - eps_uncond).
/// </summary>
public static class ClassifierFreeGuidance
{
    /// <summary>eps_uncond + <paramref name="guidanceScale"/> * (eps_cond - eps_uncond). The caller owns the result.</summary>
    public static Tensor Combine(Tensor uncond, Tensor cond, double guidanceScale)
    {
        using var scope = NewDisposeScope();
        return (uncond + guidanceScale * (cond - uncond)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Splits a doubled-batch output (2B, ...) laid out [unconditional; conditional] and combines it. s = 1 gives the
    /// conditional prediction, s = 0 the unconditional one. The caller owns the result.
    /// </summary>
    public static Tensor CombineDoubled(Tensor doubled, double guidanceScale)
    {
        if (doubled.shape[0] % 2 != 0)
            throw new ArgumentException($"a doubled batch has an even size, got {doubled.shape[0]}", nameof(doubled));
        using var scope = NewDisposeScope();
        var halves = doubled.chunk(2, 0);
        return Combine(halves[0], halves[1], guidanceScale).MoveToOuterDisposeScope();
    }

    /// <summary>[x; x]: the same input twice along the batch, for one forward pass over both halves. The caller owns the result.</summary>
    public static Tensor Double(Tensor x) => cat([x, x], 0);
}
