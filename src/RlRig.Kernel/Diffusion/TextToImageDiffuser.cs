using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace RlRig.Diffusion;

/// <summary>
/// The text-conditioned denoiser: (noisy image (B, 3, S, S), timestep (B), token ids (B, L)) -&gt; predicted epsilon
/// (or v, per <see cref="DiffuserConfig.PredictionType"/>), (B, 3, S, S). The prompt encoding can be computed once with
/// <see cref="EncodeText"/> and reused across sampling steps with <see cref="Denoise"/>.
/// </summary>
public sealed class TextToImageDiffuser : Module<Tensor, Tensor, Tensor, Tensor>
{
    readonly TextEncoder text_encoder;
    readonly UNet unet;

    public TextToImageDiffuser(DiffuserConfig config) : base(nameof(TextToImageDiffuser))
    {
        Config = config.Validate();
        text_encoder = new TextEncoder(config);
        unet = new UNet(config);
        RegisterComponents();
    }

    public DiffuserConfig Config { get; }

    /// <summary>Number of scalar parameters.</summary>
    public long ParameterCount => parameters().Sum(p => p.numel());

    /// <summary>(B, L) ids -&gt; (B, L, TextDim) context. The caller owns the result.</summary>
    public Tensor EncodeText(Tensor tokens) => text_encoder.call(tokens);

    /// <summary>The U-Net on a context precomputed by <see cref="EncodeText"/> from <paramref name="tokens"/>. The caller owns the result.</summary>
    /// <param name="tokens">(B, L) the ids the context was encoded from: they say which positions are padding.</param>
    public Tensor Denoise(Tensor noisy, Tensor timesteps, Tensor context, Tensor tokens)
    {
        using var scope = NewDisposeScope();
        return unet.call(noisy, timesteps, context, Config.MaskPadding ? TextEncoder.PaddingBias(tokens) : null).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Until disposed, every forward appends the attention weights of each U-Net block over the prompt, averaged over
    /// heads, (B, (S/2^level)^2, L), to <paramref name="weights"/>; the caller disposes them.
    /// </summary>
    internal IDisposable RecordCrossAttention(List<Tensor> weights)
    {
        var attentions = unet.CrossAttentions().ToList();
        foreach (var a in attentions) a.Recorder = weights;
        return new Unsubscriber(() => { foreach (var a in attentions) a.Recorder = null; });
    }

    sealed class Unsubscriber(Action undo) : IDisposable
    {
        public void Dispose() => undo();
    }

    public override Tensor forward(Tensor noisy, Tensor timesteps, Tensor tokens)
    {
        using var scope = NewDisposeScope();
        return Denoise(noisy, timesteps, text_encoder.call(tokens), tokens).MoveToOuterDisposeScope();
    }
}
