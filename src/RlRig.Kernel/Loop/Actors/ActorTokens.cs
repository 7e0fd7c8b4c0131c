using System.Globalization;
using RlRig.SceneGraphs;
using RlRig.World;

namespace RlRig.Loop.Actors;

/// <summary>
/// How the learned Actor writes the objects an instruction names. In words, the model must copy each object's words
/// and, for duplicates, its coordinates from the state, and mixing two objects' words names an object that is not
/// there (the most common failure of the words-only Actors in the loop: 434 of 1,746 edit rounds). In slots it points
/// at the state's object by one token, and the instruction the editor reads is written out from the state in the
/// edit language, exactly as the rule-based Actor would name that object.
/// </summary>
public enum ActorReferences
{
    /// <summary>By their words, as the edit language does ("the small red circle at 0.25 0.70").</summary>
    Words,
    /// <summary>By the state's slots: "d3" for detected object 3, "t1" for target object 1 (an object an add draws).</summary>
    Slots,
}

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

    /// <summary>An instruction's token ids in words (<see cref="EditTokens.Encode(EditInstruction)"/>), ending in <see cref="End"/>.</summary>
    public static int[] InstructionIds(EditInstruction instruction) => [.. EditTokens.Encode(instruction).Select(Id), EndId];

    /// <summary>
    /// An instruction's token ids for a state, its references written as <paramref name="references"/> says, ending in
    /// <see cref="End"/>. In slots, a reference is the slot of the one detected object it names (by its words, and by its
    /// position where it has one) and an added object is the slot of a missing target object with its words.
    /// </summary>
    /// <exception cref="ArgumentException">In slots: a reference names no detected object or several, or an add draws an object the target does not miss.</exception>
    public static int[] InstructionIds(EditInstruction instruction, Reflection state, ActorReferences references, WorldOptions world)
    {
        ArgumentNullException.ThrowIfNull(instruction);
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(world);
        if (references == ActorReferences.Words) return InstructionIds(instruction);
        string D(ObjectRef reference)
        {
            var fits = state.Detected.Items.Where(i => reference.Matches(i) && (reference.At is not { } at || Placement.RoundedCentre(world, i.Box!) == at)).ToList();
            return fits.Count == 1 ? DetectedSlot(fits[0].Id) : throw new ArgumentException($"'{reference.ToText()}' names {fits.Count} detected objects, not one: it has no slot", nameof(instruction));
        }
        string T(WorldObject added) =>
            state.Missing.Select(state.Target.Item).FirstOrDefault(i => WorldObject.From(i) == added) is { } item ? TargetSlot(item.Id)
            : throw new ArgumentException($"'a {added.Text}' is not a missing target object: it has no slot", nameof(instruction));
        string[] P(string predicate) => predicate.Split(' ');
        string[] words = instruction switch
        {
            NoEdit => ["done"],
            RemoveEdit r => ["remove", D(r.Object)],
            RecolourEdit r => ["recolour", D(r.Object), r.Colour],
            ResizeEdit r => ["resize", D(r.Object), "to", r.Size],
            MoveRelativeEdit m => ["move", D(m.Object), .. P(m.Predicate), D(m.Anchor)],
            MovePositionEdit m => ["move", D(m.Object), "to", Coordinate(m.X), Coordinate(m.Y)],
            AddEdit a => ["add", T(a.Object), .. P(a.Predicate), D(a.Anchor)],
            _ => throw new ArgumentException($"{instruction.GetType().Name} has no words: '{instruction.ToText()}'", nameof(instruction)),
        };
        return [.. words.Select(Id), EndId];
    }

    /// <summary>
    /// What a generated sequence says: the words before <see cref="End"/>, each slot written out for the state as the
    /// edit language names its object (<paramref name="references"/> Slots: a detected object by its words, with its
    /// position only where another detected object has the same words, as the rule-based Actor writes it; a target
    /// object as "a" and its words), parsed by the edit language. A sequence without the end token (cut at the length
    /// limit) is an <see cref="InvalidEdit"/>, as is any that does not parse (a slot of no object stays a slot, which
    /// does not parse).
    /// </summary>
    public static ActorProposal Proposal(IReadOnlyList<int> ids, Reflection state, ActorReferences references, WorldOptions world, IReadOnlyList<double>? logProbs = null)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(world);
        return references == ActorReferences.Words ? Proposal(ids, logProbs) : Proposal(ids, w => WrittenOut(w, state, world), logProbs);
    }

    /// <summary>What a generated sequence of words-only output says (<see cref="ActorReferences.Words"/>), which needs no state.</summary>
    public static ActorProposal Proposal(IReadOnlyList<int> ids, IReadOnlyList<double>? logProbs = null) => Proposal(ids, w => [w], logProbs);

    static ActorProposal Proposal(IReadOnlyList<int> ids, Func<string, IEnumerable<string>> writeOut, IReadOnlyList<double>? logProbs)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var end = ids.ToList().IndexOf(EndId);
        var words = (end < 0 ? ids : ids.Take(end)).Select(i => i >= 0 && i < Words.Count ? Words[i] : "?").SelectMany(writeOut);
        var text = EditTokens.Decode(words);
        if (end < 0) return new ActorProposal(text, new InvalidEdit(text, $"no end of instruction within {ids.Count} words"), logProbs);
        return ActorProposal.FromText(text, logProbs);
    }

    static IEnumerable<string> WrittenOut(string word, Reflection state, WorldOptions world)
    {
        if (SlotId(word, 'd', DetectedSlots) is { } d && state.Detected.Items.FirstOrDefault(i => i.Id == d) is { } item)
            return EditTokens.Encode(RuleBasedActor.Disambiguate(RuleBasedActor.Reference(world, item), state));
        if (SlotId(word, 't', TargetSlots) is { } t && state.Target.Items.FirstOrDefault(i => i.Id == t) is { } target)
            return ["a", .. target.Attributes, target.Label];
        return [word];
    }

    static int? SlotId(string word, char kind, int slots) =>
        word.Length > 1 && word[0] == kind && int.TryParse(word.AsSpan(1), NumberStyles.None, CultureInfo.InvariantCulture, out var id) && id < slots ? id : null;

    static string Coordinate(double v) => v.ToString("0.00", CultureInfo.InvariantCulture);
}
