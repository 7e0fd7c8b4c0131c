using RlRig.Metrics;
using RlRig.SceneGraphs;

namespace RlRig.World;

/// <summary>A shape the world can draw; its name is the item label.</summary>
public enum Shape { Circle, Square, Triangle }

/// <summary>A named colour of the palette; its name is an item attribute.</summary>
public sealed record WorldColour(string Name, byte R, byte G, byte B);

/// <summary>
/// The words of the shapes world. Items are "&lt;size&gt; &lt;colour&gt; &lt;shape&gt;" ("small red circle"), relations are
/// GenEval's four positions plus "near", so prompts read like RL-RIG's: "small red circle left of large blue square".
/// </summary>
public static class WorldVocabulary
{
    public const string Small = "small", Large = "large";

    /// <summary>Five colours far apart in RGB and from the white background, so a judge can tell them apart under noise.</summary>
    public static IReadOnlyList<WorldColour> Colours { get; } =
    [
        new("red", 220, 38, 38), new("green", 22, 163, 74), new("blue", 37, 99, 235),
        new("yellow", 234, 179, 8), new("purple", 147, 51, 234),
    ];

    public static IReadOnlyList<Shape> Shapes { get; } = Enum.GetValues<Shape>();

    public static IReadOnlyList<string> Sizes { get; } = [Small, Large];

    /// <summary>The spatial predicates, in the order the sampler and the metrics use.</summary>
    public static IReadOnlyList<string> Predicates { get; } = SpatialRelationExtractor.Predicates;

    public static string Label(Shape shape) => shape.ToString().ToLowerInvariant();

    /// <summary>The vocabulary for <see cref="SceneGraph.ParsePrompt"/>.</summary>
    public static PromptVocabulary Prompt { get; } = new(Shapes.Select(Label), Sizes.Concat(Colours.Select(c => c.Name)), Predicates);

    /// <summary>Every word a world prompt can contain, in a fixed order (for tokenizers).</summary>
    public static IReadOnlyList<string> Words { get; } =
        [.. Sizes, .. Colours.Select(c => c.Name), .. Shapes.Select(Label), .. Predicates.SelectMany(p => p.Split(' ')).Distinct(), ";"];

    public static WorldColour Colour(string name) =>
        Colours.FirstOrDefault(c => c.Name == name) ?? throw new ArgumentException($"'{name}' is not a colour of the shapes world ({string.Join(", ", Colours.Select(c => c.Name))})");

    public static Shape ParseShape(string label) =>
        Shapes.Where(s => Label(s) == label).Select(s => (Shape?)s).FirstOrDefault()
            ?? throw new ArgumentException($"'{label}' is not a shape of the shapes world ({string.Join(", ", Shapes.Select(Label))})");
}

/// <summary>One object of a world scene, read from a scene graph item ("small red circle").</summary>
public sealed record WorldObject(Shape Shape, WorldColour Colour, bool IsLarge)
{
    /// <summary>Reads an item whose label is a shape and whose attributes are a size and a colour.</summary>
    /// <exception cref="ArgumentException">The item is not a shapes-world object; the message names the item.</exception>
    public static WorldObject From(SceneItem item)
    {
        if (item.Attributes.Count != 2 || item.Attributes[0] is not (WorldVocabulary.Small or WorldVocabulary.Large))
            throw new ArgumentException($"item {item.Id} \"{item.Text}\": a shapes-world object is \"<small|large> <colour> <shape>\"");
        return new WorldObject(WorldVocabulary.ParseShape(item.Label), WorldVocabulary.Colour(item.Attributes[1]), item.Attributes[0] == WorldVocabulary.Large);
    }

    /// <summary>The item text, e.g. "small red circle".</summary>
    public string Text => $"{(IsLarge ? WorldVocabulary.Large : WorldVocabulary.Small)} {Colour.Name} {WorldVocabulary.Label(Shape)}";

    public SceneItem ToItem(int id, Box? box = null) =>
        new(id, WorldVocabulary.Label(Shape), [IsLarge ? WorldVocabulary.Large : WorldVocabulary.Small, Colour.Name], box);
}
