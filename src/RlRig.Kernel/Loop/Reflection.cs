using RlRig.Metrics;
using RlRig.SceneGraphs;
using RlRig.World;

namespace RlRig.Loop;

/// <summary>A target object and the detected object matched to it (null when it is missing).</summary>
public sealed record ObjectMatch(int TargetId, int? DetectedId);

/// <summary>A target relation whose two objects were found but do not stand as asked; <paramref name="Holds"/> is what holds instead.</summary>
public sealed record ViolatedRelation(SceneRelation Relation, IReadOnlyList<string> Holds);

/// <summary>A model's reply that could not be read as asked: why, and the reply's text as it came.</summary>
public sealed record ReplyFailure(string Reason, string RawText);

/// <summary>A found object whose colour or size is not the target's (its shape is).</summary>
public sealed record AttributeError(int TargetId, int DetectedId, string Attribute, string Expected, string Found);

/// <summary>
/// A Checker's verdict on one image against its target scene graph: what it read (<see cref="Detected"/>, objects with
/// boxes and the relations that hold between them), how the target's objects map onto it, and what is right and wrong.
/// </summary>
/// <param name="Target">The prompt's scene graph.</param>
/// <param name="Detected">What the Checker read in the image: items with boxes, relations by the world's geometric rule.</param>
/// <param name="Matches">Every target object with the detected object assigned to it, or none.</param>
/// <param name="Satisfied">Target relations that hold.</param>
/// <param name="Violated">Target relations whose objects were found in the wrong places.</param>
/// <param name="Unplaceable">Target relations with a missing object, which no placement can fix before the object exists.</param>
/// <param name="Missing">Target object ids with no matching detection (no detected object of that shape was left).</param>
/// <param name="Extra">Detected object ids that no target object claims.</param>
/// <param name="WrongAttributes">Matched objects with the wrong colour or size.</param>
/// <param name="Score">The reward: see <see cref="ReflectionScore"/>; 1 exactly when the image satisfies the target.</param>
/// <param name="Text">The reflection in plain language.</param>
public sealed record Reflection(
    SceneGraph Target,
    SceneGraph Detected,
    IReadOnlyList<ObjectMatch> Matches,
    IReadOnlyList<SceneRelation> Satisfied,
    IReadOnlyList<ViolatedRelation> Violated,
    IReadOnlyList<SceneRelation> Unplaceable,
    IReadOnlyList<int> Missing,
    IReadOnlyList<int> Extra,
    IReadOnlyList<AttributeError> WrongAttributes,
    double Score,
    string Text)
{
    /// <summary>
    /// Why the Checker could not read the image, when it could not (a model's reply that did not parse), with the reply
    /// kept as it came; the reflection then detects nothing. Null for a reflection that was read.
    /// </summary>
    public ReplyFailure? Failure { get; init; }

    /// <summary>Nothing to fix: every object found with the right attributes, every relation holding, nothing extra.</summary>
    public bool IsSatisfied => Failure is null && Violated.Count == 0 && Unplaceable.Count == 0 && Missing.Count == 0 && Extra.Count == 0 && WrongAttributes.Count == 0;

    /// <summary>The detected object matched to a target object, or null.</summary>
    public SceneItem? DetectedFor(int targetId) =>
        Matches.FirstOrDefault(m => m.TargetId == targetId)?.DetectedId is { } id ? Detected.Item(id) : null;

    /// <summary>
    /// Compares what was detected (items with boxes) with the target. A target object may only match a detection of the
    /// same shape; among such assignments the one with the fewest attribute errors wins, then the one under which the
    /// most target relations hold, so repeated labels are resolved by the optimal assignment, not by order.
    /// </summary>
    /// <exception cref="ArgumentException">A detected item has no box.</exception>
    public static Reflection Compare(SceneGraph target, IReadOnlyList<SceneItem> detectedItems)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(detectedItems);
        var detected = SpatialRelationExtractor.FromBoxes(detectedItems);
        var assignment = ObjectAssignment.Best(target, detected.Items);
        var matches = target.Items.Select(t => new ObjectMatch(t.Id, assignment.GetValueOrDefault(t.Id)?.Id)).ToList();
        var (satisfied, violated, unplaceable) = (new List<SceneRelation>(), new List<ViolatedRelation>(), new List<SceneRelation>());
        foreach (var r in target.Relations)
        {
            if (!assignment.TryGetValue(r.SubjectId, out var s) || !assignment.TryGetValue(r.ObjectId, out var o)) { unplaceable.Add(r); continue; }
            var holds = SpatialRelationExtractor.Between(s.Box!, o.Box!);
            if (holds.Contains(r.Predicate)) satisfied.Add(r);
            else violated.Add(new ViolatedRelation(r, holds));
        }
        var missing = target.Items.Where(t => !assignment.ContainsKey(t.Id)).Select(t => t.Id).ToList();
        var claimed = assignment.Values.Select(d => d.Id).ToHashSet();
        var extra = detected.Items.Where(d => !claimed.Contains(d.Id)).Select(d => d.Id).ToList();
        var wrong = new List<AttributeError>();
        foreach (var (targetId, found) in assignment.OrderBy(a => a.Key))
        {
            var want = target.Item(targetId);
            for (var a = 0; a < want.Attributes.Count; a++)
                if (a < found.Attributes.Count && want.Attributes[a] != found.Attributes[a])
                    wrong.Add(new AttributeError(targetId, found.Id, a == 0 ? "size" : "colour", want.Attributes[a], found.Attributes[a]));
        }
        var score = ReflectionScore.Compute(target, assignment, satisfied.Count, extra.Count);
        var reflection = new Reflection(target, detected, matches, satisfied, violated, unplaceable, missing, extra, wrong, score, "");
        return reflection with { Text = ReflectionText.Describe(reflection) };
    }

    /// <summary>
    /// The reflection on an image the Checker could not read (a model's reply that did not parse): nothing detected,
    /// score 0, never satisfied, and the failure with the reply as it came.
    /// </summary>
    public static Reflection Unread(SceneGraph target, ReplyFailure failure)
    {
        ArgumentNullException.ThrowIfNull(failure);
        var r = Compare(target, []);
        return r with { Failure = failure, Text = $"The Checker's reply could not be read ({failure.Reason}). " + r.Text };
    }
}

/// <summary>
/// The Checker's scalar reward in [0, 1]: (object credit + relations that hold) / (target objects + target relations +
/// extra objects). A found object earns 1, less a quarter for each wrong attribute (colour, size); a missing object 0.
/// Each extra object adds one to the denominator, so duplicates cost as much as a missing relation. The score is 1
/// exactly when the reflection is satisfied, and it rises with every fix an Actor can make, which GRPO's group-relative
/// advantages need.
/// </summary>
public static class ReflectionScore
{
    public static double Compute(SceneGraph target, IReadOnlyDictionary<int, SceneItem> assignment, int relationsHolding, int extraObjects) =>
        Compute(target, assignment.Values.Zip(assignment.Keys, (found, id) => AttributeErrors(target.Item(id), found)), relationsHolding, extraObjects);

    /// <summary>The same reward from the number of wrong attributes of each found object (a Checker that reads open-vocabulary attributes counts them itself).</summary>
    public static double Compute(SceneGraph target, IEnumerable<int> attributeErrorsPerFoundObject, int relationsHolding, int extraObjects)
    {
        var credit = attributeErrorsPerFoundObject.Sum(e => Math.Max(0, 1 - 0.25 * e));
        var total = target.Items.Count + target.Relations.Count + extraObjects;
        return total == 0 ? 1 : (credit + relationsHolding) / total;
    }

    internal static int AttributeErrors(SceneItem want, SceneItem found) =>
        want.Attributes.Where((a, i) => i >= found.Attributes.Count || found.Attributes[i] != a).Count();
}

/// <summary>The optimal assignment of target objects to detections (shape must agree), by exhaustive search: scenes hold at most a handful of objects.</summary>
static class ObjectAssignment
{
    public static Dictionary<int, SceneItem> Best(SceneGraph target, IReadOnlyList<SceneItem> detected)
    {
        var targets = target.Items;
        var best = new Dictionary<int, SceneItem>();
        (int Matched, int Errors, int Holding) bestKey = (-1, 0, 0);
        var current = new Dictionary<int, SceneItem>();
        var used = new bool[detected.Count];
        void Search(int i)
        {
            if (i == targets.Count)
            {
                var errors = current.Sum(a => ReflectionScore.AttributeErrors(target.Item(a.Key), a.Value));
                var holding = target.Relations.Count(r => current.TryGetValue(r.SubjectId, out var s) && current.TryGetValue(r.ObjectId, out var o)
                    && SpatialRelationExtractor.Between(s.Box!, o.Box!).Contains(r.Predicate));
                var key = (current.Count, errors, holding);
                if (key.Count > bestKey.Matched || (key.Count == bestKey.Matched && (errors < bestKey.Errors || (errors == bestKey.Errors && holding > bestKey.Holding))))
                    (best, bestKey) = (new Dictionary<int, SceneItem>(current), (key.Count, errors, holding));
                return;
            }
            var want = targets[i];
            for (var d = 0; d < detected.Count; d++)
            {
                if (used[d] || detected[d].Label != want.Label) continue;
                (used[d], current[want.Id]) = (true, detected[d]);
                Search(i + 1);
                used[d] = false;
                current.Remove(want.Id);
            }
            Search(i + 1);  // the target object may also be left unmatched
        }
        Search(0);
        return best;
    }
}

/// <summary>The reflection as sentences a person (or a language-model Actor) reads: errors first, then what is right.</summary>
static class ReflectionText
{
    public static string Describe(Reflection r)
    {
        var lines = new List<string>();
        string T(int id) => "the " + r.Target.Item(id).Text;
        string D(int id) => "the " + r.Detected.Item(id).Text;
        foreach (var id in r.Missing) lines.Add($"{Capital(T(id))} is missing.");
        foreach (var e in r.WrongAttributes) lines.Add($"{Capital(D(e.DetectedId))} should be {e.Expected}, not {e.Found}.");
        foreach (var v in r.Violated)
        {
            var holds = v.Holds.Where(p => p != SpatialRelationExtractor.Near).ToList();
            var instead = holds.Count == 0 ? "overlaps it" : "is " + string.Join(" and ", holds) + " it";
            lines.Add($"{Capital(ObjectName(r, v.Relation.SubjectId))} {instead}, but the prompt asks for {v.Relation.Predicate} {ObjectName(r, v.Relation.ObjectId)}.");
        }
        foreach (var u in r.Unplaceable)
            lines.Add($"{Capital(ObjectName(r, u.SubjectId))} should be {u.Predicate} {ObjectName(r, u.ObjectId)}, which cannot be checked while an object is missing.");
        foreach (var id in r.Extra) lines.Add($"There is an extra {r.Detected.Item(id).Text}.");
        foreach (var s in r.Satisfied) lines.Add($"{Capital(ObjectName(r, s.SubjectId))} is {s.Predicate} {ObjectName(r, s.ObjectId)}, as asked.");
        if (r.IsSatisfied) lines.Insert(0, "The image matches the prompt.");
        return string.Join(" ", lines);
    }

    // A found object is named as it was seen (its colour may be wrong); the target's words otherwise.
    static string ObjectName(Reflection r, int targetId) => "the " + (r.DetectedFor(targetId)?.Text ?? r.Target.Item(targetId).Text);

    static string Capital(string s) => s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..];
}
