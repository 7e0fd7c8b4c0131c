using RlRig.Imaging;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace RlRig.Notebook.Formatting;

/// <summary>Encodes images as the base64 PNG that Jupyter's <c>image/png</c> output carries (no <c>data:</c> prefix).</summary>
public static class ImageFormatter
{
    /// <summary>Images smaller than this many pixels on their long side are enlarged by an integer factor for display.</summary>
    public const int MinimumDisplaySize = 128;

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
    /// The integer factor <see cref="DisplayPng"/> enlarges an image of this size by (1 when it is large enough); anything
    /// drawn over the shown image (boxes) must be scaled by the same factor.
    /// </summary>
    public static int DisplayFactor(int width, int height) => Math.Max(1, MinimumDisplaySize / Math.Max(1, Math.Max(width, height)));

    /// <summary>The value of an <c>image/png</c> output for <paramref name="image"/>.</summary>
    public static string ToBase64Png(Image image) => Convert.ToBase64String(DisplayPng(image));
}
