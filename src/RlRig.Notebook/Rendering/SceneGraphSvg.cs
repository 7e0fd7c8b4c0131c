using System.Text;
using RlRig.SceneGraphs;

namespace RlRig.Notebook.Rendering;

/// <summary>
/// Draws a scene graph as standalone SVG: items are rounded boxes with the label and, below it, the attributes;
/// relations are arrows from subject to object with the predicate written at their middle. Parallel and opposite
/// relations between the same two items bend apart so their labels do not sit on each other; a relation from an
/// item to itself is a loop above it. Layout: <see cref="SceneGraphLayout.Circular"/>. All text is escaped.
/// </summary>
public static class SceneGraphSvg
{
    private const double EdgeSpacing = 26;
    private static int _nextId;

    /// <summary>The SVG document (an <c>&lt;svg&gt;</c> element) of <paramref name="graph"/>.</summary>
    /// <param name="graph">The graph to draw.</param>
    /// <param name="title">Optional heading drawn at the top, e.g. the img_id.</param>
    public static string Render(SceneGraph graph, string? title = null)
    {
        ArgumentNullException.ThrowIfNull(graph);
        GraphLayout layout = SceneGraphLayout.Circular(graph);
        double top = title is null ? 0 : 28;
        // Several drawings on one notebook page share one id space: the marker id must be unique per drawing.
        string marker = $"rlrig-arrow-{Interlocked.Increment(ref _nextId)}";
        var byId = layout.Nodes.ToDictionary(n => n.Item.Id);

        var sb = new StringBuilder();
        sb.Append($"<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {Markup.Num(layout.Width)} {Markup.Num(layout.Height + top)}\" ")
          .Append($"width=\"{Markup.Num(layout.Width)}\" height=\"{Markup.Num(layout.Height + top)}\" style=\"max-width:100%;height:auto\" ")
          .Append("font-family=\"sans-serif\">\n");
        sb.Append($"<defs><marker id=\"{marker}\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"8\" markerHeight=\"8\" ")
          .Append("orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#555\"/></marker></defs>\n");
        if (title is not null)
            sb.Append($"<text x=\"{Markup.Num(layout.Width / 2)}\" y=\"20\" text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\">{Markup.Escape(title)}</text>\n");
        sb.Append($"<g transform=\"translate(0,{Markup.Num(top)})\">\n<g class=\"relations\">\n");
        foreach (var (relation, bend) in Bends(graph.Relations))
            AppendRelation(sb, relation, byId[relation.SubjectId], byId[relation.ObjectId], bend, marker);
        sb.Append("</g>\n<g class=\"items\">\n");
        foreach (NodePlacement node in layout.Nodes) AppendNode(sb, node);
        sb.Append("</g>\n</g>\n</svg>");
        return sb.ToString();
    }

    /// <summary>
    /// Offsets relations that join the same two items: the k-th of m gets (k − (m − 1) / 2) · spacing, measured in the
    /// frame of the pair ordered by id, so that A→B and B→A land on different sides.
    /// </summary>
    private static IEnumerable<(SceneRelation Relation, double Bend)> Bends(IReadOnlyList<SceneRelation> relations)
    {
        var groups = relations
            .Select((r, index) => (r, index))
            .GroupBy(x => (Math.Min(x.r.SubjectId, x.r.ObjectId), Math.Max(x.r.SubjectId, x.r.ObjectId)));
        var result = new List<(SceneRelation, double, int)>();
        foreach (var group in groups)
        {
            var members = group.ToList();
            for (int k = 0; k < members.Count; k++)
            {
                SceneRelation r = members[k].r;
                double offset = (k - (members.Count - 1) / 2.0) * EdgeSpacing;
                // In the pair's frame the offset is perpendicular to min→max; a max→min edge sees it mirrored.
                bool reversed = r.SubjectId > r.ObjectId;
                result.Add((r, reversed ? -offset : offset, members[k].index));
            }
        }
        return result.OrderBy(x => x.Item3).Select(x => (x.Item1, x.Item2));
    }

    private static void AppendRelation(StringBuilder sb, SceneRelation r, NodePlacement from, NodePlacement to, double bend, string marker)
    {
        string predicate = Markup.Escape(r.Predicate);
        string tooltip = Markup.Escape($"{from.Item.Text} {r.Predicate} {to.Item.Text}");
        string path;
        double labelX, labelY;
        if (ReferenceEquals(from, to))
        {
            // A loop over the node's top edge, wider for each further self-relation.
            double x = from.CenterX, y = from.Top, spread = 18 + Math.Abs(bend), rise = 34 + Math.Abs(bend);
            path = $"M{Markup.Num(x - spread / 2)},{Markup.Num(y)} C{Markup.Num(x - spread)},{Markup.Num(y - rise)} " +
                   $"{Markup.Num(x + spread)},{Markup.Num(y - rise)} {Markup.Num(x + spread / 2)},{Markup.Num(y)}";
            (labelX, labelY) = (x, y - rise * 0.75 - 4);
        }
        else
        {
            double dx = to.CenterX - from.CenterX, dy = to.CenterY - from.CenterY, length = Math.Sqrt(dx * dx + dy * dy);
            // Perpendicular unit vector in the frame of the pair ordered by id (see Bends).
            double sign = r.SubjectId > r.ObjectId ? -1 : 1;
            double px = -dy / length * sign, py = dx / length * sign;
            double mx = (from.CenterX + to.CenterX) / 2, my = (from.CenterY + to.CenterY) / 2;
            // A quadratic curve's control point at twice the offset puts the curve's middle at the offset.
            double qx = mx + px * bend * 2, qy = my + py * bend * 2;
            var (sx, sy) = Boundary(from, qx, qy);
            var (ex, ey) = Boundary(to, qx, qy);
            path = $"M{Markup.Num(sx)},{Markup.Num(sy)} Q{Markup.Num(qx)},{Markup.Num(qy)} {Markup.Num(ex)},{Markup.Num(ey)}";
            (labelX, labelY) = ((sx + 2 * qx + ex) / 4, (sy + 2 * qy + ey) / 4);
        }
        sb.Append($"<g><title>{tooltip}</title><path d=\"{path}\" fill=\"none\" stroke=\"#555\" stroke-width=\"1.4\" marker-end=\"url(#{marker})\"/>")
          .Append($"<text x=\"{Markup.Num(labelX)}\" y=\"{Markup.Num(labelY + 4)}\" text-anchor=\"middle\" font-size=\"11\" fill=\"#222\" ")
          .Append($"stroke=\"#fff\" stroke-width=\"3\" paint-order=\"stroke\">{predicate}</text></g>\n");
    }

    private static void AppendNode(StringBuilder sb, NodePlacement node)
    {
        SceneItem item = node.Item;
        bool hasAttributes = item.Attributes.Count > 0;
        double labelY = hasAttributes ? node.Top + 10 + SceneGraphLayout.LabelFontSize : node.CenterY + SceneGraphLayout.LabelFontSize / 2 - 2;
        sb.Append($"<g><title>{Markup.Escape($"{item.Text} (id {item.Id})")}</title>")
          .Append($"<rect x=\"{Markup.Num(node.Left)}\" y=\"{Markup.Num(node.Top)}\" width=\"{Markup.Num(node.Width)}\" height=\"{Markup.Num(node.Height)}\" ")
          .Append("rx=\"6\" fill=\"#eef4ff\" stroke=\"#3b6fb6\"/>")
          .Append($"<text x=\"{Markup.Num(node.CenterX)}\" y=\"{Markup.Num(labelY)}\" text-anchor=\"middle\" font-size=\"{Markup.Num(SceneGraphLayout.LabelFontSize)}\" font-weight=\"bold\">")
          .Append(Markup.Escape(Markup.Shorten(item.Label))).Append("</text>");
        if (hasAttributes)
        {
            sb.Append($"<text x=\"{Markup.Num(node.CenterX)}\" y=\"{Markup.Num(labelY + 4 + SceneGraphLayout.AttributeFontSize)}\" text-anchor=\"middle\" ")
              .Append($"font-size=\"{Markup.Num(SceneGraphLayout.AttributeFontSize)}\" fill=\"#555\">")
              .Append(Markup.Escape(SceneGraphLayout.AttributeLine(item))).Append("</text>");
        }
        sb.Append("</g>\n");
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
}
