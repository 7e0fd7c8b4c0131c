using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using RlRig.Notebook.Rendering;

namespace RlRig.Notebook.Charts;

/// <summary>
/// A static SVG drawing of a plotly figure, shown where plotly.js cannot load (a host offline with no copy of it, a page
/// whose scripts do not run) so that a chart is never an empty gap. It draws the traces <see cref="Chart"/> makes (bars,
/// lines, markers) with plotly's default colours; any other trace is listed by name under a note.
/// </summary>
public static class FigureSvg
{
    const double Width = 720, Height = 360, Left = 64, Right = 16, Top = 52, Bottom = 56;

    // plotly.js's default colorway, so the preview and the live chart agree.
    static readonly string[] Colours = ["#636efa", "#EF553B", "#00cc96", "#ab63fa", "#FFA15A", "#19d3f3", "#FF6692", "#B6E880", "#FF97FF", "#FECB52"];

    sealed record Trace(string Name, string Type, string Mode, IReadOnlyList<string> Categories, IReadOnlyList<double?> X, IReadOnlyList<double?> Y);

    /// <summary>The figure (<c>{ data, layout }</c>) as an SVG element that scales to its container.</summary>
    public static string Render(JsonObject figure)
    {
        var traces = (figure["data"] as JsonArray ?? []).OfType<JsonObject>().Select(Read).ToList();
        var drawable = traces.Where(t => t.Type is "bar" or "scatter").ToList();
        var svg = new StringBuilder();
        svg.Append(CultureInfo.InvariantCulture, $"<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {Width} {Height}\" width=\"100%\" height=\"100%\" preserveAspectRatio=\"xMidYMid meet\" role=\"img\" font-family=\"sans-serif\" font-size=\"12\">");
        var title = Plain(figure["layout"]?["title"]?["text"]?.GetValue<string>() ?? "");
        svg.Append(CultureInfo.InvariantCulture, $"<title>{Markup.Escape(title == "" ? "chart" : title)} (static preview)</title>");
        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{Width / 2}\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">{Markup.Escape(title)}</text>");
        var ys = drawable.SelectMany(t => t.Y).OfType<double>().ToList();
        if (ys.Count > 0) Plot(svg, drawable, ys, figure["layout"] as JsonObject);
        var skipped = traces.Except(drawable).Select(t => t.Name).ToList();
        var note = "static preview: plotly.js did not load here" + (skipped.Count > 0 ? $"; not drawn: {string.Join(", ", skipped)}" : "");
        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{Width - Right}\" y=\"{Height - 6}\" text-anchor=\"end\" fill=\"#8c959f\" font-size=\"10\">{Markup.Escape(note)}</text>");
        return svg.Append("</svg>").ToString();
    }

    static void Plot(StringBuilder svg, List<Trace> traces, List<double> ys, JsonObject? layout)
    {
        double yMin = Math.Min(0, ys.Min()), yMax = Math.Max(ys.Max(), yMin + 1e-12);
        var categories = traces.SelectMany(t => t.Categories).Distinct().ToList();
        var xs = traces.SelectMany(t => t.X).OfType<double>().ToList();
        double xMin = xs.Count > 0 ? xs.Min() : 0, xMax = xs.Count > 0 ? Math.Max(xs.Max(), xMin + 1e-12) : 1;
        double plotW = Width - Left - Right, plotH = Height - Top - Bottom;
        double Y(double v) => Top + plotH * (1 - (v - yMin) / (yMax - yMin));
        double X(double v) => Left + plotW * (v - xMin) / (xMax - xMin);

        for (var i = 0; i <= 4; i++)
        {
            var v = yMin + (yMax - yMin) * i / 4;
            svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{Left}\" x2=\"{Width - Right}\" y1=\"{Y(v):F1}\" y2=\"{Y(v):F1}\" stroke=\"#e5e7eb\"/>");
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{Left - 6}\" y=\"{Y(v) + 4:F1}\" text-anchor=\"end\">{v:G3}</text>");
        }
        var bars = traces.Where(t => t.Type == "bar").ToList();
        for (var c = 0; c < categories.Count; c++)
        {
            double slot = plotW / categories.Count, x0 = Left + slot * c;
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{x0 + slot / 2:F1}\" y=\"{Top + plotH + 16}\" text-anchor=\"middle\">{Markup.Escape(categories[c])}</text>");
            for (var b = 0; b < bars.Count; b++)
            {
                var index = bars[b].Categories.ToList().IndexOf(categories[c]);
                if (index < 0 || index >= bars[b].Y.Count || bars[b].Y[index] is not double v) continue;
                double barW = slot * 0.8 / bars.Count, bx = x0 + slot * 0.1 + barW * b;
                svg.Append(CultureInfo.InvariantCulture, $"<rect x=\"{bx:F1}\" y=\"{Math.Min(Y(v), Y(0)):F1}\" width=\"{barW:F1}\" height=\"{Math.Abs(Y(0) - Y(v)):F1}\" fill=\"{Colour(traces, bars[b])}\"/>");
            }
        }
        if (categories.Count == 0 && xs.Count > 0)
        {
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{Left}\" y=\"{Top + plotH + 16}\" text-anchor=\"start\">{xMin:G4}</text>");
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{Width - Right}\" y=\"{Top + plotH + 16}\" text-anchor=\"end\">{xMax:G4}</text>");
        }
        foreach (var t in traces.Where(t => t.Type == "scatter" && t.Categories.Count == 0))
        {
            var points = t.X.Zip(t.Y).Where(p => p.First is double && p.Second is double).Select(p => (X(p.First!.Value), Y(p.Second!.Value))).ToList();
            if (t.Mode.Contains("lines", StringComparison.Ordinal) && points.Count > 1)
                svg.Append(CultureInfo.InvariantCulture, $"<polyline fill=\"none\" stroke=\"{Colour(traces, t)}\" stroke-width=\"2\" points=\"{string.Join(" ", points.Select(p => string.Create(CultureInfo.InvariantCulture, $"{p.Item1:F1},{p.Item2:F1}")))}\"/>");
            if (t.Mode.Contains("markers", StringComparison.Ordinal) || points.Count == 1)
                foreach (var (px, py) in points) svg.Append(CultureInfo.InvariantCulture, $"<circle cx=\"{px:F1}\" cy=\"{py:F1}\" r=\"3\" fill=\"{Colour(traces, t)}\"/>");
        }
        svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{Left}\" x2=\"{Left}\" y1=\"{Top}\" y2=\"{Top + plotH}\" stroke=\"#57606a\"/><line x1=\"{Left}\" x2=\"{Width - Right}\" y1=\"{Top + plotH}\" y2=\"{Top + plotH}\" stroke=\"#57606a\"/>");
        var xTitle = Plain(layout?["xaxis"]?["title"]?["text"]?.GetValue<string>() ?? "");
        var yTitle = Plain(layout?["yaxis"]?["title"]?["text"]?.GetValue<string>() ?? "");
        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{Left + plotW / 2}\" y=\"{Height - 22}\" text-anchor=\"middle\">{Markup.Escape(xTitle)}</text>");
        svg.Append(CultureInfo.InvariantCulture, $"<text transform=\"translate(14 {Top + plotH / 2}) rotate(-90)\" text-anchor=\"middle\">{Markup.Escape(yTitle)}</text>");
        var legendX = Left + 8.0;
        foreach (var t in traces)
        {
            svg.Append(CultureInfo.InvariantCulture, $"<rect x=\"{legendX:F1}\" y=\"{Top - 12}\" width=\"10\" height=\"10\" fill=\"{Colour(traces, t)}\"/><text x=\"{legendX + 14:F1}\" y=\"{Top - 3}\">{Markup.Escape(t.Name)}</text>");
            legendX += 24 + 6.5 * t.Name.Length;
        }
    }

    static string Colour(List<Trace> traces, Trace t) => Colours[traces.IndexOf(t) % Colours.Length];

    static Trace Read(JsonObject trace, int index)
    {
        var x = trace["x"] as JsonArray ?? [];
        var categories = x.Any(v => v is JsonValue jv && jv.TryGetValue<string>(out _))
            ? x.Select(v => Plain(v?.ToString() ?? "")).ToList() : [];
        return new Trace(
            Plain(trace["name"]?.GetValue<string>() ?? $"trace {index}"),
            trace["type"]?.GetValue<string>() ?? "scatter",
            trace["mode"]?.GetValue<string>() ?? "lines+markers",
            categories,
            categories.Count > 0 ? [] : x.Select(Number).ToList(),
            (trace["y"] as JsonArray ?? []).Select(Number).ToList());
    }

    static double? Number(JsonNode? node) => node is JsonValue v && v.TryGetValue<double>(out var d) && double.IsFinite(d) ? d : null;

    // Chart escapes text for plotly.js, which reads it as markup: decode it once so it is escaped exactly once here.
    static string Plain(string text) => WebUtility.HtmlDecode(text);
}
