using System.Text;
using RlRig.IO;

namespace RlRig.Cli.Notebooks;

/// <summary>
/// Renders an executed notebook as one self-contained HTML page that opens offline: images are inlined as data URIs and,
/// when a chart is present, plotly.js is inlined from the copy Plotly.NET embeds.
/// Markdown cells are prose that may come from anyone and go through <see cref="SafeMarkdown"/>: nothing in them runs.
/// Cell outputs are inserted as the kernel formatted them, scripts and <c>data:</c> images included: they are what the
/// notebook's own code produced when this run executed it (charts need their script), so they are as trusted as that code.
/// </summary>
public static class NotebookHtml
{
    /// <summary>The page as HTML text.</summary>
    public static string Render(NotebookDocument notebook)
    {
        var body = new StringBuilder();
        foreach (var cell in notebook.Cells) RenderCell(cell, body);
        var html = body.ToString();
        var plotly = html.Contains("rlrig-plot-", StringComparison.Ordinal) ? $"<script type=\"text/javascript\">{PlotlyJs()}</script>" : "";
        return $$"""
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8">
            <title>{{Encode(Path.GetFileName(notebook.Path))}}</title>
            <style>
            body { font-family: system-ui, sans-serif; max-width: 980px; margin: 2em auto; padding: 0 1em; color: #1f2328; }
            .cell { margin: 1em 0; }
            .code pre.source { background: #f6f8fa; border: 1px solid #d0d7de; border-radius: 6px; padding: .6em; overflow-x: auto; }
            .prompt { color: #57606a; font-family: monospace; font-size: .85em; }
            pre { white-space: pre-wrap; word-break: break-word; margin: .3em 0; }
            .stderr { background: #fff8e6; }
            .error { background: #ffebe9; border-left: 4px solid #cf222e; padding: .4em .6em; }
            img { image-rendering: pixelated; max-width: 100%; }
            table { border-collapse: collapse; } td, th { border: 1px solid #d0d7de; padding: .2em .5em; }
            </style>
            {{plotly}}
            </head><body>
            {{html}}
            </body></html>
            """;
    }

    /// <summary>Writes the page to <paramref name="path"/> atomically.</summary>
    public static void Write(NotebookDocument notebook, string path) => AtomicFile.WriteAllText(path, Render(notebook));

    static void RenderCell(NotebookCell cell, StringBuilder html)
    {
        switch (cell.Kind)
        {
            case CellKind.Markdown:
                html.Append("<div class=\"cell markdown\">").Append(SafeMarkdown.ToHtml(cell.Source)).AppendLine("</div>");
                return;
            case CellKind.Raw:
                html.Append("<div class=\"cell raw\"><pre>").Append(Encode(cell.Source)).AppendLine("</pre></div>");
                return;
        }
        html.Append("<div class=\"cell code\"><div class=\"prompt\">In [").Append(cell.ExecutionCount?.ToString() ?? " ").Append("]:</div>")
            .Append("<pre class=\"source\"><code>").Append(Encode(cell.Source)).AppendLine("</code></pre>");
        foreach (var output in cell.Outputs) RenderOutput(output, html);
        html.AppendLine("</div>");
    }

    static void RenderOutput(CellOutput output, StringBuilder html)
    {
        switch (output)
        {
            case StreamOutput s:
                html.Append("<pre class=\"").Append(s.Name == "stderr" ? "stderr" : "stdout").Append("\">").Append(Encode(s.Text)).AppendLine("</pre>");
                break;
            case ErrorOutput e:
                html.Append("<pre class=\"error\">").Append(Encode($"{e.Name}: {e.Value}")).AppendLine("</pre>");
                break;
            case DataOutput d:
                html.Append("<div class=\"output\">").Append(RichestData(d)).AppendLine("</div>");
                break;
        }
    }

    // The same preference order as Jupyter: rich HTML, then images, then plain text.
    static string RichestData(DataOutput d)
    {
        if (d.Data.TryGetValue("text/html", out var h)) return h;
        if (d.Data.TryGetValue("image/svg+xml", out var svg)) return svg;
        if (d.Data.TryGetValue("image/png", out var png)) return $"<img alt=\"image output\" src=\"data:image/png;base64,{Encode(png)}\">";
        if (d.Data.TryGetValue("text/plain", out var text)) return $"<pre>{Encode(text)}</pre>";
        return $"<pre>{Encode($"(output in {string.Join(", ", d.Data.Keys)})")}</pre>";
    }

    static string PlotlyJs()
    {
        var plotly = typeof(Plotly.NET.GenericChart).Assembly;
        var name = $"Plotly.NET.plotly-{RlRig.Notebook.Charts.PlotlyFigure.PlotlyJsVersion}.min.js";
        using var stream = plotly.GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"Plotly.NET no longer embeds {name}; update PlotlyFigure.PlotlyJsVersion.");
        using var reader = new StreamReader(stream);
        // A literal "</script" inside the library would end the element early.
        return reader.ReadToEnd().Replace("</script", "<\\/script", StringComparison.OrdinalIgnoreCase);
    }

    static string Encode(string text) => RlRig.Notebook.Rendering.Markup.Escape(text);
}
