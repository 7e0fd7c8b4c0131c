using RlRig.SceneGraphs;
using RlRig.World;

namespace RlRig.Loop;

// TEMPORARY: replaced by the actor branch's Placement on merge.
public static class Placement
{
    public static Box BoxAt(WorldOptions world, double cx, double cy, int side)
    {
        var size = world.CanvasSize;
        var x = Math.Clamp((int)Math.Round(cx * size - side / 2.0), 0, size - side);
        var y = Math.Clamp((int)Math.Round(cy * size - side / 2.0), 0, size - side);
        return new Box(x, y, side, side);
    }

    public static Box? ForRelation(WorldOptions world, Box? current, int side, string predicate, Box anchor, IReadOnlyList<Box> others)
    {
        var size = world.CanvasSize;
        Box? best = null;
        var bestDistance = double.MaxValue;
        var (cx, cy) = current is null ? anchor.Center : current.Center;
        for (var y = 0; y <= size - side; y++)
            for (var x = 0; x <= size - side; x++)
            {
                var box = new Box(x, y, side, side);
                if (!SceneLayout.HoldsRobustly(box, anchor, predicate) || box.Gap(anchor) < 1 || others.Any(o => box.Gap(o) < 1)) continue;
                var d = Math.Pow(box.CenterX - cx, 2) + Math.Pow(box.CenterY - cy, 2);
                if (d < bestDistance) (best, bestDistance) = (box, d);
            }
        return best;
    }
}
