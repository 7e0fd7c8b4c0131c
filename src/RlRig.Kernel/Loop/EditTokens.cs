using System.Globalization;
using RlRig.World;

namespace RlRig.Loop;

/// <summary>
/// The edit language as a sequence of words from a closed vocabulary, the form learned models read and write. It is the
/// text of <see cref="EditInstruction.ToText"/> without brackets and commas, each coordinate one word of two decimals
/// ("move the red circle to (0.25, 0.70)" is "move the red circle to 0.25 0.70"): the language's own precision, so a
/// model writes a position as two choices among 101 instead of spelling digits.
/// </summary>
public static class EditTokens
{
    /// <summary>The coordinate words "0.00" .. "1.00".</summary>
    public static IReadOnlyList<string> Coordinates { get; } =
        [.. Enumerable.Range(0, 101).Select(i => (i / 100.0).ToString("0.00", CultureInfo.InvariantCulture))];

    /// <summary>Every word an instruction can have, in a fixed order (the world's words, the verbs and articles, the coordinates).</summary>
    public static IReadOnlyList<string> Words { get; } =
    [
        .. WorldVocabulary.Words.Where(w => w != ";"),
        "done", "move", "recolour", "resize", "remove", "add", "a", "the", "to", "at",
        .. Coordinates,
    ];

    /// <summary>The words of an instruction of the language.</summary>
    /// <exception cref="ArgumentException">An <see cref="InvalidEdit"/>: it has no words in the language.</exception>
    public static IReadOnlyList<string> Encode(EditInstruction instruction)
    {
        ArgumentNullException.ThrowIfNull(instruction);
        if (instruction is InvalidEdit invalid) throw new ArgumentException($"an invalid instruction has no words: {invalid.Reason}", nameof(instruction));
        return WordsOf(instruction.ToText());
    }

    /// <summary>The words of a reference to an object ("the small red circle 0.25 0.70").</summary>
    public static IReadOnlyList<string> Encode(ObjectRef reference)
    {
        ArgumentNullException.ThrowIfNull(reference);
        return WordsOf(reference.ToText());
    }

    static string[] WordsOf(string text) => text.Replace("(", "").Replace(")", "").Replace(",", "").Split(' ', StringSplitOptions.RemoveEmptyEntries);

    /// <summary>
    /// The text of a word sequence, brackets restored around every pair of coordinates; parse it with
    /// <see cref="EditLanguage.Parse"/> (a sequence a model wrote need not be an instruction).
    /// </summary>
    public static string Decode(IEnumerable<string> words)
    {
        ArgumentNullException.ThrowIfNull(words);
        var list = words.ToList();
        var parts = new List<string>();
        for (var i = 0; i < list.Count; i++)
        {
            if (i + 1 < list.Count && IsCoordinate(list[i]) && IsCoordinate(list[i + 1]))
            {
                parts.Add($"({list[i]}, {list[i + 1]})");
                i++;
            }
            else parts.Add(list[i]);
        }
        return string.Join(' ', parts);
    }

    static bool IsCoordinate(string word) => word.Length == 4 && word[1] == '.' && Coordinates.Contains(word);
}
