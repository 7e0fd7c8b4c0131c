using System.Globalization;
using System.Text;
using RlRig.Loop;
using RlRig.Notebook.Formatting;
using SixLabors.ImageSharp;

namespace RlRig.Notebook.Rendering;

/// <summary>
/// A Generate-Reflect-Edit trace as HTML: the rounds as a strip of images with the Checker's reflection under each image
/// and the Actor's instruction on the arrow to the next; the best round is outlined. Self-contained (images inline as
/// data URIs, no script), so it opens offline; every text is escaped.
/// </summary>
public static class TraceHtml
{
    public static string Fragment(LoopTrace trace)
    {
        var html = new StringBuilder();
        html.Append("<div class=\"rlrig-trace\" style=\"font-family:sans-serif;font-size:12px\">");
        html.Append(CultureInfo.InvariantCulture, $"<div style=\"margin-bottom:6px\"><b>Prompt:</b> {Markup.Escape(trace.Target.ToPromptText())} &nbsp; <b>seed</b> {trace.Seed} &nbsp; <b>NFE</b> {trace.TotalNfe} &nbsp; <b>best</b> round {trace.BestRound}</div>");
        html.Append("<div style=\"display:flex;align-items:flex-start;gap:6px;overflow-x:auto\">");
        foreach (var round in trace.Rounds)
        {
            if (round.Proposal is { } proposal)
            {
                var note = round.EditFailure is { } failure ? $"<div style=\"color:#b91c1c\">not done: {Markup.Escape(failure)}</div>" : "";
                html.Append(CultureInfo.InvariantCulture,
                    $"<div style=\"width:120px;align-self:center;text-align:center\"><div style=\"font-size:20px\">&#8594;</div><div><i>{Markup.Escape(proposal.Text)}</i></div>{note}<div style=\"color:#666\">{round.Nfe} NFE</div></div>");
            }
            var border = round.Round == trace.BestRound ? "3px solid #16a34a" : "1px solid #ccc";
            html.Append(CultureInfo.InvariantCulture,
                $"<div style=\"width:160px\"><img src=\"data:image/png;base64,{ImageFormatter.ToBase64Png(round.Image)}\" width=\"128\" height=\"128\" style=\"image-rendering:pixelated;border:{border}\" alt=\"round {round.Round}\"/>");
            html.Append(CultureInfo.InvariantCulture,
                $"<div><b>round {round.Round}</b> &middot; score {round.Score:0.00}{(round.Reflection.IsSatisfied ? " &#10003;" : "")}{(round.Round == 0 ? $" &middot; {round.Nfe} NFE" : "")}</div>");
            html.Append(CultureInfo.InvariantCulture, $"<div style=\"color:#333\">{Markup.Escape(round.Reflection.Text)}</div></div>");
        }
        html.Append("</div></div>");
        return html.ToString();
    }

    /// <summary>A standalone page of one or more traces.</summary>
    public static string Page(string title, IEnumerable<string> fragments) =>
        $"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{Markup.Escape(title)}</title></head><body>\n<h1 style=\"font-family:sans-serif\">{Markup.Escape(title)}</h1>\n"
        + string.Join("\n<hr/>\n", fragments) + "\n</body></html>\n";

    /// <summary>The trace as plain text, for hosts that show no HTML.</summary>
    public static string PlainText(LoopTrace trace)
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"Prompt: {trace.Target.ToPromptText()} (seed {trace.Seed}, {trace.TotalNfe} NFE, best round {trace.BestRound})");
        foreach (var r in trace.Rounds)
        {
            if (r.Proposal is { } p) text.AppendLine(CultureInfo.InvariantCulture, $"  -> {p.Text}{(r.EditFailure is { } f ? $" (not done: {f})" : "")}");
            text.AppendLine(CultureInfo.InvariantCulture, $"  round {r.Round}: score {r.Score:0.00}: {r.Reflection.Text}");
        }
        return text.ToString();
    }
}
