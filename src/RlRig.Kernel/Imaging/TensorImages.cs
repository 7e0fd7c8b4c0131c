using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;
using TorchSharp;
using static TorchSharp.torch;

namespace RlRig.Imaging;

/// <summary>How pixel values are scaled in an image tensor.</summary>
public enum PixelRange
{
    /// <summary>Values in [0, 1].</summary>
    ZeroToOne,
    /// <summary>Values in [-1, 1], the range diffusion models work in.</summary>
    MinusOneToOne,
}

/// <summary>Conversions between image tensors <c>(3, H, W)</c> and ImageSharp images, and image grids for display.</summary>
public static class TensorImages
{
    /// <summary>Converts a <c>(3, H, W)</c> float tensor to an RGB image; values outside the range are clamped.</summary>
    /// <exception cref="ArgumentException">The tensor is not a 3-channel image.</exception>
    public static Image<Rgb24> ToImage(Tensor chw, PixelRange range = PixelRange.ZeroToOne)
    {
        if (chw.dim() != 3 || chw.shape[0] != 3)
            throw new ArgumentException($"expected an image tensor of shape (3, H, W), got ({string.Join(", ", chw.shape)})", nameof(chw));
        using var scope = NewDisposeScope();
        var unit = range == PixelRange.MinusOneToOne ? (chw.detach().cpu().to(float32) + 1) / 2 : chw.detach().cpu().to(float32);
        // (3, H, W) -> (H, W, 3) bytes, the layout ImageSharp's Rgb24 expects.
        var hwc = (unit.clamp(0, 1) * 255).round().to(uint8).permute(1, 2, 0).contiguous();
        var bytes = hwc.data<byte>().ToArray();
        return Image.LoadPixelData<Rgb24>(bytes, (int)chw.shape[2], (int)chw.shape[1]);
    }

    /// <summary>Converts an RGB image to a <c>(3, H, W)</c> float tensor in <paramref name="range"/>. The caller owns the result.</summary>
    public static Tensor ToTensor(Image<Rgb24> image, PixelRange range = PixelRange.ZeroToOne)
    {
        var bytes = new byte[image.Width * image.Height * 3];
        image.CopyPixelDataTo(bytes);
        using var scope = NewDisposeScope();
        var chw = tensor(bytes, [image.Height, image.Width, 3]).permute(2, 0, 1).to(float32) / 255;
        return (range == PixelRange.MinusOneToOne ? chw * 2 - 1 : chw).MoveToOuterDisposeScope();
    }

    /// <summary>Lays images out in a grid with a 1-pixel gap, so a batch of samples reads as one picture.</summary>
    public static Image<Rgb24> Grid(IReadOnlyList<Image<Rgb24>> images, int columns, Rgb24? background = null)
    {
        if (images.Count == 0) throw new ArgumentException("no images to lay out", nameof(images));
        if (columns < 1) throw new ArgumentOutOfRangeException(nameof(columns), columns, "must be at least 1");
        var cellW = images.Max(i => i.Width);
        var cellH = images.Max(i => i.Height);
        columns = Math.Min(columns, images.Count);
        var rows = (images.Count + columns - 1) / columns;
        var grid = new Image<Rgb24>(columns * (cellW + 1) - 1, rows * (cellH + 1) - 1, background ?? new Rgb24(255, 255, 255));
        for (var i = 0; i < images.Count; i++)
        {
            var at = new Point(i % columns * (cellW + 1), i / columns * (cellH + 1));
            grid.Mutate(g => g.DrawImage(images[i], at, 1f));
        }
        return grid;
    }

    /// <summary>Enlarges an image by an integer factor with nearest-neighbour sampling, so small images keep sharp pixels.</summary>
    public static Image<Rgb24> Enlarge(Image<Rgb24> image, int factor) =>
        factor <= 1 ? image.Clone() : image.Clone(c => c.Resize(image.Width * factor, image.Height * factor, KnownResamplers.NearestNeighbor));
}
