using System.Globalization;
using System.Text;

namespace RlRig.Notebook.Rendering;

/// <summary>Escaping and number formatting shared by the HTML and SVG renderers.</summary>
public static class Markup
{
    /// <summary>
    /// Escapes text for HTML and SVG (XML) content and attribute values: &amp; &lt; &gt; " ' become entities, and
    /// characters XML forbids even escaped (control characters other than tab, newline, carriage return; lone
    /// surrogates) become U+FFFD, so the output always parses.
    /// </summary>
    public static string Escape(string? text)
    {
        if (string.IsNullOrEmpty(text)) return "";
        var sb = new StringBuilder(text.Length + 16);
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            switch (c)
            {
                case '&': sb.Append("&amp;"); break;
                case '<': sb.Append("&lt;"); break;
                case '>': sb.Append("&gt;"); break;
                case '"': sb.Append("&quot;"); break;
                case '\'': sb.Append("&#39;"); break;
                case '\t' or '\n' or '\r': sb.Append(c); break;
                default:
                    if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
                    {
                        sb.Append(c).Append(text[++i]);
                    }
                    else if (char.IsControl(c) || char.IsSurrogate(c) || c is '\uFFFE' or '\uFFFF')
                    {
                        sb.Append('\uFFFD');
                    }
                    else
                    {
                        sb.Append(c);
                    }
                    break;
            }
        }
        return sb.ToString();
    }

    /// <summary>Longest text drawn inside a node; longer text is cut with "…" (the full text goes in a tooltip).</summary>
    public const int MaxNodeTextLength = 40;

    /// <summary><paramref name="text"/> cut to <see cref="MaxNodeTextLength"/> characters with "…".</summary>
    public static string Shorten(string text) =>
        text.Length <= MaxNodeTextLength ? text : text[..(MaxNodeTextLength - 1)] + "…";

    /// <summary>A coordinate in invariant culture with at most two decimals.</summary>
    public static string Num(double value) => value.ToString("0.##", CultureInfo.InvariantCulture);

    /// <summary>Rough width in pixels of <paramref name="text"/> in a sans-serif font of <paramref name="fontSize"/>.</summary>
    /// <remarks>No font metrics are available in a pure string function; 0.62 em per character over-estimates most
    /// Latin text slightly, which errs towards space rather than overlap.</remarks>
    public static double TextWidth(string text, double fontSize) => text.Length * fontSize * 0.62;
}
