using System.Text;
using RlRig.SceneGraphs;

namespace RlRig.Notebook.Rendering;

/// <summary>A box to draw over an image, with its caption.</summary>
public sealed record LabelledBox(Box Box, string Label);

/// <summary>
/// An image with boxes and labels drawn over it: the PNG as an <c>&lt;img&gt;</c> data URI and, stacked on it, an SVG
/// of the same pixel size holding the boxes. All text is escaped.
/// </summary>
public static class BoxOverlay
{
    /// <summary>The colours of boxes 0, 1, 2, ... (repeating), shared with <see cref="BoxPixels"/> so a box keeps its colour in every output.</summary>
    public static IReadOnlyList<string> Palette { get; } = ["#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#9a6324"];
    private static readonly byte[] PngSignature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>The HTML fragment.</summary>
    /// <param name="png">PNG file bytes.</param>
    /// <param name="width">Image width in pixels; boxes are in these pixels.</param>
    /// <param name="height">Image height in pixels.</param>
    /// <param name="boxes">Boxes and labels, drawn in order.</param>
    /// <param name="caption">Optional caption under the image, e.g. the img_id.</param>
    /// <exception cref="ArgumentException">The bytes are not a PNG, or the size is not positive.</exception>
    public static string Render(byte[] png, int width, int height, IEnumerable<LabelledBox> boxes, string? caption = null)
    {
        ArgumentNullException.ThrowIfNull(png);
        ArgumentNullException.ThrowIfNull(boxes);
        if (png.Length < PngSignature.Length || !png.AsSpan(0, PngSignature.Length).SequenceEqual(PngSignature))
            throw new ArgumentException("The image bytes are not a PNG (the PNG signature is missing).", nameof(png));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);

        var sb = new StringBuilder();
        sb.Append("<figure class=\"rlrig-boxes\" style=\"margin:0;display:inline-block\">")
          .Append($"<div style=\"position:relative;width:{width}px;height:{height}px\">")
          .Append($"<img src=\"data:image/png;base64,{Convert.ToBase64String(png)}\" width=\"{width}\" height=\"{height}\" ")
          .Append("style=\"position:absolute;left:0;top:0\" alt=\"\">")
          .Append($"<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {width} {height}\" width=\"{width}\" height=\"{height}\" ")
          .Append("style=\"position:absolute;left:0;top:0\" font-family=\"sans-serif\" font-size=\"12\">");
        int index = 0;
        foreach (LabelledBox box in boxes)
        {
            ArgumentNullException.ThrowIfNull(box, nameof(boxes));
            AppendBox(sb, box, Palette[index++ % Palette.Count], height);
        }
        sb.Append("</svg></div>");
        if (caption is not null) sb.Append("<figcaption>").Append(Markup.Escape(caption)).Append("</figcaption>");
        sb.Append("</figure>");
        return sb.ToString();
    }

    /// <summary>As <see cref="Render(byte[], int, int, IEnumerable{LabelledBox}, string?)"/> for items with boxes, labelled with their text.</summary>
    public static string Render(byte[] png, int width, int height, IEnumerable<SceneItem> items, string? caption = null)
    {
        ArgumentNullException.ThrowIfNull(items);
        return Render(png, width, height, items.Where(i => i.Box is not null).Select(i => new LabelledBox(i.Box!, i.Text)), caption);
    }

    private static void AppendBox(StringBuilder sb, LabelledBox box, string color, int imageHeight)
    {
        Box b = box.Box;
        string label = Markup.Escape(box.Label);
        // Labels sit above the box, or inside its top edge when the box touches the image top.
        double textY = b.Y >= 16 ? b.Y - 4 : Math.Min(b.Y + 14, imageHeight - 2);
        sb.Append($"<g><title>{label}</title>")
          .Append($"<rect x=\"{Markup.Num(b.X)}\" y=\"{Markup.Num(b.Y)}\" width=\"{Markup.Num(b.Width)}\" height=\"{Markup.Num(b.Height)}\" ")
          .Append($"fill=\"none\" stroke=\"{color}\" stroke-width=\"2\"/>")
          .Append($"<text x=\"{Markup.Num(b.X + 2)}\" y=\"{Markup.Num(textY)}\" fill=\"{color}\" stroke=\"#fff\" stroke-width=\"3\" paint-order=\"stroke\">")
          .Append(label).Append("</text></g>");
    }
}
