using System.Diagnostics;

namespace RlRig.Cli.Notebooks;

/// <summary>One measured run of a cell that prints <see cref="Lines"/> lines of <see cref="LineBytes"/> characters.</summary>
public sealed record CaptureRun(int Lines, int LineBytes, double Seconds, long AllocatedBytes, long PeakWorkingSetBytes, long KeptChars, bool Truncated)
{
    public double LinesPerSecond => Lines / Seconds;
    public double MicrosecondsPerLine => Seconds * 1e6 / Lines;
}

/// <summary>
/// Measures how <see cref="NotebookRunner"/> captures a cell's printed output, at two sizes side by side: if capture is
/// O(1) per write, the cost per line of the larger run stays close to the smaller one's (a ratio near 1); a capture that
/// rebuilds the stream text on each write makes it grow with the size.
/// </summary>
public static class CaptureBenchmark
{
    /// <summary>Runs a notebook whose second cell prints <paramref name="lines"/> lines of <paramref name="lineBytes"/>
    /// characters (the first cell warms the kernel up, so compiling it is not measured).</summary>
    public static async Task<CaptureRun> RunAsync(int lines, int lineBytes, int? maxStreamChars = NotebookRunOptions.DefaultMaxStreamChars)
    {
        var print = $"var line = new string('x', {lineBytes - 1});\nfor (var i = 0; i < {lines}; i++) System.Console.WriteLine(line);";
        var notebook = new NotebookDocument("capture-bench.ipynb",
        [
            new NotebookCell("warm", CellKind.Code, "System.Console.WriteLine(\"warm\");", [], []),
            new NotebookCell("print", CellKind.Code, print, [], []),
        ], []);
        var stopwatch = new Stopwatch();
        long allocatedBefore = 0;
        var options = new NotebookRunOptions
        {
            MaxStreamChars = maxStreamChars,
            OnCellStarting = (n, _, _) =>
            {
                if (n != 2) return;
                GC.Collect();
                allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
                stopwatch.Start();
            },
        };
        var result = await NotebookRunner.RunAsync(notebook, options);
        stopwatch.Stop();
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
        if (result.Failure is { } failure) throw new InvalidOperationException($"the benchmark notebook failed: {failure}");
        var outputs = result.Notebook.Cells[1].Outputs.OfType<StreamOutput>().ToList();
        using var process = Process.GetCurrentProcess();
        return new CaptureRun(lines, lineBytes, stopwatch.Elapsed.TotalSeconds, allocated, process.PeakWorkingSet64,
            outputs.Sum(o => (long)o.Text.Length), outputs.Any(o => o.Text.Contains(StreamCapture.TruncationMarker, StringComparison.Ordinal)));
    }
}
