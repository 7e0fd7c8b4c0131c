using RlRig.SceneGraphs;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace RlRig.Notebook.Rendering;

/// <summary>
/// Draws box outlines into an image's pixels, for outputs that cannot carry an SVG overlay (a plain <c>image/png</c>).
/// ImageSharp's core has no drawing or text API, so the outlines are written pixel by pixel and labels are not drawn:
/// the overlay (<see cref="BoxOverlay"/>) and the text output carry them. Colours follow <see cref="BoxOverlay"/>'s order.
/// </summary>
public static class BoxPixels
{
    private static readonly Rgb24[] Colors = BoxOverlay.Palette.Select(hex => Color.ParseHex(hex).ToPixel<Rgb24>()).ToArray();

    /// <summary>A copy of <paramref name="image"/> with each box outlined, <paramref name="thickness"/> pixels inward from its edge.</summary>
    /// <param name="image">The image; not changed.</param>
    /// <param name="boxes">Boxes in the image's pixels; parts outside the image are clipped.</param>
    /// <param name="thickness">Line width in pixels. Defaults to 2; at least 1.</param>
    public static Image<Rgb24> Draw(Image<Rgb24> image, IEnumerable<Box> boxes, int thickness = 2)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(boxes);
        ArgumentOutOfRangeException.ThrowIfLessThan(thickness, 1);
        Image<Rgb24> copy = image.Clone();
        int index = 0;
        foreach (Box box in boxes)
        {
            ArgumentNullException.ThrowIfNull(box, nameof(boxes));
            Outline(copy, box, Colors[index++ % Colors.Length], thickness);
        }
        return copy;
    }

    private static void Outline(Image<Rgb24> image, Box box, Rgb24 color, int thickness)
    {
        // Pixel (x, y) covers [x, x + 1): a box from 10 to 20 covers pixels 10..19.
        int x0 = (int)Math.Floor(box.X), y0 = (int)Math.Floor(box.Y);
        int x1 = (int)Math.Ceiling(box.Right) - 1, y1 = (int)Math.Ceiling(box.Bottom) - 1;
        for (int y = Math.Max(0, y0); y <= Math.Min(image.Height - 1, y1); y++)
        {
            bool edgeRow = y - y0 < thickness || y1 - y < thickness;
            for (int x = Math.Max(0, x0); x <= Math.Min(image.Width - 1, x1); x++)
                if (edgeRow || x - x0 < thickness || x1 - x < thickness) image[x, y] = color;
        }
    }
}
