using RlRig.SceneGraphs;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace RlRig.Notebook;

/// <summary>
/// An image with the boxes of a scene graph's items drawn over it, each labelled with its item text ("red square"):
/// detector output, a layout plan, or ground truth. Notebooks display it as the image with boxes and labels
/// (<c>text/html</c>), the image with box outlines only (<c>image/png</c>, for front ends that drop HTML) and a list
/// of the boxes (<c>text/plain</c>). Items without a box are listed in the text but not drawn. The image is not
/// copied or disposed: keep it alive while the value is displayed.
/// </summary>
/// <param name="Image">The picture; boxes are in its pixels.</param>
/// <param name="Graph">The items (and relations, which are not drawn) to show.</param>
/// <param name="Caption">Optional line under the image, e.g. the prompt.</param>
public sealed record AnnotatedImage(Image<Rgb24> Image, SceneGraph Graph, string? Caption = null)
{
    /// <summary>The picture.</summary>
    public Image<Rgb24> Image { get; init; } = Image ?? throw new ArgumentNullException(nameof(Image));

    /// <summary>The items whose boxes are drawn.</summary>
    public SceneGraph Graph { get; init; } = Graph ?? throw new ArgumentNullException(nameof(Graph));

    /// <summary>An annotated image from labelled boxes, e.g. detections: item i gets id i, the label and the box.</summary>
    public static AnnotatedImage FromBoxes(Image<Rgb24> image, IEnumerable<(string Label, Box Box)> boxes, string? caption = null)
    {
        ArgumentNullException.ThrowIfNull(boxes);
        var items = boxes.Select((b, i) => new SceneItem(i, b.Label, [], b.Box));
        return new AnnotatedImage(image, new SceneGraph(items, []), caption);
    }
}
