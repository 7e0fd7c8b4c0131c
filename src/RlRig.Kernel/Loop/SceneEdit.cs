using RlRig.SceneGraphs;
using RlRig.World;

namespace RlRig.Loop;

/// <summary>
/// The exact effect of an instruction on a scene (items with boxes): the world's ground truth for an edit, placing as
/// <see cref="Placement"/> says (the relation form by <see cref="Placement.ForRelation"/>, the position form by
/// <see cref="Placement.BoxAt"/>); a resize keeps the centre, shifted inside. It makes the supervised data of the learned
/// Actor and editor and measures an Actor alone. It is never an image editor: images are edited by diffusion models.
/// </summary>
public static class SceneEdit
{
    /// <summary>The items after the instruction, or null when it names no object of the list or cannot be placed.</summary>
    public static List<SceneItem>? Apply(WorldOptions world, IReadOnlyList<SceneItem> items, EditInstruction instruction)
    {
        var list = items.ToList();
        // A position in the reference chooses among objects its words fit, as the image editor does.
        int Find(ObjectRef r) => r.At is { } at && list.Count(r.Matches) > 1
            ? list.Select((it, i) => (it, i)).Where(x => r.Matches(x.it))
                .OrderBy(x => Math.Pow(x.it.Box!.CenterX / world.CanvasSize - at.X, 2) + Math.Pow(x.it.Box!.CenterY / world.CanvasSize - at.Y, 2)).First().i
            : list.FindIndex(r.Matches);
        // The object is drawn at its size word's side, as an editor would (see Placement.Find's side).
        List<Box> Others(int i) => [.. list.Where((_, j) => j != i).Select(it => it.Box!)];
        switch (instruction)
        {
            case NoEdit: return list;
            case MoveRelativeEdit m:
            {
                int i = Find(m.Object), a = Find(m.Anchor);
                if (i < 0 || a < 0 || i == a) return null;
                var box = Placement.ForRelation(world, world.Side(list[i].Attributes[0] == WorldVocabulary.Large), list[i].Box, Others(i), m.Predicate, list[a].Box!);
                if (box is null) return null;
                list[i] = list[i] with { Box = box };
                return list;
            }
            case MovePositionEdit p:
            {
                var i = Find(p.Object);
                if (i < 0) return null;
                list[i] = list[i] with { Box = Placement.BoxAt(world, p.X, p.Y, world.Side(list[i].Attributes[0] == WorldVocabulary.Large)) };
                return list;
            }
            case RecolourEdit c:
            {
                var i = Find(c.Object);
                if (i < 0) return null;
                list[i] = list[i] with { Attributes = [list[i].Attributes[0], c.Colour] };
                return list;
            }
            case ResizeEdit s:
            {
                var i = Find(s.Object);
                if (i < 0) return null;
                var side = world.Side(s.Size == WorldVocabulary.Large);
                var (x, y) = Placement.Centre(world, list[i].Box!);
                list[i] = list[i] with { Attributes = [s.Size, list[i].Attributes[1]], Box = Placement.BoxAt(world, x, y, side) };
                return list;
            }
            case RemoveEdit d:
            {
                var i = Find(d.Object);
                if (i < 0) return null;
                list.RemoveAt(i);
                return list;
            }
            case AddEdit add:
            {
                var a = Find(add.Anchor);
                if (a < 0) return null;
                var box = Placement.ForRelation(world, world.Side(add.Object.IsLarge), null, [.. list.Select(it => it.Box!)], add.Predicate, list[a].Box!);
                if (box is null) return null;
                list.Add(add.Object.ToItem(list.Count == 0 ? 0 : list.Max(it => it.Id) + 1, box));
                return list;
            }
            default: return null;
        }
    }
}
