using RlRig.SceneGraphs;
using RlRig.World;

namespace RlRig.Loop.Actors;

/// <summary>
/// The baseline Actor: reads the reflection (the target, the detected objects with their boxes, the matches and the
/// errors) and writes one instruction of the edit language, as text that round-trips through the parser
/// (<see cref="ActorProposal.FromText"/>). It ignores the image: the reflection's boxes are all it needs.
/// <para>
/// Order of repair, one error per step, chosen so that the loop converges: (1) an extra object is removed first, which
/// frees room for what follows and takes a wrong anchor out of the way; (2) a missing object is added next to a present
/// one, because until it exists none of its relations can be checked; (3) a wrong colour, then (4) a wrong size, are
/// fixed before any move, since a resize changes the box that the moves are computed with (and every later instruction
/// then names the object as it will stay); (5) violated relations last: the object moved is placed so that all of its
/// target relations hold at once (robustly), so each move strictly lowers the number of violated relations and never
/// undoes an earlier one.
/// </para>
/// </summary>
public sealed class RuleBasedActor : IActor
{
    readonly WorldOptions world;

    public RuleBasedActor(WorldOptions world)
    {
        ArgumentNullException.ThrowIfNull(world);
        this.world = world.Validate();
    }

    public Task<IReadOnlyList<ActorProposal>> ActAsync(IReadOnlyList<ActorState> states, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(states);
        var proposals = new List<ActorProposal>(states.Count);
        foreach (var state in states)
        {
            cancellationToken.ThrowIfCancellationRequested();
            proposals.Add(Act(state.Reflection));
        }
        return Task.FromResult<IReadOnlyList<ActorProposal>>(proposals);
    }

    /// <summary>The instruction for one reflection, as a parsed proposal (its text is the instruction's <see cref="EditInstruction.ToText"/>).</summary>
    public ActorProposal Act(Reflection reflection) => ActorProposal.FromText(Instruct(reflection).ToText());

    /// <summary>
    /// The typed instruction for one reflection: "done" when it is satisfied, and also when nothing it can express would
    /// help (an image with no object at all offers no anchor for an add; a relation no placement can satisfy).
    /// </summary>
    public EditInstruction Instruct(Reflection reflection)
    {
        ArgumentNullException.ThrowIfNull(reflection);
        return Disambiguate(Choose(reflection), reflection);
    }

    EditInstruction Choose(Reflection reflection)
    {
        if (reflection.IsSatisfied) return new NoEdit();
        if (reflection.Extra.Count > 0) return new RemoveEdit(Ref(reflection.Detected.Item(reflection.Extra[0])));
        if (reflection.Missing.Count > 0 && Add(reflection) is { } add) return add;
        foreach (var attribute in new[] { "colour", "size" })
            if (reflection.WrongAttributes.FirstOrDefault(e => e.Attribute == attribute) is { } error)
            {
                var item = reflection.Detected.Item(error.DetectedId);
                return attribute == "colour" ? new RecolourEdit(Ref(item), error.Expected) : new ResizeEdit(Ref(item), error.Expected);
            }
        return Move(reflection) ?? new NoEdit();
    }

    // Every reference carries the object's centre; Disambiguate keeps it only where another object fits the same words.
    ObjectRef Ref(SceneItem item) => Reference(world, item);

    /// <summary>A reference to a detected item by its words and its centre (the centre to be dropped by <see cref="Disambiguate(EditInstruction, Reflection)"/> where the words suffice).</summary>
    internal static ObjectRef Reference(WorldOptions world, SceneItem item) => ObjectRef.Of(item) with { At = Placement.RoundedCentre(world, item.Box!) };

    /// <summary>
    /// The instruction with each reference's position dropped where its words alone name one object of the image, so
    /// instructions read as a person writes them and name a place only to tell duplicates apart.
    /// </summary>
    internal static EditInstruction Disambiguate(EditInstruction instruction, Reflection reflection)
    {
        ObjectRef D(ObjectRef r) => Disambiguate(r, reflection);
        return instruction switch
        {
            MoveRelativeEdit m => m with { Object = D(m.Object), Anchor = D(m.Anchor) },
            MovePositionEdit m => m with { Object = D(m.Object) },
            RecolourEdit r => r with { Object = D(r.Object) },
            ResizeEdit r => r with { Object = D(r.Object) },
            RemoveEdit r => r with { Object = D(r.Object) },
            AddEdit a => a with { Anchor = D(a.Anchor) },
            _ => instruction,
        };
    }

    /// <summary>The reference with its position dropped where its words alone name one detected object.</summary>
    internal static ObjectRef Disambiguate(ObjectRef reference, Reflection reflection) =>
        reflection.Detected.Items.Count(reference.Matches) > 1 ? reference : reference with { At = null };

    /// <summary>The side an editor draws the object at: the world's side for its size word as detected (a detected box may be a pixel off).</summary>
    int SideOf(SceneItem item) => world.Side(item.Attributes[0] == WorldVocabulary.Large);

    /// <summary>
    /// Adds a missing object with a relation of the target to a present object. Among the missing objects, the first
    /// that has such a relation (so a chain of missing objects is built outward from what exists); among its relations,
    /// the one whose editor placement (<see cref="Placement.ForRelation"/>) satisfies most of its relations to present
    /// objects. When the editor could not place any of them (no room), the first of two steps: a present object moves
    /// to make room (<see cref="MakeRoom"/>). A missing object with no relation to anything present is added "near" the
    /// first detected object that has room beside it, and the next steps move it.
    /// </summary>
    EditInstruction? Add(Reflection r)
    {
        var detectedBoxes = r.Detected.Items.Select(i => i.Box!).ToList();
        var anyRelation = false;
        foreach (var missingId in r.Missing)
        {
            var obj = WorldObject.From(r.Target.Item(missingId));
            var side = world.Side(obj.IsLarge);
            var constraints = RelationsToFound(r, missingId).ToList();
            AddEdit? best = null;
            var bestHolding = 0;
            foreach (var (predicate, anchor) in constraints.Select(c => (c.Constraint.Predicate, c.Item)))
            {
                anyRelation = true;
                if (Placement.ForRelation(world, side, null, detectedBoxes, predicate, anchor.Box!) is not { } box) continue;
                var holding = constraints.Count(c => c.Constraint.HoldsRobustly(box));
                if (best is null || holding > bestHolding) (best, bestHolding) = (new AddEdit(obj, predicate, Ref(anchor)), holding);
            }
            if (best is not null) return best;
        }
        if (anyRelation) return MakeRoom(r);
        var missing = WorldObject.From(r.Target.Item(r.Missing[0]));
        var near = Metrics.SpatialRelationExtractor.Near;
        var roomy = r.Detected.Items.FirstOrDefault(i => Placement.ForRelation(world, world.Side(missing.IsLarge), null, detectedBoxes, near, i.Box!) is not null);
        return roomy is null ? null : new AddEdit(missing, near, Ref(roomy));
    }

    /// <summary>
    /// The first of two steps when a missing object cannot be placed by any of its relations for lack of room: moves one
    /// present object (the anchor first, then the others) to the nearest place where its own relations with found
    /// objects still hold and after which the editor can place the missing object by that relation. Position form.
    /// </summary>
    EditInstruction? MakeRoom(Reflection r)
    {
        foreach (var missingId in r.Missing)
        {
            var side = world.Side(WorldObject.From(r.Target.Item(missingId)).IsLarge);
            foreach (var (constraint, anchor) in RelationsToFound(r, missingId))
                foreach (var mover in r.Detected.Items.OrderBy(i => i.Id == anchor.Id ? 0 : 1))
                {
                    var moverTarget = r.Matches.FirstOrDefault(m => m.DetectedId == mover.Id)?.TargetId;
                    var keep = moverTarget is { } t ? RelationsToFound(r, t).Select(c => c.Constraint).ToList() : [];
                    var places = Placement.Candidates(world, SideOf(mover), mover.Box, OthersThan(r, mover), keep, representable: true);
                    foreach (var box in places.Take(TwoMoveLookahead))
                    {
                        var boxes = r.Detected.Items.Select(i => i.Id == mover.Id ? box : i.Box!).ToList();
                        var anchorBox = anchor.Id == mover.Id ? box : anchor.Box!;
                        if (Placement.ForRelation(world, side, null, boxes, constraint.Predicate, anchorBox) is null) continue;
                        var (x, y) = Placement.RoundedCentre(world, box);
                        return new MovePositionEdit(Ref(mover), x, y);
                    }
                }
        }
        return null;
    }

    /// <summary>The target's relations of <paramref name="targetId"/> whose other end was found, as constraints on its box, with the detected other object.</summary>
    internal static IEnumerable<(PlacementConstraint Constraint, SceneItem Item)> RelationsToFound(Reflection r, int targetId)
    {
        foreach (var rel in r.Target.Relations)
        {
            if (rel.SubjectId == rel.ObjectId) continue;
            if (rel.SubjectId == targetId && r.DetectedFor(rel.ObjectId) is { } o)
                yield return (new PlacementConstraint(rel.Predicate, o.Box!), o);
            else if (rel.ObjectId == targetId && r.DetectedFor(rel.SubjectId) is { } s)
                yield return (new PlacementConstraint(Placement.Converse(rel.Predicate), s.Box!), s);
        }
    }

    /// <summary>
    /// Fixes violated relations by one move. Every object in a violated relation is a candidate; each is placed where all
    /// of its target relations with found objects hold robustly (against the others' current boxes). The candidate that
    /// fixes the most violated relations wins, then the one that moves least. The relation form is written when the
    /// editor's own placement for it already satisfies all those relations, the position form otherwise. When no
    /// candidate can satisfy all its relations, the first of two moves (<see cref="TwoMoves"/>); failing that, the best
    /// partial fix: the relation form of the first violated relation the editor can place (null when there is none).
    /// </summary>
    EditInstruction? Move(Reflection r)
    {
        var candidates = r.Violated.SelectMany(v => new[] { v.Relation.SubjectId, v.Relation.ObjectId }).Distinct().ToList();
        (int TargetId, Box Box, int Fixes, double Distance)? best = null;
        foreach (var targetId in candidates)
        {
            var mover = r.DetectedFor(targetId);
            if (mover?.Box is null) continue;
            var box = Placement.Find(world, SideOf(mover), mover.Box, OthersThan(r, mover), [.. RelationsToFound(r, targetId).Select(c => c.Constraint)], representable: true);
            if (box is null) continue;
            var fixes = r.Violated.Count(v => v.Relation.SubjectId == targetId || v.Relation.ObjectId == targetId);
            double dx = box.CenterX - mover.Box.CenterX, dy = box.CenterY - mover.Box.CenterY, distance = dx * dx + dy * dy;
            if (best is null || fixes > best.Value.Fixes || (fixes == best.Value.Fixes && distance < best.Value.Distance))
                best = (targetId, box, fixes, distance);
        }
        if (best is { } chosen)
        {
            var mover = r.DetectedFor(chosen.TargetId)!;
            var related = RelationsToFound(r, chosen.TargetId).ToList();
            var constraints = related.Select(c => c.Constraint).ToList();
            // The relation form names one violated relation of the mover; the editor places it by that relation alone.
            foreach (var v in r.Violated.Where(v => v.Relation.SubjectId == chosen.TargetId || v.Relation.ObjectId == chosen.TargetId))
            {
                var (predicate, anchor) = RelationFromMover(r, v.Relation, chosen.TargetId);
                var editorBox = Placement.ForRelation(world, SideOf(mover), mover.Box, OthersThan(r, mover), predicate, anchor.Box!);
                if (editorBox is not null && Placement.Satisfies(editorBox, constraints))
                    return new MoveRelativeEdit(Ref(mover), predicate, Ref(anchor));
            }
            var (x, y) = Placement.RoundedCentre(world, chosen.Box);
            return new MovePositionEdit(Ref(mover), x, y);
        }
        if (TwoMoves(r) is { } firstOfTwo) return firstOfTwo;
        foreach (var v in r.Violated)
        {
            var mover = r.DetectedFor(v.Relation.SubjectId)!;
            var (predicate, anchor) = RelationFromMover(r, v.Relation, v.Relation.SubjectId);
            if (Placement.ForRelation(world, SideOf(mover), mover.Box, OthersThan(r, mover), predicate, anchor.Box!) is not null)
                return new MoveRelativeEdit(Ref(mover), predicate, Ref(anchor));
        }
        return null;
    }

    /// <summary>How many places of the first object <see cref="TwoMoves"/> tries, nearest first.</summary>
    const int TwoMoveLookahead = 200;

    /// <summary>
    /// When no single move can satisfy all of a mover's relations (the two ends of a violated relation block each
    /// other: "A left of B" with B against the left edge), the first of two moves: one end goes to the nearest place where
    /// its relations with everything but the other end hold and from which the other end can then be placed with all of
    /// its relations. Written in the position form, as no relation names that place. Null when no such pair exists.
    /// </summary>
    EditInstruction? TwoMoves(Reflection r)
    {
        foreach (var v in r.Violated)
            foreach (var (firstId, secondId) in new[] { (v.Relation.SubjectId, v.Relation.ObjectId), (v.Relation.ObjectId, v.Relation.SubjectId) })
            {
                var (first, second) = (r.DetectedFor(firstId)!, r.DetectedFor(secondId)!);
                var firstConstraints = RelationsToFound(r, firstId).Where(c => c.Item.Id != second.Id).Select(c => c.Constraint).ToList();
                var places = Placement.Candidates(world, SideOf(first), first.Box, OthersThan(r, first), firstConstraints, representable: true);
                foreach (var box in places.Take(TwoMoveLookahead))
                {
                    var secondConstraints = RelationsToFound(r, secondId)
                        .Select(c => c.Item.Id == first.Id ? c.Constraint with { Other = box } : c.Constraint).ToList();
                    var others = r.Detected.Items.Where(i => i.Id != second.Id).Select(i => i.Id == first.Id ? box : i.Box!).ToList();
                    if (Placement.Find(world, SideOf(second), second.Box, others, secondConstraints) is null) continue;
                    var (x, y) = Placement.RoundedCentre(world, box);
                    return new MovePositionEdit(Ref(first), x, y);
                }
            }
        return null;
    }

    static List<Box> OthersThan(Reflection r, SceneItem mover) => [.. r.Detected.Items.Where(i => i.Id != mover.Id).Select(i => i.Box!)];

    static (string Predicate, SceneItem Anchor) RelationFromMover(Reflection r, SceneRelation relation, int moverTargetId) =>
        relation.SubjectId == moverTargetId
            ? (relation.Predicate, r.DetectedFor(relation.ObjectId)!)
            : (Placement.Converse(relation.Predicate), r.DetectedFor(relation.SubjectId)!);
}
