using TorchSharp;
using static TorchSharp.torch;

namespace RlRig.Diffusion;

/// <summary>
/// Classifier-free guidance (Ho and Salimans 2022): the model is run once on a doubled batch, unconditional half first,
/// and the two predictions are extrapolated: eps = eps_uncond + s * (eps_cond - eps_uncond). An editor conditioned on an
/// image and a text runs a tripled batch and guides on each with its own scale (<see cref="CombineDual"/>).
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

    /// <summary>
    /// Dual guidance on an image and a text (InstructPix2Pix, Brooks et al. 2023, eq. 3):
    /// e = e(0, 0) + sI (e(I, 0) - e(0, 0)) + sT (e(I, T) - e(I, 0)). sI = sT = 1 gives e(I, T); sT = 0 ignores the text,
    /// sI = 0 and sT = 0 the image too. The caller owns the result.
    /// </summary>
    /// <param name="neither">e(0, 0): no image, no text.</param>
    /// <param name="imageOnly">e(I, 0): the image, no text.</param>
    /// <param name="both">e(I, T): the image and the text.</param>
    public static Tensor CombineDual(Tensor neither, Tensor imageOnly, Tensor both, double imageGuidanceScale, double textGuidanceScale)
    {
        using var scope = NewDisposeScope();
        return (neither + imageGuidanceScale * (imageOnly - neither) + textGuidanceScale * (both - imageOnly)).MoveToOuterDisposeScope();
    }

    /// <summary>Splits a tripled-batch output (3B, ...) laid out [e(0, 0); e(I, 0); e(I, T)] and combines it with <see cref="CombineDual"/>. The caller owns the result.</summary>
    public static Tensor CombineTripled(Tensor tripled, double imageGuidanceScale, double textGuidanceScale)
    {
        if (tripled.shape[0] % 3 != 0)
            throw new ArgumentException($"a tripled batch has a size divisible by 3, got {tripled.shape[0]}", nameof(tripled));
        using var scope = NewDisposeScope();
        var thirds = tripled.chunk(3, 0);
        return CombineDual(thirds[0], thirds[1], thirds[2], imageGuidanceScale, textGuidanceScale).MoveToOuterDisposeScope();
    }
}
