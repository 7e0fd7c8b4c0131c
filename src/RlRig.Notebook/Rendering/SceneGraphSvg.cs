using System.Text;
using RlRig.SceneGraphs;

namespace RlRig.Notebook.Rendering;

/// <summary>
/// Draws a scene graph as standalone SVG: items are rounded boxes with the label and, below it, the attributes;
/// relations are arrows from subject to object with the predicate written along them. Parallel and opposite
/// relations between the same two items bend apart so their labels do not sit on each other; a relation from an
/// item to itself is a loop above it. Layout: <see cref="SceneGraphLayout.Circular"/>. All text is escaped.
/// </summary>
public static class SceneGraphSvg
{
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
        var occupied = layout.Nodes.Select(n => (n.Left, n.Top, n.Width, n.Height)).ToList();
        IReadOnlyList<EdgeCurve?> curves = SceneGraphLayout.Edges(layout, graph);
        var loopsPerItem = new Dictionary<int, int>();
        for (int i = 0; i < graph.Relations.Count; i++)
        {
            SceneRelation relation = graph.Relations[i];
            int loop = 0;
            if (curves[i] is null) loopsPerItem[relation.SubjectId] = (loop = loopsPerItem.GetValueOrDefault(relation.SubjectId)) + 1;
            AppendRelation(sb, relation, byId[relation.SubjectId], byId[relation.ObjectId], curves[i], loop, marker, occupied);
        }
        sb.Append("</g>\n<g class=\"items\">\n");
        foreach (NodePlacement node in layout.Nodes) AppendNode(sb, node);
        sb.Append("</g>\n</g>\n</svg>");
        return sb.ToString();
    }

    private static void AppendRelation(
        StringBuilder sb, SceneRelation r, NodePlacement from, NodePlacement to, EdgeCurve? curve, int loop, string marker,
        List<(double X, double Y, double W, double H)> occupied)
    {
        string predicate = Markup.Escape(r.Predicate);
        string tooltip = Markup.Escape($"{from.Item.Text} {r.Predicate} {to.Item.Text}");
        string path;
        double labelX, labelY;
        if (curve is null)
        {
            // A loop over the node's top edge, wider for each further self-relation of the same item.
            double x = from.CenterX, y = from.Top, spread = 18 + 16 * loop, rise = 34 + 16 * loop;
            path = $"M{Markup.Num(x - spread / 2)},{Markup.Num(y)} C{Markup.Num(x - spread)},{Markup.Num(y - rise)} " +
                   $"{Markup.Num(x + spread)},{Markup.Num(y - rise)} {Markup.Num(x + spread / 2)},{Markup.Num(y)}";
            (labelX, labelY) = (x, y - rise * 0.75 - 4);
        }
        else
        {
            path = $"M{Markup.Num(curve.StartX)},{Markup.Num(curve.StartY)} Q{Markup.Num(curve.ControlX)},{Markup.Num(curve.ControlY)} " +
                   $"{Markup.Num(curve.EndX)},{Markup.Num(curve.EndY)}";
            (labelX, labelY) = PlaceLabel(r.Predicate, curve, occupied);
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

    /// <summary>
    /// Chords of a circle cross near its centre, so labels at every midpoint would collide: try points along the
    /// curve, middle first, and keep the first whose label box touches no node and no earlier label.
    /// </summary>
    private static (double X, double Y) PlaceLabel(
        string text, EdgeCurve curve, List<(double X, double Y, double W, double H)> occupied)
    {
        const double height = 14;
        double width = Markup.TextWidth(text, 11) + 4;
        (double X, double Y)? first = null;
        foreach (double t in (double[])[0.5, 0.38, 0.62, 0.28, 0.72, 0.2, 0.8])
        {
            var (x, y) = curve.At(t);
            first ??= (x, y);
            var box = (X: x - width / 2, Y: y - height / 2, W: width, H: height);
            if (occupied.Any(o => box.X < o.X + o.W && o.X < box.X + box.W && box.Y < o.Y + o.H && o.Y < box.Y + box.H)) continue;
            occupied.Add(box);
            return (x, y);
        }
        return first!.Value;
    }
}
