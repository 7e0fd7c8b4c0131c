using System.Text;
using RlRig.SceneGraphs;

namespace RlRig.Notebook.Rendering;

/// <summary>Compact HTML views of a scene graph. All text is escaped.</summary>
public static class SceneGraphHtml
{
    /// <summary>
    /// A table with one row per relation (subject, predicate, object, each item as "attributes label") and one row per
    /// item that takes part in no relation.
    /// </summary>
    /// <param name="graph">The graph.</param>
    /// <param name="caption">Optional caption, e.g. the img_id.</param>
    public static string TriplesTable(SceneGraph graph, string? caption = null)
    {
        ArgumentNullException.ThrowIfNull(graph);
        var sb = new StringBuilder();
        sb.Append("<table class=\"rlrig-triples\" style=\"border-collapse:collapse;font-size:13px\">");
        if (caption is not null) sb.Append("<caption style=\"text-align:left;font-weight:bold\">").Append(Markup.Escape(caption)).Append("</caption>");
        sb.Append("<thead><tr><th>#</th><th>subject</th><th>predicate</th><th>object</th></tr></thead><tbody>");
        int row = 0;
        foreach (SceneRelation r in graph.Relations)
            AppendRow(sb, row++, graph.Item(r.SubjectId).Text, r.Predicate, graph.Item(r.ObjectId).Text);
        foreach (SceneItem item in graph.IsolatedItems())
            AppendRow(sb, row++, item.Text, "", "");
        sb.Append("</tbody></table>");
        return sb.ToString();
    }

    private static void AppendRow(StringBuilder sb, int row, string subject, string predicate, string obj)
    {
        const string cell = "<td style=\"padding:2px 8px;border-bottom:1px solid #ddd\">";
        sb.Append("<tr>").Append(cell).Append(row).Append("</td>")
          .Append(cell).Append(Markup.Escape(subject)).Append("</td>")
          .Append(cell).Append("<i>").Append(Markup.Escape(predicate)).Append("</i></td>")
          .Append(cell).Append(Markup.Escape(obj)).Append("</td></tr>");
    }
}
