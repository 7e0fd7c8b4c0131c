using System.Text.RegularExpressions;
using System.Xml.Linq;
using RlRig.Notebook.Charts;

namespace RlRig.Tests.Notebook;

/// <summary>A chart must show something where plotly.js cannot load (offline Jupyter and dotnet-repl outputs).</summary>
public sealed class FigureSvgTests
{
    public static TheoryData<string, PlotlyFigure, int, int, int> Figures => new()
    {
        // (what, figure, bars, polylines, circles)
        { "grouped bars", Chart.Bar(["clean", "medium", "heavy"], new Dictionary<string, IReadOnlyList<double>> { ["recall"] = [1, 0.99, 0.8], ["scenes"] = [1, 0.9, 0.5] }, "Judge", "level", "fraction"), 6, 0, 0 },
        { "negative bars", Chart.Bar(["a", "b"], new Dictionary<string, IReadOnlyList<double>> { ["delta"] = [-0.5, 2] }), 2, 0, 0 },
        { "loss curve", Chart.Line([Series.Of("loss", [0.9, 0.5, 0.3, 0.25])], "Loss", "step", "loss"), 0, 1, 0 },
        { "two lines with a gap", Chart.Line([new Series("a", [1, 2, 3], [1, double.NaN, 3]), new Series("b", [1, 2, 3], [3, 2, 1])]), 0, 2, 0 },
        { "markers", Chart.Scatter([new Series("pts", [0, 5, 10], [2, 4, 8])]), 0, 0, 3 },
        { "one point", Chart.Line([Series.Of("single", [0.5])]), 0, 0, 1 },
        { "no data", Chart.Line([]), 0, 0, 0 },
        { "plotly.net json", PlotlyFigure.FromJson("""{"data":[{"type":"scatter","mode":"lines","x":[1,2],"y":[3,4],"name":"n"},{"type":"heatmap","z":[[1]],"name":"hm"}],"layout":{"title":{"text":"T"}}}"""), 0, 1, 0 },
    };

    [Theory]
    [MemberData(nameof(Figures))]
    public void Every_chart_carries_a_static_drawing_that_plotly_replaces(string what, PlotlyFigure figure, int bars, int lines, int circles)
    {
        var html = figure.ToHtml();
        var svg = Regex.Match(html, "<svg.*</svg>", RegexOptions.Singleline).Value;
        Assert.False(svg == "", $"{what}: no static drawing");
        var doc = XDocument.Parse(svg); // well-formed: every label is escaped
        XNamespace ns = "http://www.w3.org/2000/svg";
        Assert.Equal(bars, doc.Descendants(ns + "rect").Count(r => r.Attribute("width")?.Value != "10"));
        Assert.Equal(lines, doc.Descendants(ns + "polyline").Count());
        Assert.Equal(circles, doc.Descendants(ns + "circle").Count());
        Assert.Contains("static preview", svg);
        // The live chart empties the div before drawing, so the two are never shown together.
        Assert.Contains(".innerHTML = ''; P.newPlot(", html);
    }

    [Fact]
    public void Traces_it_cannot_draw_are_named_not_dropped_silently()
    {
        var svg = FigureSvg.Render(System.Text.Json.Nodes.JsonNode.Parse("""{"data":[{"type":"heatmap","name":"attention","z":[[1,2]]}]}""")!.AsObject());
        Assert.Contains("not drawn: attention", svg);
    }

    [Fact]
    public void Labels_are_text_not_markup()
    {
        var html = Chart.Bar(["<b>x</b>"], new Dictionary<string, IReadOnlyList<double>> { ["</svg><script>alert(1)</script>"] = [1] }, title: "a & <i>b</i>").ToHtml();
        var svg = Regex.Match(html, "<svg.*</svg>", RegexOptions.Singleline).Value;
        var texts = XDocument.Parse(svg).Descendants().Where(e => e.Name.LocalName == "text").Select(e => e.Value).ToList();
        Assert.Contains("<b>x</b>", texts);
        Assert.Contains("a & <i>b</i>", texts);
        Assert.Contains("</svg><script>alert(1)</script>", texts);
        Assert.DoesNotContain("<script>alert", html);
    }
}
