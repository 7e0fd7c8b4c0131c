namespace RlRig.Cli.Notebooks;

/// <summary>
/// A running cell's outputs in the order they appeared. Consecutive writes to the same stream form one output, as Jupyter
/// shows them; that output stays a <see cref="StreamCapture"/> (appending is O(1) amortised) until something else is
/// output after it.
/// </summary>
sealed class CellOutputCollector(int? maxStreamChars)
{
    readonly List<CellOutput> closed = [];
    StreamCapture? open;

    public void AppendStream(string name, string text)
    {
        if (open is null || open.Name != name)
        {
            Close();
            open = new StreamCapture(name, maxStreamChars);
        }
        open.Append(text);
    }

    public void Add(CellOutput output)
    {
        Close();
        closed.Add(output);
    }

    // An update (a live chart, a progress line) replaces the displayed value in place, so the saved notebook holds the
    // last state; the stream being written after it stays open.
    public void Replace(string displayId, IReadOnlyDictionary<string, string> data)
    {
        var index = closed.FindLastIndex(o => o is DataOutput d && d.DisplayId == displayId);
        if (index >= 0) closed[index] = ((DataOutput)closed[index]) with { Data = data };
        else Add(new DataOutput(data, displayId, null));
    }

    /// <summary>The outputs so far; the open stream is included as it stands and stays open.</summary>
    public List<CellOutput> ToList() => open is null ? closed.ToList() : [.. closed, open.ToOutput()];

    void Close()
    {
        if (open is null) return;
        closed.Add(open.ToOutput());
        open = null;
    }
}
