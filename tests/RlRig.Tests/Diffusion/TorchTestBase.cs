using RlRig.Diffusion;
using RlRig.Torch;
using static TorchSharp.torch;

namespace RlRig.Tests.Diffusion;

/// <summary>Loads TorchSharp (with the Debian 12 fix) before any test touches torch, and offers small shared fixtures.</summary>
public abstract class TorchTestBase
{
    protected TorchTestBase() => TorchRuntime.EnsureLoaded();

    /// <summary>A model small enough that a training step takes milliseconds: 16x16, two levels, attention at 8x8 and 4x4.</summary>
    internal static DiffuserConfig TinyConfig(IReadOnlyList<string>? vocabulary = null) => new()
    {
        ImageSize = 16,
        Channels = [16, 32],
        CrossAttentionResolutions = [8, 4],
        SelfAttentionResolutions = [4],
        TimeEmbeddingDim = 32,
        TextDim = 32,
        Vocabulary = vocabulary ?? SyntheticSquaresDataset.Vocabulary,
        MaxPromptTokens = 12,
    };

    /// <summary><see cref="TinyConfig"/> over the shapes world's words and 32x32 canvas, attending to the prompt at 16x16 and 8x8.</summary>
    internal static DiffuserConfig TinyShapesWorldConfig() => TinyConfig(RlRig.World.WorldVocabulary.Words) with
    {
        ImageSize = 32, CrossAttentionResolutions = [16, 8], SelfAttentionResolutions = [8], MaxPromptTokens = 32,
    };

    /// <summary>A tiny model whose untrained output layers (zero: the model predicts 0) are random, so a chain depends on the model.</summary>
    internal static TextToImageDiffuser RandomizedTinyModel(DiffuserConfig config, long seed)
    {
        random.manual_seed(seed);
        var model = new TextToImageDiffuser(config);
        using var noGrad = no_grad();
        foreach (var (name, p) in model.named_parameters())
            if (name.Contains("conv_out") || name.Contains("proj_out")) p.normal_(0, 0.05);
        return model;
    }

    internal static string TempDir()
    {
        var dir = Path.Combine(Path.GetTempPath(), "rlrig-diffusion-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }
}
