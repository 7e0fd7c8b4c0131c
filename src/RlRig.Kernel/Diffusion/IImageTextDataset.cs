using TorchSharp;
using static TorchSharp.torch;

namespace RlRig.Diffusion;

/// <summary>An endless source of (image, prompt) training pairs, e.g. the shapes world's renderer.</summary>
public interface IImageTextDataset
{
    /// <summary>
    /// Draws a batch. All randomness must come from <paramref name="generator"/> (no other RNG), so a run is reproducible
    /// and resumable from the generator's saved state. The caller owns (disposes) the images.
    /// </summary>
    /// <returns>Images (B, 3, H, W) float32 in [-1, 1], and B prompts in the model's vocabulary.</returns>
    (Tensor Images, IReadOnlyList<string> Prompts) NextBatch(int batchSize, Generator generator);
}

/// <summary>
/// A dataset that also knows where each prompt word is drawn, for grounding supervision of the U-Net's attention to the
/// prompt (<see cref="DiffuserTrainerOptions.GroundingWeight"/>).
/// </summary>
public interface IGroundedImageTextDataset : IImageTextDataset
{
    /// <summary>As <see cref="IImageTextDataset.NextBatch"/>, with the same draws from <paramref name="generator"/>, plus
    /// where each word is drawn.</summary>
    /// <param name="maxWords">The tokenizer's sequence length L: words at positions from L on get no region.</param>
    /// <returns>Images and prompts as NextBatch; regions (B, L, H, W) float32, 1 on the pixels of the object word l of
    /// prompt b names (every word of "large blue triangle"), all 0 for words that name no object (relations, ";", padding).</returns>
    (Tensor Images, IReadOnlyList<string> Prompts, Tensor WordRegions) NextGroundedBatch(int batchSize, Generator generator, int maxWords);
}

/// <summary>
/// An endless source of (image, prompt, condition image) triples for a model that reads an image beside the noisy one
/// (<see cref="DiffuserConfig.ConditionChannels"/>): for the learned editor, (after, instruction, before).
/// </summary>
public interface IConditionedImageTextDataset : IImageTextDataset
{
    /// <summary>As <see cref="IImageTextDataset.NextBatch"/>, with the condition of each example.</summary>
    /// <returns>Images (B, 3, H, W) in [-1, 1], B prompts, and conditions (B, C, H, W) in [-1, 1]. The caller owns the tensors.</returns>
    (Tensor Images, IReadOnlyList<string> Prompts, Tensor Conditions) NextConditionedBatch(int batchSize, Generator generator);
}

/// <summary>
/// A tiny stand-in for the shapes world: two squares of different colours on black, one left of / right of / above /
/// below the other, prompt "red square left of blue square". For tests, benchmarks and smoke runs.
/// </summary>
public sealed class SyntheticSquaresDataset : IImageTextDataset
{
    static readonly (string Name, float R, float G, float B)[] Colours =
        [("red", 1, -1, -1), ("green", -1, 1, -1), ("blue", -1, -1, 1), ("yellow", 1, 1, -1)];
    static readonly string[] Relations = ["left of", "right of", "above", "below"];

    /// <summary>Every word a prompt of this dataset uses, in a fixed order.</summary>
    public static IReadOnlyList<string> Vocabulary { get; } = ["red", "green", "blue", "yellow", "square", "left", "right", "of", "above", "below", ";"];

    public SyntheticSquaresDataset(int imageSize = 32)
    {
        if (imageSize < 16) throw new ArgumentOutOfRangeException(nameof(imageSize), imageSize, "must be at least 16");
        ImageSize = imageSize;
    }

    public int ImageSize { get; }

    public (Tensor Images, IReadOnlyList<string> Prompts) NextBatch(int batchSize, Generator generator)
    {
        var s = ImageSize;
        var side = s / 4;
        // Per sample: colour a, colour offset (so b != a), relation, and two jitters; drawn in one call for speed.
        using var draws = randint(0, 1 << 20, [batchSize, 5], generator: generator);
        var r = draws.data<long>().ToArray();
        var pixels = new float[batchSize * 3 * s * s];
        Array.Fill(pixels, -1f);
        var prompts = new string[batchSize];
        for (var b = 0; b < batchSize; b++)
        {
            var a = (int)(r[b * 5] % Colours.Length);
            var c = (a + 1 + (int)(r[b * 5 + 1] % (Colours.Length - 1))) % Colours.Length;
            var rel = (int)(r[b * 5 + 2] % Relations.Length);
            var j1 = (int)(r[b * 5 + 3] % (s / 4));
            var j2 = (int)(r[b * 5 + 4] % (s / 4));
            // The first-named square goes to the relation's side; the other to the opposite one.
            var (near, far) = (s / 16, s - side - s / 16);
            var (ax, ay, cx, cy) = rel switch
            {
                0 => (near, j1 + s / 8, far, j2 + s / 8),
                1 => (far, j1 + s / 8, near, j2 + s / 8),
                2 => (j1 + s / 8, near, j2 + s / 8, far),
                _ => (j1 + s / 8, far, j2 + s / 8, near),
            };
            Paint(pixels, b, s, ax, ay, side, Colours[a]);
            Paint(pixels, b, s, cx, cy, side, Colours[c]);
            prompts[b] = $"{Colours[a].Name} square {Relations[rel]} {Colours[c].Name} square";
        }
        return (tensor(pixels, [batchSize, 3, s, s]), prompts);
    }

    static void Paint(float[] pixels, int b, int s, int x0, int y0, int side, (string, float R, float G, float B) colour)
    {
        ReadOnlySpan<float> rgb = [colour.R, colour.G, colour.B];
        for (var ch = 0; ch < 3; ch++)
            for (var y = y0; y < Math.Min(y0 + side, s); y++)
                pixels.AsSpan(((b * 3 + ch) * s + y) * s + x0, Math.Min(side, s - x0)).Fill(rgb[ch]);
    }
}
