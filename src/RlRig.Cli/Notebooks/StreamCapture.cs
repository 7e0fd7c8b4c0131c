using System.Globalization;
using System.Text;

namespace RlRig.Cli.Notebooks;

/// <summary>
/// The text of one stream output (consecutive writes to stdout or stderr) while a cell runs. Each write costs O(its
/// length): nothing already captured is copied again. With a cap, it keeps the first and last halves of the cap and counts
/// what it drops, so a cell that prints without end uses bounded memory and the saved output says it was cut.
/// </summary>
public sealed class StreamCapture
{
    /// <summary>How the note that replaces dropped text begins.</summary>
    public const string TruncationMarker = "[output truncated:";

    readonly int? maxChars;
    readonly StringBuilder head = new();
    // The newest text, as written; older chunks leave once the rest already fill the tail's share.
    readonly Queue<string> tail = new();
    long tailChars;
    long totalChars;

    /// <param name="name"><c>stdout</c> or <c>stderr</c>.</param>
    /// <param name="maxChars">The most characters kept; null keeps everything.</param>
    public StreamCapture(string name, int? maxChars)
    {
        if (maxChars is < 2) throw new ArgumentOutOfRangeException(nameof(maxChars), maxChars, "at least 2 characters");
        Name = name;
        this.maxChars = maxChars;
    }

    public string Name { get; }

    /// <summary>Characters written so far, kept or not.</summary>
    public long TotalChars => totalChars;

    public void Append(string text)
    {
        totalChars += text.Length;
        if (maxChars is not { } max) { head.Append(text); return; }
        var headShare = max / 2;
        var intoHead = Math.Min(text.Length, headShare - head.Length);
        if (intoHead > 0) head.Append(text, 0, intoHead);
        if (intoHead == text.Length) return;
        var rest = intoHead > 0 ? text[intoHead..] : text;
        tail.Enqueue(rest);
        tailChars += rest.Length;
        var tailShare = max - headShare;
        while (tail.Count > 1 && tailChars - tail.Peek().Length >= tailShare) tailChars -= tail.Dequeue().Length;
    }

    /// <summary>The kept text; if some was dropped, a line between the head and the tail says how much and how to keep it.</summary>
    public string Text()
    {
        if (maxChars is not { } max || totalChars <= max) return tail.Count == 0 ? head.ToString() : head + string.Concat(tail);
        var tailShare = max - max / 2;
        var tailText = string.Concat(tail);
        tailText = tailText[^Math.Min(tailShare, tailText.Length)..];
        var dropped = totalChars - head.Length - tailText.Length;
        var note = string.Create(CultureInfo.InvariantCulture,
            $"\n{TruncationMarker} {dropped:N0} of {totalChars:N0} characters not kept here; rlrig run --full-output keeps all of it]\n");
        return head + note + tailText;
    }

    /// <summary>The output as it is saved in the notebook.</summary>
    public StreamOutput ToOutput() => new(Name, Text());
}
