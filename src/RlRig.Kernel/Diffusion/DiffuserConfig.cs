using System.Text.Json;
using System.Text.Json.Serialization;

namespace RlRig.Diffusion;

/// <summary>
/// Every architecture and noise-process choice of a <see cref="TextToImageDiffuser"/>; saved in each checkpoint, and a
/// checkpoint only loads into the configuration it was trained with. Defaults follow the measured prior
/// (reference/diffuser-prior.md): U-Net 32/64/128, cross-attention at 16x16, 8x8 and 4x4, self-attention only at 8x8 and 4x4.
/// </summary>
public sealed record DiffuserConfig
{
    /// <summary>Image side in pixels (square RGB images). Must be divisible by 2^Channels.Count. Defaults to 32.</summary>
    public int ImageSize { get; init; } = 32;
    /// <summary>U-Net channels per resolution level, from full resolution down; each level halves the side. Defaults to [32, 64, 128].</summary>
    public IReadOnlyList<int> Channels { get; init; } = [32, 64, 128];
    /// <summary>Image sides (pixels) at which U-Net blocks attend to the prompt. Defaults to [16, 8, 4].</summary>
    public IReadOnlyList<int> CrossAttentionResolutions { get; init; } = [16, 8, 4];
    /// <summary>Image sides at which U-Net blocks attend to themselves; costly above 8x8 on CPU (the prior: 3 s/step at 16x16). Defaults to [8, 4].</summary>
    public IReadOnlyList<int> SelfAttentionResolutions { get; init; } = [8, 4];
    /// <summary>Attention heads in the U-Net; must divide every attending level's channels. Defaults to 4.</summary>
    public int AttentionHeads { get; init; } = 4;
    /// <summary>Groups of every GroupNorm; must divide every channel count. Defaults to 8.</summary>
    public int NormGroups { get; init; } = 8;
    /// <summary>Width of the timestep embedding fed to every residual block. Defaults to 128.</summary>
    public int TimeEmbeddingDim { get; init; } = 128;
    /// <summary>Text encoder width d. Defaults to 64.</summary>
    public int TextDim { get; init; } = 64;
    /// <summary>Text encoder transformer layers. Defaults to 2.</summary>
    public int TextLayers { get; init; } = 2;
    /// <summary>Text encoder attention heads; must divide <see cref="TextDim"/>. Defaults to 4.</summary>
    public int TextHeads { get; init; } = 4;
    /// <summary>The tokenizer's words in id order (id = index + 1, 0 = padding). Required.</summary>
    public IReadOnlyList<string> Vocabulary { get; init; } = [];
    /// <summary>Prompt length in tokens after padding. Defaults to 32.</summary>
    public int MaxPromptTokens { get; init; } = 32;
    /// <summary>
    /// Whether attention (text encoder and U-Net cross-attention) ignores padding tokens (<see cref="TextEncoder.PaddingBias"/>).
    /// Defaults to false, so files written before it existed load as they were trained. The committed checkpoint uses it;
    /// on the shapes world it changed object accuracy by no more than the noise (data/shapes-world/README.md).
    /// </summary>
    public bool MaskPadding { get; init; }
    /// <summary>
    /// Width in words of a causal convolution over the word embeddings before the transformer layers; 0 (the default, so
    /// files written before it existed load as trained) for none. With 3, a shape word's feature is a function of its
    /// whole phrase ("large blue triangle"): colour bound to shape, where the transformer alone left the U-Net a bag of words.
    /// </summary>
    public int TextConvWidth { get; init; }
    /// <summary>
    /// Whether the prompt's mean encoding (padding excluded) is added to the timestep embedding, so every residual block,
    /// the full-resolution ones included, knows what the prompt asks for, not only the blocks that attend to it (as
    /// Imagen adds a pooled text embedding). Defaults to false, so older files load as trained.
    /// </summary>
    public bool PooledText { get; init; }
    /// <summary>
    /// Channels of an image the U-Net reads beside the noisy image (its first convolution takes 3 + this many), as
    /// InstructPix2Pix conditions on the source image of an edit. 0 (the default, so older files load as trained) for a
    /// text-to-image Diffuser; 3 for the learned editor, which reads the image it edits.
    /// </summary>
    public int ConditionChannels { get; init; }
    /// <summary>
    /// What the network predicts. Defaults to <see cref="Diffusion.PredictionType.Epsilon"/>. On the shapes world, v with
    /// Min-SNR-5 gave clean backgrounds but worse judge figures than epsilon with plain MSE: 48.1 % object accuracy after
    /// 3,600 steps against 59.7 % after 3,000 (the evaluation set, 3 seeds; data/shapes-world/README.md).
    /// </summary>
    public PredictionType PredictionType { get; init; } = PredictionType.Epsilon;
    /// <summary>
    /// For an editor (<see cref="ConditionChannels"/> = 3) predicting x0 (<see cref="Diffusion.PredictionType.Sample"/>):
    /// the U-Net's output is the change, x0 - source, and the model returns source + output. A U-Net whose last layer is
    /// zero is then the identity edit, and training only has to learn what an instruction changes. Where the source is
    /// dropped (zeros: the no-image branch of dual guidance) the output is the whole image. Defaults to false, so older
    /// files load as trained.
    /// </summary>
    public bool SourceResidual { get; init; }
    /// <summary>Training timesteps T. Defaults to 1000.</summary>
    public int NumTrainTimesteps { get; init; } = 1000;
    /// <summary>Beta schedule. Defaults to <see cref="Diffusion.BetaSchedule.Linear"/> 1e-4 .. 0.02 (as the prior).</summary>
    public BetaSchedule BetaSchedule { get; init; } = BetaSchedule.Linear;
    public double BetaStart { get; init; } = 1e-4;
    public double BetaEnd { get; init; } = 0.02;

    /// <summary>The noise schedule this configuration trains and samples with.</summary>
    public NoiseSchedule CreateSchedule() => new(NumTrainTimesteps, BetaSchedule, BetaStart, BetaEnd);

    /// <summary>The tokenizer over <see cref="Vocabulary"/> and <see cref="MaxPromptTokens"/>.</summary>
    public PromptTokenizer CreateTokenizer() => new(Vocabulary, MaxPromptTokens);

    /// <summary>Side of the image at U-Net level <paramref name="level"/> (level Channels.Count is the middle block).</summary>
    public int ResolutionAt(int level) => ImageSize >> level;

    /// <summary>Checks the cross-field constraints; returns this for chaining.</summary>
    /// <exception cref="ArgumentException">A field is out of range; the message says which and how to fix it.</exception>
    public DiffuserConfig Validate()
    {
        void Require(bool ok, string field, string how) { if (!ok) throw new ArgumentException($"DiffuserConfig.{field}: {how}", field); }
        Require(Channels.Count >= 1, nameof(Channels), "give at least one level, e.g. [32, 64, 128]");
        Require(ImageSize >= 4 && ImageSize % (1 << Channels.Count) == 0, nameof(ImageSize),
            $"{ImageSize} must be divisible by 2^{Channels.Count} = {1 << Channels.Count} (one halving per level); use 32 or 64, or fewer levels");
        foreach (var c in Channels)
            Require(c > 0 && c % NormGroups == 0, nameof(Channels), $"{c} is not a positive multiple of NormGroups = {NormGroups}");
        for (var level = 0; level <= Channels.Count; level++)
        {
            var r = ResolutionAt(level);
            var c = Channels[Math.Min(level, Channels.Count - 1)];
            if (CrossAttentionResolutions.Contains(r) || SelfAttentionResolutions.Contains(r))
                Require(c % AttentionHeads == 0, nameof(AttentionHeads), $"{AttentionHeads} heads do not divide {c} channels at {r}x{r}");
        }
        var levels = Enumerable.Range(0, Channels.Count + 1).Select(ResolutionAt).ToList();
        foreach (var (name, list) in new[] { (nameof(CrossAttentionResolutions), CrossAttentionResolutions), (nameof(SelfAttentionResolutions), SelfAttentionResolutions) })
            foreach (var r in list)
                Require(levels.Contains(r), name, $"attention at {r}x{r}, but the U-Net only has {string.Join(", ", levels.Select(l => $"{l}x{l}"))}");
        Require(TextDim > 0 && TextHeads > 0 && TextDim % TextHeads == 0, nameof(TextHeads), $"{TextHeads} heads must divide TextDim = {TextDim}");
        Require(TextLayers >= 1, nameof(TextLayers), $"{TextLayers} must be at least 1 (the default is 2)");
        Require(TextConvWidth >= 0 && TextConvWidth <= MaxPromptTokens, nameof(TextConvWidth), $"{TextConvWidth} must be 0 (none) to MaxPromptTokens = {MaxPromptTokens} words, e.g. 3");
        Require(TimeEmbeddingDim > 0 && Channels[0] % 2 == 0, nameof(TimeEmbeddingDim), "must be positive, and Channels[0] even (sinusoid width)");
        Require(Vocabulary.Count > 0, nameof(Vocabulary), "give the world's words (colours, sizes, shapes, relation words, \";\")");
        Require(MaxPromptTokens >= 1, nameof(MaxPromptTokens), "must be at least 1");
        Require(ConditionChannels is >= 0 and <= 64, nameof(ConditionChannels), $"{ConditionChannels} must be 0 (a text-to-image Diffuser) to 64; the editor reads a 3-channel image");
        Require(!SourceResidual || (ConditionChannels == 3 && PredictionType == PredictionType.Sample), nameof(SourceResidual),
            $"a source residual adds the 3-channel source image to a predicted x0: set ConditionChannels = 3 and PredictionType = Sample (now {ConditionChannels} and {PredictionType}), or SourceResidual = false");
        _ = CreateSchedule();
        _ = CreateTokenizer();
        return this;
    }

    /// <summary>Human-readable differences from <paramref name="other"/> ("Channels: [32, 64, 128] vs [32, 64]"), empty if equal.</summary>
    public IReadOnlyList<string> DifferencesFrom(DiffuserConfig other)
    {
        var diffs = new List<string>();
        void Cmp<T>(string name, T a, T b) { if (!EqualityComparer<T>.Default.Equals(a, b)) diffs.Add($"{name}: {a} vs {b}"); }
        void CmpList(string name, IReadOnlyList<int> a, IReadOnlyList<int> b) { if (!a.SequenceEqual(b)) diffs.Add($"{name}: [{string.Join(", ", a)}] vs [{string.Join(", ", b)}]"); }
        Cmp(nameof(ImageSize), ImageSize, other.ImageSize);
        CmpList(nameof(Channels), Channels, other.Channels);
        CmpList(nameof(CrossAttentionResolutions), CrossAttentionResolutions, other.CrossAttentionResolutions);
        CmpList(nameof(SelfAttentionResolutions), SelfAttentionResolutions, other.SelfAttentionResolutions);
        Cmp(nameof(AttentionHeads), AttentionHeads, other.AttentionHeads);
        Cmp(nameof(NormGroups), NormGroups, other.NormGroups);
        Cmp(nameof(TimeEmbeddingDim), TimeEmbeddingDim, other.TimeEmbeddingDim);
        Cmp(nameof(TextDim), TextDim, other.TextDim);
        Cmp(nameof(TextLayers), TextLayers, other.TextLayers);
        Cmp(nameof(TextHeads), TextHeads, other.TextHeads);
        Cmp(nameof(MaxPromptTokens), MaxPromptTokens, other.MaxPromptTokens);
        Cmp(nameof(MaskPadding), MaskPadding, other.MaskPadding);
        Cmp(nameof(TextConvWidth), TextConvWidth, other.TextConvWidth);
        Cmp(nameof(PooledText), PooledText, other.PooledText);
        Cmp(nameof(ConditionChannels), ConditionChannels, other.ConditionChannels);
        Cmp(nameof(PredictionType), PredictionType, other.PredictionType);
        Cmp(nameof(SourceResidual), SourceResidual, other.SourceResidual);
        Cmp(nameof(NumTrainTimesteps), NumTrainTimesteps, other.NumTrainTimesteps);
        Cmp(nameof(BetaSchedule), BetaSchedule, other.BetaSchedule);
        Cmp(nameof(BetaStart), BetaStart, other.BetaStart);
        Cmp(nameof(BetaEnd), BetaEnd, other.BetaEnd);
        if (!Vocabulary.SequenceEqual(other.Vocabulary))
        {
            var i = Enumerable.Range(0, Math.Min(Vocabulary.Count, other.Vocabulary.Count)).FirstOrDefault(k => Vocabulary[k] != other.Vocabulary[k], -1);
            var where = i >= 0 ? $"first difference at id {i + 1}: \"{Vocabulary[i]}\" vs \"{other.Vocabulary[i]}\""
                : $"one is a prefix of the other; extra words: {string.Join(" ", (Vocabulary.Count > other.Vocabulary.Count ? Vocabulary : other.Vocabulary).Skip(Math.Min(Vocabulary.Count, other.Vocabulary.Count)))}";
            diffs.Add($"Vocabulary: {Vocabulary.Count} vs {other.Vocabulary.Count} words, {where}");
        }
        return diffs;
    }

    /// <summary>Value equality over every field, lists included.</summary>
    public bool Equals(DiffuserConfig? other) => other is not null && DifferencesFrom(other).Count == 0;

    public override int GetHashCode() => HashCode.Combine(ImageSize, Channels.Count, TextDim, Vocabulary.Count, PredictionType, NumTrainTimesteps);

    internal static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter() },
    };

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    public static DiffuserConfig FromJson(string json) =>
        JsonSerializer.Deserialize<DiffuserConfig>(json, Json) ?? throw new JsonException("the configuration JSON is null");
}
