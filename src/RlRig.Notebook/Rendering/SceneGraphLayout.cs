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
/// <param name="Nodes">One placement per item, in item order.</param>
/// <param name="Width">Canvas width.</param>
/// <param name="Height">Canvas height.</param>
/// <param name="CenterX">Centre of the circle the nodes sit on.</param>
/// <param name="CenterY">Centre of the circle the nodes sit on.</param>
/// <param name="InnerRadius">Radius inside which no node reaches: edges bend into this disc to stay clear of nodes.</param>
public sealed record GraphLayout(
    IReadOnlyList<NodePlacement> Nodes, double Width, double Height, double CenterX, double CenterY, double InnerRadius)
{
    /// <summary>The placement of the item with id <paramref name="id"/>.</summary>
    public NodePlacement NodeOf(int id) => Nodes.First(n => n.Item.Id == id);
}

/// <summary>A relation drawn as a quadratic Bézier curve from the subject's border to the object's border.</summary>
public sealed record EdgeCurve(
    SceneRelation Relation, double StartX, double StartY, double ControlX, double ControlY, double EndX, double EndY)
{
    /// <summary>The point at parameter <paramref name="t"/> in [0, 1].</summary>
    public (double X, double Y) At(double t)
    {
        double u = 1 - t;
        return (u * u * StartX + 2 * u * t * ControlX + t * t * EndX, u * u * StartY + 2 * u * t * ControlY + t * t * EndY);
    }
}

/// <summary>
/// Places the items of a graph on a circle, in item order. The radius is chosen so that neighbouring centres are at
/// least one node diagonal plus <see cref="Gap"/> apart, which keeps every pair of nodes from overlapping (any two
/// nodes are at least as far apart as neighbours) whatever the labels. Relations are curves bent into the free disc
/// inside the ring (<see cref="Edges"/>), so they do not run under other items. Readable up to ~30 items; the SVG
/// scales down through its viewBox.
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
        if (n == 0) return new GraphLayout([], 2 * Gap, 2 * Gap, Gap, Gap, 0);
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
        // A node reaches at most half its diagonal inward from the circle; keep a little more free.
        double inner = Math.Max(0, radius - diagonal / 2 - 12);
        return new GraphLayout(nodes, 2 * cx, 2 * cy, cx, cy, inner);
    }

    /// <summary>
    /// The curves of the graph's relations, in relation order; null for a relation from an item to itself (drawn as
    /// a loop). Each curve's middle is pulled into the layout's inner disc, so that a chord between nearby items does
    /// not run under the items between them; relations joining the same two items are then spread apart by
    /// <paramref name="spacing"/> pixels each, A→B and B→A on different sides.
    /// </summary>
    public static IReadOnlyList<EdgeCurve?> Edges(GraphLayout layout, SceneGraph graph, double spacing = 26)
    {
        ArgumentNullException.ThrowIfNull(layout);
        ArgumentNullException.ThrowIfNull(graph);
        var countByPair = new Dictionary<(int, int), int>();
        foreach (SceneRelation r in graph.Relations)
            countByPair[Pair(r)] = countByPair.GetValueOrDefault(Pair(r)) + 1;
        var seenByPair = new Dictionary<(int, int), int>();
        var curves = new List<EdgeCurve?>(graph.Relations.Count);
        foreach (SceneRelation r in graph.Relations)
        {
            int k = seenByPair.GetValueOrDefault(Pair(r));
            seenByPair[Pair(r)] = k + 1;
            if (r.SubjectId == r.ObjectId)
            {
                curves.Add(null);
                continue;
            }
            double offset = (k - (countByPair[Pair(r)] - 1) / 2.0) * spacing;
            curves.Add(Curve(layout, r, layout.NodeOf(r.SubjectId), layout.NodeOf(r.ObjectId), offset));
        }
        return curves;
    }

    private static (int, int) Pair(SceneRelation r) => (Math.Min(r.SubjectId, r.ObjectId), Math.Max(r.SubjectId, r.ObjectId));

    private static EdgeCurve Curve(GraphLayout layout, SceneRelation r, NodePlacement from, NodePlacement to, double offset)
    {
        // Desired middle of the curve: the chord's middle, pulled into the inner disc...
        double mx = (from.CenterX + to.CenterX) / 2, my = (from.CenterY + to.CenterY) / 2;
        double rx = mx - layout.CenterX, ry = my - layout.CenterY, d = Math.Sqrt(rx * rx + ry * ry);
        if (d > layout.InnerRadius && d > 0)
        {
            mx = layout.CenterX + rx * layout.InnerRadius / d;
            my = layout.CenterY + ry * layout.InnerRadius / d;
        }
        // ...then moved sideways, perpendicular to min-id -> max-id, so parallel relations separate.
        NodePlacement a = r.SubjectId < r.ObjectId ? from : to, b = ReferenceEquals(a, from) ? to : from;
        double dx = b.CenterX - a.CenterX, dy = b.CenterY - a.CenterY, length = Math.Max(Math.Sqrt(dx * dx + dy * dy), 1e-9);
        mx += -dy / length * offset;
        my += dx / length * offset;
        // A quadratic curve passes through (S + 2Q + E) / 4 at t = 1/2; solve for the control point Q.
        double qx = 2 * mx - (from.CenterX + to.CenterX) / 2, qy = 2 * my - (from.CenterY + to.CenterY) / 2;
        var (sx, sy) = Boundary(from, qx, qy);
        var (ex, ey) = Boundary(to, qx, qy);
        return new EdgeCurve(r, sx, sy, qx, qy, ex, ey);
    }

    /// <summary>Where the ray from the node's centre towards (tx, ty) leaves its rectangle.</summary>
    private static (double X, double Y) Boundary(NodePlacement node, double tx, double ty)
    {
        double dx = tx - node.CenterX, dy = ty - node.CenterY;
        if (dx == 0 && dy == 0) return (node.CenterX, node.CenterY);
        double t = Math.Min(dx == 0 ? double.PositiveInfinity : node.Width / 2 / Math.Abs(dx),
                            dy == 0 ? double.PositiveInfinity : node.Height / 2 / Math.Abs(dy));
        return (node.CenterX + dx * t, node.CenterY + dy * t);
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
