using System.Text;
using RlRig.LaionSg;
using RlRig.Notebook.Rendering;
using RlRig.SceneGraphs;

namespace RlRig.Notebook.Formatting;

/// <summary>
/// What notebooks show for a <see cref="SceneGraph"/> and a <see cref="LaionSgRecord"/>: the drawing
/// (<see cref="SceneGraphSvg"/>) next to the triples table (<see cref="SceneGraphHtml"/>) as <c>text/html</c>, and the
/// RL-RIG prompt text as <c>text/plain</c>, which is what a model would be given. All user text is escaped.
/// </summary>
public static class SceneGraphFormatter
{
    /// <summary>The HTML view of <paramref name="graph"/>, with an optional heading.</summary>
    public static string ToHtml(SceneGraph graph, string? title = null)
    {
        ArgumentNullException.ThrowIfNull(graph);
        var sb = new StringBuilder();
        sb.Append("<div class=\"rlrig-scene-graph\">");
        if (title is not null) sb.Append("<div style=\"font-weight:bold\">").Append(Markup.Escape(title)).Append("</div>");
        AppendBody(sb, graph);
        sb.Append("</div>");
        return sb.ToString();
    }

    /// <summary>The plain-text view: the prompt text, or a note when the graph is empty (an empty output would look like a failure).</summary>
    public static string ToPlainText(SceneGraph graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        return graph.Items.Count == 0 ? "(empty scene graph)" : graph.ToPromptText();
    }

    /// <summary>
    /// The HTML view of a record: its img_id and caption, then its graph. A record that is not valid (which the reader
    /// never returns, but code can build) shows what is wrong instead of the graph, so that displaying it never throws.
    /// </summary>
    public static string ToHtml(LaionSgRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        var sb = new StringBuilder();
        sb.Append("<div class=\"rlrig-laion-sg-record\">")
          .Append("<div><b>img_id ").Append(Markup.Escape(record.ImgId)).Append("</b>");
        if (!string.IsNullOrEmpty(record.CaptionOri))
            sb.Append(": <q>").Append(Markup.Escape(record.CaptionOri)).Append("</q>");
        sb.Append("</div>");
        if (LaionSgValidation.Check(record) is { } error)
            sb.Append("<div style=\"color:#b00\">Not a valid record: ").Append(Markup.Escape(FieldProblem(error))).Append("</div>");
        else
            AppendBody(sb, record.ToSceneGraph());
        sb.Append("</div>");
        return sb.ToString();
    }

    /// <summary>The plain-text view of a record: "img_id X: caption" and, on the next line, the prompt text.</summary>
    public static string ToPlainText(LaionSgRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        string head = $"img_id {record.ImgId}: {record.CaptionOri}";
        string body = LaionSgValidation.Check(record) is { } error
            ? "not a valid record: " + FieldProblem(error)
            : ToPlainText(record.ToSceneGraph());
        return head + "\n" + body;
    }

    private static string FieldProblem(LaionSgError error) =>
        error.Field.Length == 0 ? error.Message : $"{error.Field} {error.Message}";

    private static void AppendBody(StringBuilder sb, SceneGraph graph)
    {
        // Side by side when there is room, the table under the drawing when there is not.
        sb.Append("<div style=\"display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start\">")
          .Append("<div>").Append(SceneGraphSvg.Render(graph)).Append("</div>")
          .Append("<div>").Append(SceneGraphHtml.TriplesTable(graph)).Append("</div>")
          .Append("</div>");
    }
}
