using RlRig.Imaging;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace RlRig.Notebook.Formatting;

/// <summary>Encodes images as the base64 PNG that Jupyter's <c>image/png</c> output carries (no <c>data:</c> prefix).</summary>
public static class ImageFormatter
{
    /// <summary>Images whose short side is below this many pixels are enlarged by an integer factor for display.</summary>
    public const int MinimumDisplaySize = 128;

    /// <summary>The long side an enlargement stops at: a strip of 32-px images (a grid, a denoising trajectory) is enlarged
    /// as its height asks, which a long side of 4,096 px allows for a strip of 128 of them.</summary>
    public const int MaximumDisplaySize = 4096;

    /// <summary>The PNG bytes shown for <paramref name="image"/>: enlarged with nearest-neighbour sampling if it is tiny.</summary>
    public static byte[] DisplayPng(Image image)
    {
        using var rgb = image.CloneAs<Rgb24>();
        using var shown = TensorImages.Enlarge(rgb, DisplayFactor(rgb.Width, rgb.Height));
        using var stream = new MemoryStream();
        shown.SaveAsPng(stream);
        return stream.ToArray();
    }

    /// <summary>
    /// The integer factor <see cref="DisplayPng"/> enlarges an image of this size by: enough to bring its short side to
    /// <see cref="MinimumDisplaySize"/> (a 692x32 strip is as hard to see as a 32x32 image), unless that would take the
    /// long side past <see cref="MaximumDisplaySize"/>; 1 when it is large enough. The data keeps its size: only what is
    /// shown is enlarged, and anything drawn over the shown image (boxes) must be scaled by the same factor.
    /// </summary>
    public static int DisplayFactor(int width, int height)
    {
        int shortSide = Math.Max(1, Math.Min(width, height)), longSide = Math.Max(1, Math.Max(width, height));
        var wanted = (MinimumDisplaySize + shortSide - 1) / shortSide;
        return Math.Max(1, Math.Min(wanted, MaximumDisplaySize / longSide));
    }

    /// <summary>The value of an <c>image/png</c> output for <paramref name="image"/>.</summary>
    public static string ToBase64Png(Image image) => Convert.ToBase64String(DisplayPng(image));
}
