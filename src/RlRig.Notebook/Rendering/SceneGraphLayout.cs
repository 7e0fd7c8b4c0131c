using RlRig.SceneGraphs;

namespace RlRig.Notebook.Rendering;

/// <summary>Where a node is drawn: its item and its rectangle (centre and size) in SVG pixels.</summary>
public sealed record NodePlacement(SceneItem Item, double CenterX, double CenterY, double Width, double Height)
{
    /// <summary>Left edge.</summary>
    public double Left => CenterX - Width / 2;

    /// <summary>Top edge.</summary>
    public double Top => CenterY - Height / 2;

    /// <summary>True when the two rectangles share interior points.</summary>
    public bool Overlaps(NodePlacement other) =>
        Math.Abs(CenterX - other.CenterX) * 2 < Width + other.Width
        && Math.Abs(CenterY - other.CenterY) * 2 < Height + other.Height;
}

/// <summary>Node positions of a whole graph and the canvas that holds them.</summary>
public sealed record GraphLayout(IReadOnlyList<NodePlacement> Nodes, double Width, double Height);

/// <summary>
/// Places the items of a graph on a circle, in item order. The radius is chosen so that neighbouring centres are at
/// least one node diagonal plus <see cref="Gap"/> apart, which keeps every pair of nodes from overlapping (any two
/// nodes are at least as far apart as neighbours) whatever the labels; relations become chords, which cross few
/// nodes. Readable up to ~30 items; the SVG scales down through its viewBox.
/// </summary>
public static class SceneGraphLayout
{
    /// <summary>Font size of labels, in pixels.</summary>
    public const double LabelFontSize = 13;

    /// <summary>Font size of attribute lines, in pixels.</summary>
    public const double AttributeFontSize = 11;

    /// <summary>Space kept between nodes, and around the drawing, in pixels.</summary>
    public const double Gap = 40;

    private const double Padding = 10, MinNodeWidth = 60;

    /// <summary>The circular layout of <paramref name="graph"/>.</summary>
    public static GraphLayout Circular(SceneGraph graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        int n = graph.Items.Count;
        var sizes = graph.Items.Select(NodeSize).ToArray();
        if (n == 0) return new GraphLayout([], 2 * Gap, 2 * Gap);
        double maxW = sizes.Max(s => s.W), maxH = sizes.Max(s => s.H);
        double diagonal = Math.Sqrt(maxW * maxW + maxH * maxH);
        double radius = n == 1 ? 0 : (diagonal + Gap) / (2 * Math.Sin(Math.PI / n));
        // Room for self-loops and edge labels drawn outside the outermost nodes.
        double margin = Gap + 30;
        double cx = radius + maxW / 2 + margin, cy = radius + maxH / 2 + margin;
        var nodes = new NodePlacement[n];
        for (int i = 0; i < n; i++)
        {
            // Start at the top and go clockwise, so that the first item is read first.
            double angle = -Math.PI / 2 + 2 * Math.PI * i / n;
            nodes[i] = new NodePlacement(graph.Items[i], cx + radius * Math.Cos(angle), cy + radius * Math.Sin(angle),
                sizes[i].W, sizes[i].H);
        }
        return new GraphLayout(nodes, 2 * cx, 2 * cy);
    }

    /// <summary>The attribute line drawn under the label, shortened.</summary>
    public static string AttributeLine(SceneItem item) => Markup.Shorten(string.Join(", ", item.Attributes));

    private static (double W, double H) NodeSize(SceneItem item)
    {
        double w = Markup.TextWidth(Markup.Shorten(item.Label), LabelFontSize);
        if (item.Attributes.Count > 0)
            w = Math.Max(w, Markup.TextWidth(AttributeLine(item), AttributeFontSize));
        double h = item.Attributes.Count > 0 ? 2 * Padding + LabelFontSize + 4 + AttributeFontSize : 2 * Padding + LabelFontSize;
        return (Math.Max(MinNodeWidth, w + 2 * Padding), h);
    }
}
