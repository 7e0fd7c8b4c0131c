using System.Text.Json;
using System.Text.Json.Nodes;

namespace RlRig.Notebook.Charts;

/// <summary>
/// A plotly.js figure (<c>{ data, layout }</c>) that renders as <c>text/html</c> in every notebook host. It needs no F#
/// runtime, unlike Plotly.NET, so it also renders in hosts that bundle an older FSharp.Core (dotnet-repl, the
/// dotnet-interactive Jupyter kernel). Build one with <see cref="Chart"/> or from Plotly.NET with <see cref="FromJson"/>.
/// </summary>
public sealed class PlotlyFigure
{
    /// <summary>The plotly.js version loaded from the CDN when the page does not already define <c>Plotly</c>; it is the
    /// version Plotly.NET 6 embeds, so offline pages (which inline that copy) and online ones behave alike.</summary>
    public const string PlotlyJsVersion = "2.28.0";

    readonly JsonObject figure;

    PlotlyFigure(JsonObject figure) => this.figure = figure;

    /// <summary>Wraps a plotly.js figure given as JSON text (an object with <c>data</c> and optionally <c>layout</c>).</summary>
    /// <exception cref="ArgumentException">The text is not a JSON object with a <c>data</c> array.</exception>
    public static PlotlyFigure FromJson(string json)
    {
        JsonNode? node;
        try { node = JsonNode.Parse(json); }
        catch (JsonException e) { throw new ArgumentException($"not a plotly figure: invalid JSON ({e.Message})", nameof(json), e); }
        if (node is not JsonObject obj || obj["data"] is not JsonArray)
            throw new ArgumentException("not a plotly figure: expected a JSON object with a \"data\" array", nameof(json));
        return new PlotlyFigure(obj);
    }

    internal static PlotlyFigure Create(JsonArray data, JsonObject layout) => new(new JsonObject { ["data"] = data, ["layout"] = layout });

    /// <summary>The figure as JSON text.</summary>
    public string ToJson() => figure.ToJsonString();

    /// <summary>The number of traces (series) in the figure.</summary>
    public int TraceCount => figure["data"]!.AsArray().Count;

    /// <summary>The layout title, if any.</summary>
    public string? Title => figure["layout"]?["title"]?["text"]?.GetValue<string>();

    /// <summary>
    /// A <c>div</c> plus a script that draws the figure: with the page's <c>Plotly</c> if present (offline pages inline it),
    /// else through require.js (classic Jupyter), else by adding a script tag for the CDN copy. Until plotly.js draws, and
    /// for good where it cannot load (offline Jupyter and dotnet-repl outputs, viewers that run no script), the div shows
    /// a static SVG drawing of the figure (<see cref="FigureSvg"/>), so a chart is never an empty gap. The JSON is written
    /// with <c>&lt;</c>, <c>&gt;</c> and <c>&amp;</c> escaped, so no text in the figure can close the script element.
    /// </summary>
    public string ToHtml()
    {
        var id = "rlrig-plot-" + Guid.NewGuid().ToString("N");
        var height = figure["layout"]?["height"]?.GetValue<double>() ?? 360;
        var json = JsonSerializer.Serialize(figure); // the default encoder escapes <, > and & as \u003C etc.
        var cdn = $"https://cdn.plot.ly/plotly-{PlotlyJsVersion}.min";
        return $$"""
            <div id="{{id}}" style="width:100%;height:{{height.ToString(System.Globalization.CultureInfo.InvariantCulture)}}px">{{FigureSvg.Render(figure)}}</div>
            <script type="text/javascript">
            (function () {
              var fig = {{json}};
              var draw = function (P) { document.getElementById('{{id}}').innerHTML = ''; P.newPlot('{{id}}', fig.data, fig.layout || {}, { responsive: true }); };
              if (window.Plotly) { draw(window.Plotly); }
              else if (typeof window.require === 'function' && window.require.config) {
                window.require.config({ paths: { plotly: '{{cdn}}' } });
                window.require(['plotly'], function (P) { window.Plotly = P; draw(P); });
              } else {
                var s = document.createElement('script'); s.src = '{{cdn}}.js';
                s.onload = function () { draw(window.Plotly); }; document.head.appendChild(s);
              }
            })();
            </script>
            """;
    }

    /// <summary>A one-line description for hosts that cannot run scripts (<c>text/plain</c>).</summary>
    public override string ToString() => $"Plotly chart{(Title is { } t ? $" \"{t}\"" : "")} with {TraceCount} trace(s)";

    /// <summary>Escapes text that plotly.js would otherwise interpret as markup in titles, names and labels.</summary>
    internal static string Text(string value) => Rendering.Markup.Escape(value);
}
