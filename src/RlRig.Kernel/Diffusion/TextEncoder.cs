using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace RlRig.Diffusion;

/// <summary>Pre-norm transformer layer: x + SelfAttention(LN(x)), then x + MLP(LN(x)).</summary>
internal sealed class TransformerLayer : Module<Tensor, Tensor?, Tensor>
{
    readonly LayerNorm ln_1, ln_2;
    readonly Attention attn;
    readonly Sequential mlp;

    public TransformerLayer(int dim, int heads) : base(nameof(TransformerLayer))
    {
        ln_1 = Norms.LayerNorm(dim);
        attn = new Attention(dim, dim, heads);
        ln_2 = Norms.LayerNorm(dim);
        mlp = Sequential(Linear(dim, 4 * dim), GELU(), Linear(4 * dim, dim));
        RegisterComponents();
    }

    /// <param name="x">(B, L, d).</param>
    /// <param name="keyBias">(B, 1, 1, L) additive bias over the tokens attended to, or null.</param>
    public override Tensor forward(Tensor x, Tensor? keyBias)
    {
        using var scope = NewDisposeScope();
        var h = ln_1.call(x);
        x = x + attn.call(h, h, keyBias);
        x = x + mlp.call(ln_2.call(x));
        return x.MoveToOuterDisposeScope();
    }
}

/// <summary>
/// Token + learned position embeddings, an optional causal convolution over the words (<see cref="DiffuserConfig.TextConvWidth"/>),
/// and a few transformer layers: (B, L) ids -&gt; (B, L, d) context for cross-attention.
/// With <see cref="DiffuserConfig.MaskPadding"/>, attention ignores padding (see <see cref="PaddingBias"/>).
/// </summary>
public sealed class TextEncoder : Module<Tensor, Tensor>
{
    readonly Embedding token_embedding;
    readonly Parameter position_embedding;
    readonly Conv1d? phrase_conv;
    readonly ModuleList<TransformerLayer> layers;
    readonly LayerNorm ln_final;
    readonly bool maskPadding;

    public TextEncoder(DiffuserConfig config) : base(nameof(TextEncoder))
    {
        token_embedding = Embedding(config.Vocabulary.Count + 1, config.TextDim);
        position_embedding = Parameter(randn(1, config.MaxPromptTokens, config.TextDim) * 0.02);
        if (config.TextConvWidth > 0) phrase_conv = Conv1d(config.TextDim, config.TextDim, config.TextConvWidth);
        layers = ModuleList(Enumerable.Range(0, config.TextLayers).Select(_ => new TransformerLayer(config.TextDim, config.TextHeads)).ToArray());
        ln_final = Norms.LayerNorm(config.TextDim);
        maskPadding = config.MaskPadding;
        RegisterComponents();
    }

    /// <param name="tokens">(B, L) int64 ids, L = MaxPromptTokens.</param>
    /// <returns>(B, L, d).</returns>
    public override Tensor forward(Tensor tokens)
    {
        using var scope = NewDisposeScope();
        var x = EmbedWords(tokens);
        var bias = maskPadding ? PaddingBias(tokens) : null;
        foreach (var layer in layers) x = layer.call(x, bias);
        return ln_final.call(x).MoveToOuterDisposeScope();
    }

    /// <summary>(B, L) ids -&gt; (B, L, d): each word's features before the transformer layers. The caller owns the result.</summary>
    internal Tensor EmbedWords(Tensor tokens)
    {
        using var scope = NewDisposeScope();
        var x = token_embedding.call(tokens) + position_embedding;  // (B, L, d)
        if (phrase_conv is not null)
        {
            // Left padding makes it causal: a phrase's last word (the shape: "large blue triangle") sees the whole phrase,
            // so one token carries colour, size and shape bound together from the first step, instead of the transformer
            // having to learn from the diffusion loss alone which colour word belongs to which shape.
            var words = functional.pad(x.transpose(1, 2), [phrase_conv.weight.shape[2] - 1, 0]);  // (B, d, L + w - 1)
            x = x + phrase_conv.call(words).transpose(1, 2);                                       // (B, L, d)
        }
        return x.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// (B, L) ids -&gt; (B, 1, 1, L) additive attention bias: 0 for words, -inf for padding. The first position always
    /// counts, so the all-padding null prompt keeps one (learned) key. The caller owns the result.
    /// </summary>
    /// <remarks>
    /// Without it a one-relation prompt (8 words) spreads every query's attention over 24 padding positions as well:
    /// the words' signal is diluted, and the model learns to follow the prompt more slowly.
    /// </remarks>
    public static Tensor PaddingBias(Tensor tokens)
    {
        using var scope = NewDisposeScope();
        var counts = tokens.ne(PromptTokenizer.PadId);
        counts[.., 0] = tensor(true);
        using var minusInfinity = double.NegativeInfinity.ToScalar();  // held to the end of the call, as in ActorNet
        return zeros(counts.shape, dtype: float32, device: tokens.device)
            .masked_fill(counts.logical_not(), minusInfinity)
            .unsqueeze(1).unsqueeze(1).MoveToOuterDisposeScope();
    }
}
