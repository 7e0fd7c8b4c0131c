using System.Text.Json.Nodes;

namespace RlRig.Notebook.Charts;

/// <summary>One named series of (x, y) points.</summary>
public sealed record Series(string Name, IReadOnlyList<double> X, IReadOnlyList<double> Y)
{
    /// <summary>A series whose x values are 0, 1, 2, ...</summary>
    public static Series Of(string name, IReadOnlyList<double> y) => new(name, Enumerable.Range(0, y.Count).Select(i => (double)i).ToList(), y);
}

/// <summary>Builders for the charts RlRig notebooks draw: loss curves, reward curves, per-record scores.</summary>
public static class Chart
{
    /// <summary>Lines through each series' points.</summary>
    public static PlotlyFigure Line(IEnumerable<Series> series, string title = "", string xTitle = "", string yTitle = "") =>
        XY(series, "lines", title, xTitle, yTitle);

    /// <summary>Markers at each series' points.</summary>
    public static PlotlyFigure Scatter(IEnumerable<Series> series, string title = "", string xTitle = "", string yTitle = "") =>
        XY(series, "markers", title, xTitle, yTitle);

    /// <summary>Bars, one per category; several value lists make grouped bars.</summary>
    public static PlotlyFigure Bar(IReadOnlyList<string> categories, IReadOnlyDictionary<string, IReadOnlyList<double>> valuesByName,
        string title = "", string xTitle = "", string yTitle = "")
    {
        var data = new JsonArray();
        foreach (var (name, values) in valuesByName)
        {
            if (values.Count != categories.Count)
                throw new ArgumentException($"series \"{name}\" has {values.Count} values for {categories.Count} categories", nameof(valuesByName));
            data.Add(new JsonObject
            {
                ["type"] = "bar",
                ["name"] = PlotlyFigure.Text(name),
                ["x"] = new JsonArray(categories.Select(c => (JsonNode?)PlotlyFigure.Text(c)).ToArray()),
                ["y"] = Numbers(values),
            });
        }
        return PlotlyFigure.Create(data, Layout(title, xTitle, yTitle));
    }

    static PlotlyFigure XY(IEnumerable<Series> series, string mode, string title, string xTitle, string yTitle)
    {
        var data = new JsonArray();
        foreach (var s in series)
        {
            if (s.X.Count != s.Y.Count)
                throw new ArgumentException($"series \"{s.Name}\" has {s.X.Count} x values and {s.Y.Count} y values", nameof(series));
            data.Add(new JsonObject { ["type"] = "scatter", ["mode"] = mode, ["name"] = PlotlyFigure.Text(s.Name), ["x"] = Numbers(s.X), ["y"] = Numbers(s.Y) });
        }
        return PlotlyFigure.Create(data, Layout(title, xTitle, yTitle));
    }

    // NaN and infinities are not JSON; plotly.js draws null as a gap, which is what a missing value should look like.
    static JsonArray Numbers(IEnumerable<double> values) =>
        new(values.Select(v => double.IsFinite(v) ? JsonValue.Create(v) : null).Select(n => (JsonNode?)n).ToArray());

    static JsonObject Layout(string title, string xTitle, string yTitle) => new()
    {
        ["title"] = new JsonObject { ["text"] = PlotlyFigure.Text(title) },
        ["xaxis"] = new JsonObject { ["title"] = new JsonObject { ["text"] = PlotlyFigure.Text(xTitle) } },
        ["yaxis"] = new JsonObject { ["title"] = new JsonObject { ["text"] = PlotlyFigure.Text(yTitle) } },
        ["margin"] = new JsonObject { ["t"] = 48, ["r"] = 16 },
    };
}
