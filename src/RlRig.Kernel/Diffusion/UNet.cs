using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace RlRig.Diffusion;

/// <summary>GroupNorm-SiLU-conv twice, the timestep embedding added in between, and a residual connection.</summary>
internal sealed class ResBlock : Module<Tensor, Tensor, Tensor>
{
    readonly GroupNorm norm1, norm2;
    readonly Conv2d conv1, conv2;
    readonly Linear time_proj;
    readonly Module<Tensor, Tensor> skip;

    public ResBlock(int inChannels, int outChannels, int timeDim, int groups) : base(nameof(ResBlock))
    {
        norm1 = Norms.GroupNorm(groups, inChannels);
        conv1 = Conv2d(inChannels, outChannels, 3, padding: 1);
        time_proj = Linear(timeDim, outChannels);
        norm2 = Norms.GroupNorm(groups, outChannels);
        conv2 = Conv2d(outChannels, outChannels, 3, padding: 1);
        skip = inChannels == outChannels ? Identity() : Conv2d(inChannels, outChannels, 1);
        RegisterComponents();
    }

    /// <param name="x">(B, Cin, H, W).</param>
    /// <param name="temb">(B, timeDim).</param>
    /// <returns>(B, Cout, H, W).</returns>
    public override Tensor forward(Tensor x, Tensor temb)
    {
        using var scope = NewDisposeScope();
        var h = conv1.call(functional.silu(norm1.call(x)));                  // (B, Cout, H, W)
        h = h + time_proj.call(functional.silu(temb)).unsqueeze(-1).unsqueeze(-1);
        h = conv2.call(functional.silu(norm2.call(h)));
        return (skip.call(x) + h).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// A transformer block over the pixels of a feature map: optional self-attention, cross-attention to the prompt, MLP.
/// The output projection starts at zero, so a new block is the identity and training opens it up gradually.
/// </summary>
internal sealed class SpatialTransformer : Module<Tensor, Tensor, Tensor?, Tensor>
{
    readonly GroupNorm norm;
    readonly Linear proj_in, proj_out;
    readonly LayerNorm? ln_self;
    readonly Attention? self_attn;
    readonly LayerNorm? ln_cross;
    readonly Attention? cross_attn;
    readonly LayerNorm ln_mlp;
    readonly Sequential mlp;

    public SpatialTransformer(int channels, int contextDim, int heads, int groups, bool selfAttention, bool crossAttention) : base(nameof(SpatialTransformer))
    {
        norm = Norms.GroupNorm(groups, channels);
        proj_in = Linear(channels, channels);
        if (selfAttention) { ln_self = Norms.LayerNorm(channels); self_attn = new Attention(channels, channels, heads); }
        if (crossAttention) { ln_cross = Norms.LayerNorm(channels); cross_attn = new Attention(channels, contextDim, heads); }
        ln_mlp = Norms.LayerNorm(channels);
        mlp = Sequential(Linear(channels, 2 * channels), GELU(), Linear(2 * channels, channels));
        proj_out = Linear(channels, channels);
        using (no_grad()) { init.zeros_(proj_out.weight); init.zeros_(proj_out.bias); }
        RegisterComponents();
    }

    /// <summary>The attention to the prompt, if this block has one.</summary>
    internal Attention? CrossAttention => cross_attn;

    /// <param name="x">(B, C, H, W).</param>
    /// <param name="context">(B, L, contextDim) encoded prompt.</param>
    /// <param name="promptBias">(B, 1, 1, L) additive bias over the prompt's tokens (padding masked), or null.</param>
    /// <returns>(B, C, H, W).</returns>
    public override Tensor forward(Tensor x, Tensor context, Tensor? promptBias)
    {
        using var scope = NewDisposeScope();
        var (b, c, hgt, wid) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3]);
        var h = proj_in.call(norm.call(x).flatten(2).transpose(1, 2));       // (B, HW, C)
        if (self_attn is not null) { var n = ln_self!.call(h); h = h + self_attn.call(n, n, null); }
        if (cross_attn is not null) h = h + cross_attn.call(ln_cross!.call(h), context, promptBias);
        h = h + mlp.call(ln_mlp.call(h));
        h = proj_out.call(h).transpose(1, 2).reshape(b, c, hgt, wid);        // (B, C, H, W)
        return (x + h).MoveToOuterDisposeScope();
    }
}

/// <summary>One U-Net stage: a residual block, then a spatial transformer where the configuration asks for attention.</summary>
internal sealed class UNetStage : Module<Tensor, Tensor, Tensor, Tensor?, Tensor>
{
    readonly ResBlock res;
    readonly SpatialTransformer? attn;

    internal Attention? CrossAttention => attn?.CrossAttention;

    public UNetStage(DiffuserConfig config, int inChannels, int outChannels, int resolution) : base(nameof(UNetStage))
    {
        res = new ResBlock(inChannels, outChannels, config.TimeEmbeddingDim, config.NormGroups);
        var self = config.SelfAttentionResolutions.Contains(resolution);
        var cross = config.CrossAttentionResolutions.Contains(resolution);
        if (self || cross) attn = new SpatialTransformer(outChannels, config.TextDim, config.AttentionHeads, config.NormGroups, self, cross);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x, Tensor temb, Tensor context, Tensor? promptBias)
    {
        using var scope = NewDisposeScope();
        var h = res.call(x, temb);
        if (attn is not null) h = attn.call(h, context, promptBias);
        return h.MoveToOuterDisposeScope();
    }
}

/// <summary>
/// The denoising U-Net: (noisy image, timestep, prompt context) -&gt; model output (epsilon or v), same shape as the image.
/// With <see cref="DiffuserConfig.ConditionChannels"/> &gt; 0 the input also carries a condition image after the noisy one
/// (InstructPix2Pix's concatenated source image); the output is still the 3 channels of the noisy image.
/// Level i works at ImageSize / 2^i with Channels[i]; the middle block at ImageSize / 2^levels with the last channel count.
/// One residual block per level and per skip, as in the prior; skips are concatenated on the way up.
/// </summary>
public sealed class UNet : Module<Tensor, Tensor, Tensor, Tensor?, Tensor>
{
    readonly Linear time_1, time_2;
    readonly Linear? text_pool;
    readonly Conv2d conv_in;
    readonly ModuleList<UNetStage> down;
    readonly ModuleList<Conv2d> downsample;
    readonly UNetStage mid;
    readonly ModuleList<Conv2d> upsample;
    readonly ModuleList<UNetStage> up;
    readonly GroupNorm norm_out;
    readonly Conv2d conv_out;
    readonly int sinusoidDim;

    public UNet(DiffuserConfig config) : base(nameof(UNet))
    {
        var ch = config.Channels;
        var levels = ch.Count;
        sinusoidDim = ch[0];
        time_1 = Linear(sinusoidDim, config.TimeEmbeddingDim);
        time_2 = Linear(config.TimeEmbeddingDim, config.TimeEmbeddingDim);
        if (config.PooledText) text_pool = Linear(config.TextDim, config.TimeEmbeddingDim);
        conv_in = Conv2d(3 + config.ConditionChannels, ch[0], 3, padding: 1);
        down = ModuleList(Enumerable.Range(0, levels)
            .Select(i => new UNetStage(config, i == 0 ? ch[0] : ch[i - 1], ch[i], config.ResolutionAt(i))).ToArray());
        downsample = ModuleList(Enumerable.Range(0, levels).Select(i => Conv2d(ch[i], ch[i], 3, stride: 2, padding: 1)).ToArray());
        mid = new UNetStage(config, ch[^1], ch[^1], config.ResolutionAt(levels));
        // Up level i receives the level below it (the middle block for the deepest level) and the skip of down level i.
        int Below(int i) => i == levels - 1 ? ch[^1] : ch[i + 1];
        // The upsampling conv already maps to level i's width: a wide conv at the two finest resolutions was about a third
        // of the compute and bought nothing the stage after it cannot do.
        upsample = ModuleList(Enumerable.Range(0, levels).Select(i => Conv2d(Below(i), ch[i], 3, padding: 1)).ToArray());
        up = ModuleList(Enumerable.Range(0, levels)
            .Select(i => new UNetStage(config, 2 * ch[i], ch[i], config.ResolutionAt(i))).ToArray());
        norm_out = Norms.GroupNorm(config.NormGroups, ch[0]);
        conv_out = Conv2d(ch[0], 3, 3, padding: 1);
        // A zero last layer makes the untrained model predict 0 (the mean of the target), a calm start for the loss.
        using (no_grad()) { init.zeros_(conv_out.weight); init.zeros_(conv_out.bias!); }
        RegisterComponents();
    }

    /// <summary>Every attention to the prompt, from the first block to the last.</summary>
    internal IEnumerable<Attention> CrossAttentions() =>
        down.Append(mid).Concat(up.Reverse()).Select(s => s.CrossAttention).OfType<Attention>();

    /// <param name="x">(B, 3 + ConditionChannels, S, S) noisy images, then the condition's channels.</param>
    /// <param name="timesteps">(B) timesteps (any numeric dtype).</param>
    /// <param name="context">(B, L, TextDim) encoded prompts.</param>
    /// <param name="promptBias">(B, 1, 1, L) additive bias over the prompts' tokens (<see cref="TextEncoder.PaddingBias"/>), or null.</param>
    /// <returns>(B, 3, S, S).</returns>
    public override Tensor forward(Tensor x, Tensor timesteps, Tensor context, Tensor? promptBias)
    {
        using var scope = NewDisposeScope();
        var temb = time_2.call(functional.silu(time_1.call(Sinusoid(timesteps, sinusoidDim))));  // (B, Temb)
        if (text_pool is not null) temb = temb + text_pool.call(MeanOverWords(context, promptBias));
        var h = conv_in.call(x);                                                                   // (B, C0, S, S)
        var skips = new List<Tensor>();
        for (var i = 0; i < down.Count; i++)
        {
            h = down[i].call(h, temb, context, promptBias);                                                  // (B, Ci, S/2^i, S/2^i)
            skips.Add(h);
            h = downsample[i].call(h);                                                            // (B, Ci, S/2^(i+1), ...)
        }
        h = mid.call(h, temb, context, promptBias);                                                          // (B, C_last, S/2^L, S/2^L)
        for (var i = up.Count - 1; i >= 0; i--)
        {
            h = upsample[i].call(functional.interpolate(h, scale_factor: [2.0, 2.0]));            // (B, Ci, S/2^i, ...)
            h = up[i].call(cat([h, skips[i]], 1), temb, context, promptBias);                               // (B, Ci, S/2^i, S/2^i)
        }
        return conv_out.call(functional.silu(norm_out.call(h))).MoveToOuterDisposeScope();
    }

    /// <summary>(B, L, d) context -&gt; (B, d) mean over the positions the bias lets through (all of them without a bias).</summary>
    static Tensor MeanOverWords(Tensor context, Tensor? promptBias)
    {
        if (promptBias is null) return context.mean([1]);
        using var scope = NewDisposeScope();
        var counts = promptBias.eq(0).to(context.dtype).flatten(1).unsqueeze(-1);    // (B, L, 1)
        return ((context * counts).sum(1) / counts.sum(1)).MoveToOuterDisposeScope();
    }

    /// <summary>Transformer-style sinusoidal embedding of the timestep: (B) -&gt; (B, dim), [cos | sin].</summary>
    internal static Tensor Sinusoid(Tensor timesteps, int dim)
    {
        using var scope = NewDisposeScope();
        var half = dim / 2;
        var freqs = exp(arange(half, dtype: float32, device: timesteps.device) * (-Math.Log(10000.0) / half));  // (half)
        var args = timesteps.to(float32).unsqueeze(1) * freqs.unsqueeze(0);                                      // (B, half)
        return cat([cos(args), sin(args)], 1).MoveToOuterDisposeScope();
    }
}
