using System.Text.Json;
using RlRig.Diffusion;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace RlRig.Loop.Actors;

/// <summary>The learned Actor's architecture. Immutable; stored in every checkpoint.</summary>
public sealed record ActorConfig
{
    /// <summary>Token ids the model reads and writes. Defaults to the Actor's vocabulary (<see cref="ActorTokens.Words"/>).</summary>
    public int VocabSize { get; init; } = ActorTokens.Words.Count;
    /// <summary>Most tokens of state plus instruction. Defaults to 256 (a 4-object target with 8 detections is about 150).</summary>
    public int ContextLength { get; init; } = 256;
    /// <summary>Width of the residual stream. Defaults to 128.</summary>
    public int Dim { get; init; } = 128;
    /// <summary>Transformer blocks. Defaults to 4.</summary>
    public int Layers { get; init; } = 4;
    /// <summary>Attention heads per block (Dim must divide by it). Defaults to 4.</summary>
    public int Heads { get; init; } = 4;
    /// <summary>
    /// How instructions name objects (<see cref="ActorReferences"/>). Defaults to <see cref="ActorReferences.Slots"/>;
    /// a checkpoint whose configuration predates the field was trained on <see cref="ActorReferences.Words"/>.
    /// </summary>
    public ActorReferences References { get; init; } = ActorReferences.Slots;

    public ActorConfig Validate()
    {
        if (VocabSize < ActorTokens.Words.Count) throw new ArgumentOutOfRangeException(nameof(VocabSize), VocabSize, $"must be at least the Actor's vocabulary ({ActorTokens.Words.Count})");
        if (ContextLength is < 16 or > 4096) throw new ArgumentOutOfRangeException(nameof(ContextLength), ContextLength, "use 16 to 4096 tokens");
        if (Dim is < 8 or > 2048) throw new ArgumentOutOfRangeException(nameof(Dim), Dim, "use 8 to 2048");
        if (Layers is < 1 or > 48) throw new ArgumentOutOfRangeException(nameof(Layers), Layers, "use 1 to 48");
        if (Heads < 1 || Dim % Heads != 0) throw new ArgumentOutOfRangeException(nameof(Heads), Heads, $"use a divisor of Dim ({Dim})");
        if (!Enum.IsDefined(References)) throw new ArgumentOutOfRangeException(nameof(References), References, "use Words or Slots");
        return this;
    }

    public string ToJson() => JsonSerializer.Serialize(this, DiffuserConfig.Json);

    public static ActorConfig FromJson(string json) =>
        JsonSerializer.Deserialize<ActorConfig>(json, DiffuserConfig.Json) ?? throw new JsonException("the configuration JSON is null");
}

/// <summary>
/// A decoder-only transformer in nanoGPT's shape: token and position embeddings, pre-LayerNorm blocks of causal
/// self-attention and a 4x GELU MLP, a final LayerNorm and a linear head. Input token ids (B, T) and a mask of the real
/// tokens (B, T); output next-token logits (B, T, V). Padding may stand on either side: positions count real tokens
/// only, so a left-padded prompt sees the same positions as an unpadded one, and no query attends to padding.
/// </summary>
public sealed class ActorNet : Module<Tensor, Tensor, Tensor>
{
    readonly Embedding tokens, positions;
    readonly ModuleList<Block> blocks;
    readonly LayerNorm lnFinal;
    readonly Linear head;

    public ActorNet(ActorConfig config) : base(nameof(ActorNet))
    {
        Config = config.Validate();
        tokens = Embedding(config.VocabSize, config.Dim);
        positions = Embedding(config.ContextLength, config.Dim);
        blocks = new ModuleList<Block>([.. Enumerable.Range(0, config.Layers).Select(_ => new Block(config.Dim, config.Heads))]);
        lnFinal = LayerNorm(config.Dim);
        head = Linear(config.Dim, config.VocabSize, hasBias: false);
        RegisterComponents();
        using (no_grad())
        {
            // GPT-2's initialisation: small embeddings, so no token starts out dominating the residual stream.
            init.normal_(tokens.weight!, 0, 0.02);
            init.normal_(positions.weight!, 0, 0.02);
        }
    }

    public ActorConfig Config { get; }

    public long ParameterCount => parameters().Sum(p => p.numel());

    public override Tensor forward(Tensor ids, Tensor valid)
    {
        using var scope = NewDisposeScope();
        var t = ids.shape[1];
        if (t > Config.ContextLength) throw new ArgumentException($"{t} tokens exceed the context of {Config.ContextLength}", nameof(ids));
        var position = (valid.to(int64).cumsum(1) - 1).clamp_min(0);                            // (B, T)
        var causal = ones(t, t, dtype: ScalarType.Bool, device: ids.device).tril();              // (T, T)
        // A query sees earlier real tokens, and always itself, so a padding row is never all -inf.
        var allowed = causal.unsqueeze(0).logical_and(valid.unsqueeze(1)).logical_or(eye(t, dtype: ScalarType.Bool, device: ids.device));  // (B, T, T)
        // An explicit Scalar held to the end of the call: an implicit one can be finalized while libtorch still reads it
        // (a GRPO run died in THSTensor_masked_fill with "Expected false to be true" from Scalar::toFloat).
        using var minusInfinity = double.NegativeInfinity.ToScalar();
        var bias = zeros(allowed.shape, device: ids.device).masked_fill(allowed.logical_not(), minusInfinity).unsqueeze(1);                  // (B, 1, T, T)
        var x = tokens.call(ids) + positions.call(position);                                    // (B, T, C)
        foreach (var block in blocks) x = block.call(x, bias);
        return head.call(lnFinal.call(x)).MoveToOuterDisposeScope();                            // (B, T, V)
    }

    sealed class Block : Module<Tensor, Tensor, Tensor>
    {
        readonly LayerNorm ln1, ln2;
        readonly Linear qkv, proj, fc, fcOut;
        readonly int heads;

        public Block(int dim, int heads) : base(nameof(Block))
        {
            this.heads = heads;
            (ln1, ln2) = (LayerNorm(dim), LayerNorm(dim));
            (qkv, proj) = (Linear(dim, 3 * dim), Linear(dim, dim));
            (fc, fcOut) = (Linear(dim, 4 * dim), Linear(4 * dim, dim));
            RegisterComponents();
        }

        public override Tensor forward(Tensor x, Tensor bias)
        {
            using var scope = NewDisposeScope();
            var (b, t, c) = (x.shape[0], x.shape[1], x.shape[2]);
            var qkvs = qkv.call(ln1.call(x)).view(b, t, 3, heads, c / heads).permute(2, 0, 3, 1, 4);  // (3, B, h, T, C/h)
            var y = functional.scaled_dot_product_attention(qkvs[0], qkvs[1], qkvs[2], bias);         // (B, h, T, C/h)
            x = x + proj.call(y.transpose(1, 2).reshape(b, t, c));
            x = x + fcOut.call(functional.gelu(fc.call(ln2.call(x))));
            return x.MoveToOuterDisposeScope();
        }
    }
}
