using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace RlRig.Diffusion;

/// <summary>
/// The text-conditioned denoiser: (noisy image (B, 3, S, S), timestep (B), token ids (B, L)) -&gt; predicted epsilon
/// (or v or x0, per <see cref="DiffuserConfig.PredictionType"/>), (B, 3, S, S). The prompt encoding can be computed once with
/// <see cref="EncodeText"/> and reused across sampling steps with <see cref="Denoise"/>.
/// With <see cref="DiffuserConfig.ConditionChannels"/> &gt; 0 it is an instruction-following editor (InstructPix2Pix):
/// the same text encoder and U-Net, the U-Net also reading the source image beside the noisy one, and the text an
/// instruction (<see cref="Forward"/>).
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
    /// <param name="condition">(B, ConditionChannels, S, S), the image an editor edits (zeros for none); null exactly when ConditionChannels is 0.</param>
    public Tensor Denoise(Tensor noisy, Tensor timesteps, Tensor context, Tensor tokens, Tensor? condition = null)
    {
        if ((condition is null) != (Config.ConditionChannels == 0))
            throw new ArgumentException(Config.ConditionChannels == 0 ? "this model reads no condition image (ConditionChannels = 0)"
                : $"this model reads a condition image of {Config.ConditionChannels} channels beside the noisy one; pass it", nameof(condition));
        using var scope = NewDisposeScope();
        var input = condition is null ? noisy.alias() : cat([noisy, condition], 1);                          // (B, 3 + C, S, S)
        var output = unet.call(input, timesteps, context, Config.MaskPadding ? TextEncoder.PaddingBias(tokens) : null);
        return (Config.SourceResidual ? output + condition! : output).MoveToOuterDisposeScope();
    }

    /// <summary>The whole model on token ids, with the condition image a ConditionChannels &gt; 0 model reads (null otherwise). The caller owns the result.</summary>
    public Tensor Forward(Tensor noisy, Tensor timesteps, Tensor tokens, Tensor? condition)
    {
        using var scope = NewDisposeScope();
        return Denoise(noisy, timesteps, text_encoder.call(tokens), tokens, condition).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Starts this model from a trained <paramref name="source"/> as InstructPix2Pix starts from Stable Diffusion: every
    /// tensor copied; where this model reads a condition image, the first convolution's extra input channels zero, so it
    /// begins as exactly the source whatever the condition; where its vocabulary extends the source's, the new words keep
    /// their fresh embeddings. The prediction type may differ (the features carry over; the head learns the new target),
    /// and where this model predicts the change from its source (<see cref="DiffuserConfig.SourceResidual"/>) and the
    /// source does not, the last layer starts at zero, so it begins as the identity edit. Any other difference of
    /// architecture is refused.
    /// </summary>
    /// <param name="source">The trained model.</param>
    /// <param name="shareInputWeights">
    /// Where this model reads a condition image of the noisy image's 3 channels: split the first convolution's image
    /// weights equally between the two (each W / 2) instead of zeros for the condition, so that from the first step the
    /// U-Net sees the source as the Diffuser sees an image (at low noise, where x_t is close to the source, exactly so).
    /// </param>
    /// <exception cref="ArgumentException">The architectures differ beyond condition channels and words appended to the vocabulary.</exception>
    public void InitialiseFrom(TextToImageDiffuser source, bool shareInputWeights = false)
    {
        ArgumentNullException.ThrowIfNull(source);
        var (mine, theirs) = (Config, source.Config);
        var diffs = (mine with { ConditionChannels = theirs.ConditionChannels, Vocabulary = theirs.Vocabulary, PredictionType = theirs.PredictionType, SourceResidual = theirs.SourceResidual })
            .DifferencesFrom(theirs);
        if (diffs.Count > 0) throw new ArgumentException($"cannot start from a model of another architecture:\n  {string.Join("\n  ", diffs)}", nameof(source));
        if (mine.ConditionChannels < theirs.ConditionChannels || mine.Vocabulary.Count < theirs.Vocabulary.Count || !mine.Vocabulary.Take(theirs.Vocabulary.Count).SequenceEqual(theirs.Vocabulary))
            throw new ArgumentException("this model's vocabulary must begin with the source's words, in order, and read at least its condition channels", nameof(source));
        var from = source.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        using var noGrad = no_grad();
        foreach (var (name, target) in named_parameters())
        {
            var p = from[name];
            if (p.shape.SequenceEqual(target.shape)) { target.copy_(p); continue; }
            switch (name)
            {
                case "text_encoder.token_embedding.weight":
                    target.narrow(0, 0, p.shape[0]).copy_(p);                                   // (V_source + 1, d); new words' rows stay fresh
                    break;
                case "unet.conv_in.weight" when shareInputWeights && target.shape[1] == 2 * p.shape[1]:
                    target.narrow(1, 0, p.shape[1]).copy_(p / 2);                               // (C0, 3 + 3, 3, 3): W / 2 on each image
                    target.narrow(1, p.shape[1], p.shape[1]).copy_(p / 2);
                    break;
                case "unet.conv_in.weight":
                    if (shareInputWeights)
                        throw new ArgumentException($"sharing the first convolution's weights needs a condition of the image's {p.shape[1]} channels; this model reads {target.shape[1] - p.shape[1]}", nameof(shareInputWeights));
                    target.zero_();
                    target.narrow(1, 0, p.shape[1]).copy_(p);                                   // (C0, 3 + C, 3, 3); extra inputs 0
                    break;
                default:
                    throw new ArgumentException($"parameter {name} is ({string.Join(", ", p.shape)}) in the source and ({string.Join(", ", target.shape)}) here", nameof(source));
            }
        }
        if (mine.SourceResidual && !theirs.SourceResidual)
            foreach (var (name, target) in named_parameters())
                if (name.StartsWith("unet.conv_out.", StringComparison.Ordinal)) target.zero_();
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

    public override Tensor forward(Tensor noisy, Tensor timesteps, Tensor tokens) => Forward(noisy, timesteps, tokens, null);
}
