using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace RlRig.Diffusion;

/// <summary>
/// Multi-head attention of queries x over a context (itself for self-attention), with scaled_dot_product_attention and
/// an optional additive bias over the keys (0 where a key counts, -inf where it is padding).
/// </summary>
internal sealed class Attention : Module<Tensor, Tensor, Tensor?, Tensor>
{
    readonly Linear to_q, to_k, to_v, to_out;
    readonly int heads;

    /// <summary>
    /// When set, every forward appends its attention weights averaged over heads, (B, N, M), to this list, outside every
    /// dispose scope: the list's owner disposes them. Grounding supervision reads them (<see cref="DiffuserTrainerOptions.GroundingWeight"/>).
    /// </summary>
    internal List<Tensor>? Recorder { get; set; }

    public Attention(long dim, long contextDim, int heads) : base(nameof(Attention))
    {
        this.heads = heads;
        to_q = Linear(dim, dim, hasBias: false);
        to_k = Linear(contextDim, dim, hasBias: false);
        to_v = Linear(contextDim, dim, hasBias: false);
        to_out = Linear(dim, dim);
        RegisterComponents();
    }

    /// <param name="x">(B, N, dim) queries.</param>
    /// <param name="context">(B, M, contextDim) keys and values.</param>
    /// <param name="keyBias">(B, 1, 1, M) added to the attention logits, or null.</param>
    /// <returns>(B, N, dim).</returns>
    public override Tensor forward(Tensor x, Tensor context, Tensor? keyBias)
    {
        using var scope = NewDisposeScope();
        var (b, n, dim) = (x.shape[0], x.shape[1], x.shape[2]);
        var m = context.shape[1];
        var q = to_q.call(x).view(b, n, heads, -1).transpose(1, 2);        // (B, h, N, d/h)
        var k = to_k.call(context).view(b, m, heads, -1).transpose(1, 2);  // (B, h, M, d/h)
        var v = to_v.call(context).view(b, m, heads, -1).transpose(1, 2);  // (B, h, M, d/h)
        Tensor y;
        if (Recorder is null) y = functional.scaled_dot_product_attention(q, k, v, keyBias);  // (B, h, N, d/h)
        else
        {
            // The fused kernel does not return its weights, and the recorded weights must be the ones used, gradient included.
            var logits = q.matmul(k.transpose(2, 3)) / Math.Sqrt(q.shape[3]);  // (B, h, N, M)
            var weights = (keyBias is null ? logits : logits + keyBias).softmax(-1);
            Recorder.Add(weights.mean([1]).DetachFromDisposeScope());
            y = weights.matmul(v);                                             // (B, h, N, d/h)
        }
        y = y.transpose(1, 2).reshape(b, n, dim);                         // (B, N, dim)
        return to_out.call(y).MoveToOuterDisposeScope();
    }
}
