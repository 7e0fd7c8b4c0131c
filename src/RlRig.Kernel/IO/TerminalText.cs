using System.Globalization;
using System.Text;

namespace RlRig.IO;

/// <summary>
/// Makes text that came from a file safe to print to a terminal: a file must not be able to move the cursor, clear
/// the screen, start a line of its own ("the file is valid") or reorder what follows with a bidi override.
/// </summary>
public static class TerminalText
{
    /// <summary>
    /// <paramref name="text"/> with every control character (C0, DEL, C1: ESC, CR, LF, backspace...), format
    /// character (bidi embeddings, overrides and isolates, zero-width characters), line or paragraph separator and lone
    /// surrogate written as <c>\uXXXX</c>. Other characters, letters of every script included, are kept, and so is a
    /// backslash: escaping is idempotent, so a message built from escaped values can be escaped again unchanged. Null gives "".
    /// </summary>
    public static string Escape(string? text) => Escape(text, keepLineBreaks: false);

    /// <summary>
    /// As <see cref="Escape(string?)"/>, but a line feed stays a line feed: for messages whose line breaks are the
    /// program's own (a list of differences), where every value taken from a file has already gone through
    /// <see cref="Escape(string?)"/>.
    /// </summary>
    public static string EscapeKeepingLines(string? text) => Escape(text, keepLineBreaks: true);

    static string Escape(string? text, bool keepLineBreaks)
    {
        if (string.IsNullOrEmpty(text)) return "";
        if (!NeedsEscaping(text, keepLineBreaks)) return text;
        var sb = new StringBuilder(text.Length + 16);
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                // A pair is one character: format characters exist outside the BMP too (tags, U+E0001).
                if (Unsafe(CharUnicodeInfo.GetUnicodeCategory(text, i))) sb.Append(Code(c)).Append(Code(text[i + 1]));
                else sb.Append(c).Append(text[i + 1]);
                i++;
            }
            else if (c == '\n' && keepLineBreaks) sb.Append(c);
            else if (char.IsSurrogate(c) || Unsafe(CharUnicodeInfo.GetUnicodeCategory(c))) sb.Append(Code(c));
            else sb.Append(c);
        }
        return sb.ToString();
    }

    static bool NeedsEscaping(string text, bool keepLineBreaks)
    {
        foreach (var c in text)
        {
            if (c == '\n' && keepLineBreaks) continue;
            if (char.IsSurrogate(c) || Unsafe(CharUnicodeInfo.GetUnicodeCategory(c))) return true;
        }
        return false;
    }

    static bool Unsafe(UnicodeCategory category) => category is UnicodeCategory.Control or UnicodeCategory.Format
        or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator or UnicodeCategory.OtherNotAssigned;

    static string Code(char c) => $"\\u{(int)c:X4}";
}
