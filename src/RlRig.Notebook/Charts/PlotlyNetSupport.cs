using System.Runtime.CompilerServices;
using Microsoft.DotNet.Interactive.Formatting;

namespace RlRig.Notebook.Charts;

/// <summary>
/// Renders Plotly.NET's <c>GenericChart</c> through <see cref="PlotlyFigure"/>, where the host can load Plotly.NET at all.
/// Plotly.NET 6 is compiled against FSharp.Core 10.1; dotnet-repl 0.3.259 and the dotnet-interactive 1.0.712001 kernel
/// bundle FSharp.Core 10.0.103, and a process cannot load two versions of it, so there Plotly.NET cannot run and
/// <see cref="Unavailable"/> says why. RlRig's own charts (<see cref="Chart"/>) need no F# and work in every host.
/// </summary>
public static class PlotlyNetSupport
{
    /// <summary>The FSharp.Core assembly version Plotly.NET 6.0.0 references.</summary>
    public static readonly Version RequiredFSharpCore = new(10, 1, 0, 0);

    /// <summary>Why Plotly.NET charts cannot render in this process, or null if they can.</summary>
    public static string? Unavailable()
    {
        var loaded = AppDomain.CurrentDomain.GetAssemblies().FirstOrDefault(a => a.GetName().Name == "FSharp.Core")?.GetName().Version;
        return loaded is not null && loaded < RequiredFSharpCore
            ? $"Plotly.NET charts cannot render in this host: it loaded FSharp.Core {loaded}, and Plotly.NET 6.0.0 needs {RequiredFSharpCore}. " +
              "Use RlRig.Notebook.Charts.Chart (same plotly.js output, no F#) or run the notebook with `rlrig run`."
            : null;
    }

    /// <summary>Registers the <c>GenericChart</c> formatter; returns the reason it could not, or null on success.</summary>
    public static string? TryRegister()
    {
        if (Unavailable() is { } reason) return reason;
        try
        {
            Register();
            return null;
        }
        catch (Exception e) when (e is FileNotFoundException or FileLoadException or TypeLoadException)
        {
            return $"Plotly.NET charts cannot render in this host: {e.Message}";
        }
    }

    // Kept out of line: JIT-compiling it loads Plotly.NET and FSharp.Core, which is what may fail.
    [MethodImpl(MethodImplOptions.NoInlining)]
    static void Register()
    {
        Formatter.Register<Plotly.NET.GenericChart>(
            (chart, writer) => writer.Write(PlotlyFigure.FromJson(Plotly.NET.GenericChart.toFigureJson(chart)).ToHtml()), HtmlFormatter.MimeType);
        Formatter.SetPreferredMimeTypesFor(typeof(Plotly.NET.GenericChart), HtmlFormatter.MimeType);
    }
}
