using System.Globalization;
using RlRig.Metrics;
using RlRig.SceneGraphs;
using RlRig.World;

namespace RlRig.Loop;

/// <summary>
/// One spatial requirement on the box being placed: "<c>placed</c> <paramref name="Predicate"/> <paramref name="Other"/>"
/// when <paramref name="PlacedIsSubject"/> (the default), otherwise "<paramref name="Other"/> <paramref name="Predicate"/> <c>placed</c>".
/// </summary>
public sealed record PlacementConstraint(string Predicate, Box Other, bool PlacedIsSubject = true)
{
    /// <summary>Whether the requirement holds for <paramref name="placed"/> even with a box moved by a pixel (<see cref="SceneLayout.HoldsRobustly"/>).</summary>
    public bool HoldsRobustly(Box placed) =>
        PlacedIsSubject ? SceneLayout.HoldsRobustly(placed, Other, Predicate) : SceneLayout.HoldsRobustly(Other, placed, Predicate);
}

/// <summary>
/// The one place that decides where an object goes, shared by the rule-based Actor and the image editor (which turns
/// "move X left of Y" and "add a X left of Y" into a box), so that what the Actor predicts is what the editor does.
/// Boxes are square, of integer pixels, inside the canvas, at least <see cref="MinGap"/> pixel from every other object,
/// and every constraint holds robustly (<see cref="SceneLayout.HoldsRobustly"/>), so a 1-px error cannot flip it.
/// Exhaustive over the integer positions (at most 53 x 53 at 64 px), hence exact and deterministic.
/// </summary>
public static class Placement
{
    /// <summary>The least gap in pixels between the placed box and any other object, as <see cref="SceneLayout.Place"/> keeps.</summary>
    public const int MinGap = 1;

    /// <summary>
    /// The box of side <paramref name="side"/> nearest <paramref name="current"/> (least movement of its centre; the
    /// current box may be of another size, as a detection is) that is inside the canvas, at least <see cref="MinGap"/> from every box of <paramref name="others"/> and of
    /// the constraints, and for which every constraint holds robustly; null when none exists. With no current box (an
    /// object being added) the nearest to the first constraint's box (centre to centre), or to the canvas centre when
    /// there is no constraint. Ties go to the smaller y, then the smaller x.
    /// </summary>
    /// <param name="world">The canvas size.</param>
    /// <param name="side">The side of the placed (square) box in pixels: the world's side for the object's size word,
    /// <see cref="WorldOptions.Side"/>, which is what an editor draws (a detected box may be a pixel off).</param>
    /// <param name="current">Where the object is now, or null for an object being added.</param>
    /// <param name="others">The boxes that stay (every other object of the image; the moved object itself excluded).</param>
    /// <param name="constraints">The relations the placed box must satisfy.</param>
    /// <param name="representable">Also require that the box survives the position form of the edit language:
    /// <see cref="BoxAt"/> of <see cref="Centre"/> rounded to 2 decimals gives it back (always true up to a 100 px canvas).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="side"/> does not fit the canvas.</exception>
    public static Box? Find(WorldOptions world, int side, Box? current, IReadOnlyList<Box> others,
        IReadOnlyList<PlacementConstraint> constraints, bool representable = false) =>
        Candidates(world, side, current, others, constraints, representable).FirstOrDefault();

    /// <summary>
    /// Every box <see cref="Find"/> accepts, nearest first (the order <see cref="Find"/> ranks by: distance, then y, then x).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="side"/> does not fit the canvas.</exception>
    public static IReadOnlyList<Box> Candidates(WorldOptions world, int side, Box? current, IReadOnlyList<Box> others,
        IReadOnlyList<PlacementConstraint> constraints, bool representable = false)
    {
        ArgumentNullException.ThrowIfNull(world);
        ArgumentNullException.ThrowIfNull(others);
        ArgumentNullException.ThrowIfNull(constraints);
        var size = world.CanvasSize;
        if (side < 1 || side > size) throw new ArgumentOutOfRangeException(nameof(side), side, $"use 1 to the canvas size ({size})");
        var obstacles = others.Concat(constraints.Select(c => c.Other)).Distinct().ToList();
        var (targetX, targetY) = current is not null ? (current.CenterX - side / 2.0, current.CenterY - side / 2.0)
            : constraints.Count > 0 ? (constraints[0].Other.CenterX - side / 2.0, constraints[0].Other.CenterY - side / 2.0)
            : ((size - side) / 2.0, (size - side) / 2.0);
        var found = new List<(double Distance, Box Box)>();
        for (var y = 0; y <= size - side; y++)
            for (var x = 0; x <= size - side; x++)
            {
                var box = new Box(x, y, side, side);
                if (obstacles.Any(o => box.Gap(o) < MinGap)) continue;
                if (!constraints.All(c => c.HoldsRobustly(box))) continue;
                if (representable && !RoundTrips(world, box)) continue;
                double dx = x - targetX, dy = y - targetY;
                found.Add((dx * dx + dy * dy, box));
            }
        // A stable sort keeps equal distances in scan order: smaller y, then smaller x.
        return [.. found.OrderBy(f => f.Distance).Select(f => f.Box)];
    }

    /// <summary>
    /// The editor's placement for the relation form of an instruction ("move X left of Y", "add a X left of Y"): the box
    /// for which the one relation "placed <paramref name="predicate"/> <paramref name="anchor"/>" holds robustly, clear of
    /// every other object, nearest the current box (for an add, nearest the anchor). Null when none exists.
    /// </summary>
    /// <param name="others">Every other object's box (the anchor may be among them; the moved object must not be).</param>
    public static Box? ForRelation(WorldOptions world, int side, Box? current, IReadOnlyList<Box> others, string predicate, Box anchor) =>
        Find(world, side, current, others, [new PlacementConstraint(predicate, anchor)]);

    /// <summary>
    /// The position form's meaning: the integer-pixel box of side <paramref name="side"/> whose centre is nearest
    /// (<paramref name="x"/>, <paramref name="y"/>) as fractions of the canvas, shifted inside the canvas. Rounds halves
    /// away from zero.
    /// </summary>
    public static Box BoxAt(WorldOptions world, double x, double y, int side)
    {
        ArgumentNullException.ThrowIfNull(world);
        var size = world.CanvasSize;
        if (side < 1 || side > size) throw new ArgumentOutOfRangeException(nameof(side), side, $"use 1 to the canvas size ({size})");
        if (!double.IsFinite(x) || !double.IsFinite(y)) throw new ArgumentOutOfRangeException(nameof(x), $"({x}, {y}) is not a finite position");
        int Corner(double fraction) => Math.Clamp((int)Math.Round(fraction * size - side / 2.0, MidpointRounding.AwayFromZero), 0, size - side);
        return new Box(Corner(x), Corner(y), side, side);
    }

    /// <summary>A box's centre as fractions of the canvas (exact, not rounded): the inverse of <see cref="BoxAt"/>.</summary>
    public static (double X, double Y) Centre(WorldOptions world, Box box)
    {
        ArgumentNullException.ThrowIfNull(world);
        ArgumentNullException.ThrowIfNull(box);
        return (box.CenterX / world.CanvasSize, box.CenterY / world.CanvasSize);
    }

    /// <summary>The centre as the edit language writes it: fractions rounded to 2 decimals (see <see cref="MovePositionEdit"/>).</summary>
    public static (double X, double Y) RoundedCentre(WorldOptions world, Box box)
    {
        var (x, y) = Centre(world, box);
        return (Round2(x), Round2(y));
    }

    /// <summary>Whether the position form (centre rounded to 2 decimals, then <see cref="BoxAt"/>) gives <paramref name="box"/> back.</summary>
    public static bool RoundTrips(WorldOptions world, Box box)
    {
        var (x, y) = RoundedCentre(world, box);
        return BoxAt(world, x, y, (int)box.Width) == box;
    }

    // Rounds as the text does: through the same "0.00" formatting that MovePositionEdit.ToText uses.
    static double Round2(double v) => double.Parse(v.ToString("0.00", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);

    /// <summary>Whether every relation holds robustly for <paramref name="placed"/>.</summary>
    public static bool Satisfies(Box placed, IReadOnlyList<PlacementConstraint> constraints) => constraints.All(c => c.HoldsRobustly(placed));

    /// <summary>The predicate read from the other end: "A left of B" is "B right of A"; "near" is symmetric.</summary>
    public static string Converse(string predicate) => predicate switch
    {
        GenEvalPosition.LeftOf => GenEvalPosition.RightOf,
        GenEvalPosition.RightOf => GenEvalPosition.LeftOf,
        GenEvalPosition.Above => GenEvalPosition.Below,
        GenEvalPosition.Below => GenEvalPosition.Above,
        SpatialRelationExtractor.Near => SpatialRelationExtractor.Near,
        _ => throw new ArgumentException($"'{predicate}' is not a relation of the shapes world ({string.Join(", ", WorldVocabulary.Predicates)})", nameof(predicate)),
    };
}
