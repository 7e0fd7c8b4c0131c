using System.Globalization;
using System.Text.RegularExpressions;
using RlRig.SceneGraphs;
using RlRig.World;

namespace RlRig.Loop;

/// <summary>
/// A reference to an object of the image by its words: the shape, and the size and colour when given ("the red circle",
/// "the small red circle"), and where two objects fit the words, where it is ("the small red circle at (0.25, 0.70)":
/// its centre as fractions of the canvas). It names the object as it is now, before the edit.
/// </summary>
public sealed record ObjectRef(string Shape, string? Size = null, string? Colour = null, (double X, double Y)? At = null)
{
    public static ObjectRef Of(SceneItem item) => new(item.Label, item.Attributes[0], item.Attributes[1]);

    /// <summary>Whether a shapes-world item fits every word of the reference (the position only chooses among those that do).</summary>
    public bool Matches(SceneItem item) =>
        item.Label == Shape && (Size is null || item.Attributes[0] == Size) && (Colour is null || item.Attributes[1] == Colour);

    public string ToText() => "the " + string.Join(' ', new[] { Size, Colour, Shape }.Where(w => w is not null))
        + (At is { } at ? string.Create(CultureInfo.InvariantCulture, $" at ({at.X:0.00}, {at.Y:0.00})") : "");
}

/// <summary>
/// A typed edit instruction of the edit language (<see cref="EditLanguage"/>); <see cref="ToText"/> writes it back as the
/// text a language model could also have written.
/// </summary>
public abstract record EditInstruction
{
    public abstract string ToText();

    public sealed override string ToString() => ToText();
}

/// <summary>"move the small red circle left of the large blue square": the editor picks the place.</summary>
public sealed record MoveRelativeEdit(ObjectRef Object, string Predicate, ObjectRef Anchor) : EditInstruction
{
    public override string ToText() => $"move {Object.ToText()} {Predicate} {Anchor.ToText()}";
}

/// <summary>"move the small red circle to (0.25, 0.70)": the object's new centre as fractions of the canvas's width and height.</summary>
public sealed record MovePositionEdit(ObjectRef Object, double X, double Y) : EditInstruction
{
    public override string ToText() => string.Create(CultureInfo.InvariantCulture, $"move {Object.ToText()} to ({X:0.00}, {Y:0.00})");
}

/// <summary>"recolour the small red circle blue".</summary>
public sealed record RecolourEdit(ObjectRef Object, string Colour) : EditInstruction
{
    public override string ToText() => $"recolour {Object.ToText()} {Colour}";
}

/// <summary>"resize the small red circle to large".</summary>
public sealed record ResizeEdit(ObjectRef Object, string Size) : EditInstruction
{
    public override string ToText() => $"resize {Object.ToText()} to {Size}";
}

/// <summary>"remove the small red circle".</summary>
public sealed record RemoveEdit(ObjectRef Object) : EditInstruction
{
    public override string ToText() => $"remove {Object.ToText()}";
}

/// <summary>"add a small red circle left of the large blue square".</summary>
public sealed record AddEdit(WorldObject Object, string Predicate, ObjectRef Anchor) : EditInstruction
{
    public override string ToText() => $"add a {Object.Text} {Predicate} {Anchor.ToText()}";
}

/// <summary>"done": the Actor sees nothing to change.</summary>
public sealed record NoEdit : EditInstruction
{
    public override string ToText() => "done";
}

/// <summary>Text that is not an instruction of the language, and why; the loop counts it and makes no edit.</summary>
public sealed record InvalidEdit(string Text, string Reason) : EditInstruction
{
    public override string ToText() => Text;
}

/// <summary>
/// The edit language of the shapes world, one instruction per line, words case-insensitive, a final full stop allowed:
/// <code>
/// move the [size] [colour] shape (left of|right of|above|below|near) the [size] [colour] shape
/// move the [size] [colour] shape to (x, y)          x, y in [0, 1]: the new centre as fractions of the canvas
/// recolour the [size] [colour] shape colour         ("recolor" too)
/// resize the [size] [colour] shape to (small|large)
/// remove the [size] [colour] shape
/// add a size colour shape (left of|...) the [size] [colour] shape
/// done
/// </code>
/// Any "the [size] [colour] shape" may end in "at (x, y)", the object's centre, to tell apart objects the words both fit.
/// <see cref="Parse"/> never throws: text outside the language is an <see cref="InvalidEdit"/> with the reason.
/// </summary>
public static partial class EditLanguage
{
    public static EditInstruction Parse(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return new InvalidEdit(text ?? "", "the instruction is empty");
        // Bounds first, so that nothing below (the regex, the messages quoting words) sees pathological input.
        if (text.Length > MaxChars) return new InvalidEdit(text, $"the instruction is too long for the edit language ({text.Length} characters; at most {MaxChars})");
        var words = Normalise(text);
        if (words.Length > MaxWords) return new InvalidEdit(text, $"the instruction is too long for the edit language ({words.Length} words; at most {MaxWords})");
        var line = string.Join(' ', words);
        try
        {
            if (line == "done") return new NoEdit();
            var match = PositionPattern().Match(line);
            if (match.Success)
            {
                var (x, y) = (Fraction(match.Groups["x"].Value, "x"), Fraction(match.Groups["y"].Value, "y"));
                return new MovePositionEdit(Reference(match.Groups["obj"].Value), x, y);
            }
            return words[0] switch
            {
                "move" => ParseRelative(line["move ".Length..], (o, p, a) => new MoveRelativeEdit(Reference(o), p, a)),
                "add" => ParseRelative(StripArticle(line["add ".Length..], "a", "an"), (o, p, a) => new AddEdit(NewObject(o), p, a)),
                "remove" or "delete" => new RemoveEdit(Reference(Rest(words))),
                "recolour" or "recolor" => ParseRecolour(Rest(words)),
                "resize" => ParseResize(Rest(words)),
                _ => new InvalidEdit(text, $"'{Quote(words[0])}' is not an edit; an instruction starts with move, recolour, resize, remove, add or is 'done'"),
            };
        }
        catch (FormatException e) { return new InvalidEdit(text, e.Message); }
    }

    /// <summary>The longest instruction accepted, in characters and in words; an instruction is one short sentence.</summary>
    public const int MaxChars = 1000, MaxWords = 200;

    // A word or phrase of the input as a message quotes it: at most 40 characters.
    static string Quote(string s) => s.Length <= 40 ? s : s[..40] + "...";

    static string[] Normalise(string text) =>
        text.Trim().TrimEnd('.').ToLowerInvariant().Replace("(", " ( ").Replace(")", " ) ").Replace(",", " , ")
            .Split((char[])[' ', '\t', '\r', '\n'], StringSplitOptions.RemoveEmptyEntries);

    static string Rest(string[] words) => string.Join(' ', words.Skip(1));

    [GeneratedRegex(@"^move (?<obj>.+?) to \( (?<x>\S+) , (?<y>\S+) \)$")]
    private static partial Regex PositionPattern();

    static double Fraction(string value, string axis)
    {
        if (!double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || !double.IsFinite(v) || v < 0 || v > 1)
            throw new FormatException($"the position's {axis} must be a number in [0, 1] (a fraction of the canvas), got '{Quote(value)}'");
        return v;
    }

    static EditInstruction ParseRelative(string rest, Func<string, string, ObjectRef, EditInstruction> make)
    {
        foreach (var predicate in WorldVocabulary.Predicates.OrderByDescending(p => p.Length))
        {
            var at = rest.IndexOf($" {predicate} ", StringComparison.Ordinal);
            if (at < 0) continue;
            return make(rest[..at], predicate, Reference(rest[(at + predicate.Length + 2)..]));
        }
        throw new FormatException($"no relation in \"{Quote(rest)}\"; use one of: {string.Join(", ", WorldVocabulary.Predicates)} (or 'to (x, y)' for a move)");
    }

    static EditInstruction ParseRecolour(string rest)
    {
        var words = rest.Split(' ');
        var colour = words[^1];
        if (words.Length < 2 || WorldVocabulary.Colours.All(c => c.Name != colour))
            throw new FormatException($"recolour needs an object and a new colour ({string.Join(", ", WorldVocabulary.Colours.Select(c => c.Name))}) at the end");
        var target = string.Join(' ', words[..^1]);
        if (target.EndsWith(" to", StringComparison.Ordinal)) target = target[..^3];
        return new RecolourEdit(Reference(target), colour);
    }

    static EditInstruction ParseResize(string rest)
    {
        var words = rest.Split(' ');
        var size = words[^1];
        if (words.Length < 3 || words[^2] != "to" || size is not (WorldVocabulary.Small or WorldVocabulary.Large))
            throw new FormatException("resize needs an object, then 'to small' or 'to large'");
        return new ResizeEdit(Reference(string.Join(' ', words[..^2])), size);
    }

    static string StripArticle(string phrase, params string[] articles)
    {
        foreach (var a in articles)
            if (phrase.StartsWith(a + " ", StringComparison.Ordinal)) return phrase[(a.Length + 1)..];
        return phrase;
    }

    [GeneratedRegex(@"^(?<words>.+?) at \( (?<x>\S+) , (?<y>\S+) \)$")]
    private static partial Regex AtPattern();

    /// <summary>"the small red circle", "red circle", "the circle", "the red circle at (0.25, 0.70)": words in the order size, colour, shape, then optionally where.</summary>
    static ObjectRef Reference(string phrase)
    {
        var at = AtPattern().Match(phrase.Trim());
        if (at.Success)
            return Reference(at.Groups["words"].Value) with { At = (Fraction(at.Groups["x"].Value, "x"), Fraction(at.Groups["y"].Value, "y")) };
        var words = StripArticle(phrase.Trim(), "the").Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (words.Length is 0 or > 3) throw new FormatException($"\"{Quote(phrase.Trim())}\" does not name an object: write [size] [colour] shape, e.g. 'the small red circle'");
        var shape = words[^1];
        if (WorldVocabulary.Shapes.All(s => WorldVocabulary.Label(s) != shape))
            throw new FormatException($"'{Quote(shape)}' is not a shape ({string.Join(", ", WorldVocabulary.Shapes.Select(WorldVocabulary.Label))})");
        string? size = null, colour = null;
        foreach (var w in words[..^1])
        {
            if (w is WorldVocabulary.Small or WorldVocabulary.Large && size is null && colour is null) size = w;
            else if (WorldVocabulary.Colours.Any(c => c.Name == w) && colour is null) colour = w;
            else throw new FormatException($"'{Quote(w)}' in \"{Quote(phrase.Trim())}\" is not a size or colour in its place (write size, then colour, then shape)");
        }
        return new ObjectRef(shape, size, colour);
    }

    static WorldObject NewObject(string phrase)
    {
        var reference = Reference(phrase);
        if (reference.Size is null || reference.Colour is null)
            throw new FormatException($"an added object needs its size, colour and shape, e.g. 'a small red circle' (got \"{Quote(phrase.Trim())}\")");
        return new WorldObject(WorldVocabulary.ParseShape(reference.Shape), WorldVocabulary.Colour(reference.Colour), reference.Size == WorldVocabulary.Large);
    }
}
