using System.Globalization;
using RlRig.SceneGraphs;
using RlRig.World;

namespace RlRig.Loop.Actors;

/// <summary>
/// The learned Actor's closed vocabulary, and a state (the target graph and the Checker's reflection) as its words.
/// The output words are <see cref="EditTokens.Words"/> plus <see cref="End"/>; the state adds section markers, object
/// slots ("t0" a target object, "d3" a detected object, by id) and the attribute names.
/// </summary>
/// <remarks>
/// The image is not read: the reflection carries every object the Checker found with its box, as centre coordinates,
/// which is all an instruction can refer to ("at (x, y)" references and "to (x, y)" moves use the same coordinate
/// words). The rule-based Actor, which also ignores the image, shows that it suffices.
/// </remarks>
public static class ActorTokens
{
    /// <summary>Padding (never attended to), the start of the instruction, and its end.</summary>
    public const string Pad = "<pad>", Act = "<act>", End = "<end>";

    /// <summary>The most target and detected objects a state can name (ids 0 .. n - 1): slots of the vocabulary.</summary>
    public const int TargetSlots = 8, DetectedSlots = 16;

    static readonly string[] Sections = ["<target>", "<detected>", "<matches>", "<satisfied>", "<violated>", "<unplaceable>", "<missing>", "<extra>", "<wrong>"];

    /// <summary>Every word, in a fixed order; a word's index is its token id (<see cref="Pad"/> is 0).</summary>
    public static IReadOnlyList<string> Words { get; } =
    [
        .. new[] { Pad, Act, End }.Concat(EditTokens.Words).Concat(Sections)
            .Concat(["rel", "holds", "none", "colour", "size", ";"])
            .Concat(Enumerable.Range(0, TargetSlots).Select(TargetSlot))
            .Concat(Enumerable.Range(0, DetectedSlots).Select(DetectedSlot))
            .Distinct(),
    ];

    static readonly Dictionary<string, int> Index = Words.Select((w, i) => (w, i)).ToDictionary(x => x.w, x => x.i);

    public static int PadId => 0;
    public static int ActId { get; } = Index[Act];
    public static int EndId { get; } = Index[End];

    public static string TargetSlot(int id) => "t" + id.ToString(CultureInfo.InvariantCulture);
    public static string DetectedSlot(int id) => "d" + id.ToString(CultureInfo.InvariantCulture);

    /// <summary>The token id of a word.</summary>
    /// <exception cref="ArgumentException">The word is not in the vocabulary.</exception>
    public static int Id(string word) =>
        Index.TryGetValue(word, out var id) ? id : throw new ArgumentException($"'{word}' is not a word of the Actor's vocabulary", nameof(word));

    public static string Word(int id) => id >= 0 && id < Words.Count ? Words[id] : throw new ArgumentOutOfRangeException(nameof(id), id, $"use 0 to {Words.Count - 1}");

    /// <summary>
    /// The state as words, ending in <see cref="Act"/>: every field of the reflection in a fixed order, each detected
    /// object with its centre as two coordinate words (<see cref="Placement.RoundedCentre"/>). Deterministic.
    /// </summary>
    /// <exception cref="ArgumentException">An object id outside the vocabulary's slots, or a word outside the world's.</exception>
    public static List<string> State(Reflection reflection, WorldOptions world)
    {
        ArgumentNullException.ThrowIfNull(reflection);
        ArgumentNullException.ThrowIfNull(world);
        var words = new List<string>();
        string T(int id) => id is >= 0 and < TargetSlots ? TargetSlot(id) : throw new ArgumentException($"target object id {id} is beyond the Actor's {TargetSlots} slots");
        string D(int id) => id is >= 0 and < DetectedSlots ? DetectedSlot(id) : throw new ArgumentException($"detected object id {id} is beyond the Actor's {DetectedSlots} slots");
        void Item(SceneItem item) => words.AddRange([.. item.Attributes, item.Label]);
        void Relation(SceneRelation r) => words.AddRange([T(r.SubjectId), .. r.Predicate.Split(' '), T(r.ObjectId)]);
        words.Add("<target>");
        foreach (var item in reflection.Target.Items) { words.Add(T(item.Id)); Item(item); }
        foreach (var r in reflection.Target.Relations) { words.Add("rel"); Relation(r); }
        words.Add("<detected>");
        foreach (var item in reflection.Detected.Items)
        {
            words.Add(D(item.Id));
            Item(item);
            var (x, y) = Placement.RoundedCentre(world, item.Box ?? throw new ArgumentException($"detected object {item.Id} has no box"));
            words.AddRange([Coordinate(x), Coordinate(y)]);
        }
        words.Add("<matches>");
        foreach (var m in reflection.Matches) words.AddRange([T(m.TargetId), m.DetectedId is { } d ? D(d) : "none"]);
        words.Add("<satisfied>");
        foreach (var r in reflection.Satisfied) Relation(r);
        words.Add("<violated>");
        foreach (var v in reflection.Violated)
        {
            Relation(v.Relation);
            words.Add("holds");
            foreach (var p in v.Holds) words.AddRange(p.Split(' '));
            words.Add(";");
        }
        words.Add("<unplaceable>");
        foreach (var r in reflection.Unplaceable) Relation(r);
        words.Add("<missing>");
        words.AddRange(reflection.Missing.Select(T));
        words.Add("<extra>");
        words.AddRange(reflection.Extra.Select(D));
        words.Add("<wrong>");
        foreach (var e in reflection.WrongAttributes) words.AddRange([T(e.TargetId), D(e.DetectedId), e.Attribute, e.Expected, e.Found]);
        words.Add(Act);
        foreach (var w in words)
            if (!Index.ContainsKey(w)) throw new ArgumentException($"'{w}' is not a word of the shapes world");
        return words;
    }

    /// <summary>The token ids of <see cref="State"/>.</summary>
    public static int[] StateIds(Reflection reflection, WorldOptions world) => [.. State(reflection, world).Select(Id)];

    /// <summary>An instruction's token ids (<see cref="EditTokens.Encode"/>), ending in <see cref="End"/>.</summary>
    public static int[] InstructionIds(EditInstruction instruction) => [.. EditTokens.Encode(instruction).Select(Id), EndId];

    /// <summary>
    /// What a generated sequence says: the words before <see cref="End"/> parsed by the edit language. A sequence without
    /// the end token (cut at the length limit) is an <see cref="InvalidEdit"/>, as is any that does not parse.
    /// </summary>
    public static ActorProposal Proposal(IReadOnlyList<int> ids, IReadOnlyList<double>? logProbs = null)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var end = ids.ToList().IndexOf(EndId);
        var words = (end < 0 ? ids : ids.Take(end)).Select(i => i >= 0 && i < Words.Count ? Words[i] : "?").ToList();
        var text = EditTokens.Decode(words);
        if (end < 0) return new ActorProposal(text, new InvalidEdit(text, $"no end of instruction within {ids.Count} words"), logProbs);
        return ActorProposal.FromText(text, logProbs);
    }

    static string Coordinate(double v) => v.ToString("0.00", CultureInfo.InvariantCulture);
}
