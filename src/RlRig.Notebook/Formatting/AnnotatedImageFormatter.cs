using System.Globalization;
using System.Text;
using RlRig.Imaging;
using RlRig.Notebook.Rendering;
using RlRig.SceneGraphs;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace RlRig.Notebook.Formatting;

/// <summary>
/// What notebooks show for an <see cref="AnnotatedImage"/>. Small images are enlarged as <see cref="ImageFormatter"/>
/// does, and the boxes with them, so that labels stay legible.
/// </summary>
public static class AnnotatedImageFormatter
{
    /// <summary><c>text/html</c>: the image with boxes and labels over it (<see cref="BoxOverlay"/>) and the caption.</summary>
    public static string ToHtml(AnnotatedImage value)
    {
        ArgumentNullException.ThrowIfNull(value);
        int factor = ImageFormatter.DisplayFactor(value.Image.Width, value.Image.Height);
        byte[] png = ImageFormatter.DisplayPng(value.Image);
        var boxes = Boxed(value.Graph).Select(i => new LabelledBox(Scale(i.Box!, factor), i.Text));
        return BoxOverlay.Render(png, value.Image.Width * factor, value.Image.Height * factor, boxes, value.Caption);
    }

    /// <summary>
    /// <c>image/png</c> (base64): the image with the box outlines in its pixels, for front ends that show no HTML.
    /// No labels: ImageSharp's core cannot draw text; the plain-text output lists them in the same order.
    /// </summary>
    public static string ToBase64Png(AnnotatedImage value)
    {
        ArgumentNullException.ThrowIfNull(value);
        int factor = ImageFormatter.DisplayFactor(value.Image.Width, value.Image.Height);
        using Image<Rgb24> enlarged = TensorImages.Enlarge(value.Image, factor);
        using Image<Rgb24> drawn = BoxPixels.Draw(enlarged, Boxed(value.Graph).Select(i => Scale(i.Box!, factor)));
        using var stream = new MemoryStream();
        drawn.SaveAsPng(stream);
        return Convert.ToBase64String(stream.ToArray());
    }

    /// <summary><c>text/plain</c>: the caption, the image size, then one line per item with its box in image pixels.</summary>
    public static string ToPlainText(AnnotatedImage value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var sb = new StringBuilder();
        if (value.Caption is not null) sb.AppendLine(value.Caption);
        sb.Append(CultureInfo.InvariantCulture, $"{value.Image.Width}x{value.Image.Height} image, {value.Graph.Items.Count} item{(value.Graph.Items.Count == 1 ? "" : "s")}");
        foreach (SceneItem item in value.Graph.Items)
        {
            sb.AppendLine();
            sb.Append(item.Box is { } b
                ? string.Create(CultureInfo.InvariantCulture, $"  {item.Text}: x {b.X:0.##}, y {b.Y:0.##}, {b.Width:0.##}x{b.Height:0.##}")
                : $"  {item.Text}: no box");
        }
        return sb.ToString();
    }

    private static IEnumerable<SceneItem> Boxed(SceneGraph graph) => graph.Items.Where(i => i.Box is not null);

    private static Box Scale(Box b, int factor) => new(b.X * factor, b.Y * factor, b.Width * factor, b.Height * factor);
}
