using RlRig.Metrics;
using RlRig.SceneGraphs;

namespace RlRig.World;

/// <summary>A scene graph no layout can satisfy; the message names the relations that contradict each other.</summary>
public sealed class InconsistentSceneException(string message) : ArgumentException(message);

/// <summary>
/// Checks that a graph's spatial relations can all hold at once. "A left of B" orders A before B on the x axis, "above"
/// on the y axis; a cycle in either order (A left of B and B left of A, or A left of B, B left of C, C left of A) is a
/// contradiction. "near" constrains no order. Relations of an item to itself are contradictions too.
/// </summary>
public static class SceneConsistency
{
    /// <exception cref="InconsistentSceneException">The graph contradicts itself or uses a predicate the world does not know.</exception>
    public static void Check(SceneGraph graph)
    {
        var horizontal = new List<(int From, int To, SceneRelation Source)>();
        var vertical = new List<(int From, int To, SceneRelation Source)>();
        foreach (var r in graph.Relations)
        {
            if (r.SubjectId == r.ObjectId)
                throw new InconsistentSceneException($"\"{Describe(graph, r)}\" relates an item to itself");
            switch (r.Predicate)
            {
                case GenEvalPosition.LeftOf: horizontal.Add((r.SubjectId, r.ObjectId, r)); break;
                case GenEvalPosition.RightOf: horizontal.Add((r.ObjectId, r.SubjectId, r)); break;
                case GenEvalPosition.Above: vertical.Add((r.SubjectId, r.ObjectId, r)); break;
                case GenEvalPosition.Below: vertical.Add((r.ObjectId, r.SubjectId, r)); break;
                case SpatialRelationExtractor.Near: break;
                default:
                    throw new InconsistentSceneException($"\"{Describe(graph, r)}\": '{r.Predicate}' is not a relation of the shapes world ({string.Join(", ", WorldVocabulary.Predicates)})");
            }
        }
        foreach (var (edges, axis) in new[] { (horizontal, "left to right"), (vertical, "top to bottom") })
            if (FindCycle(edges) is { } cycle)
                throw new InconsistentSceneException(
                    $"contradictory relations: {string.Join("; ", cycle.Select(r => Describe(graph, r)))} cannot all hold (no {axis} order satisfies them)");
    }

    static string Describe(SceneGraph graph, SceneRelation r) => $"{graph.Item(r.SubjectId).Text} {r.Predicate} {graph.Item(r.ObjectId).Text}";

    // Depth-first search for a directed cycle; returns the relations along it.
    static List<SceneRelation>? FindCycle(List<(int From, int To, SceneRelation Source)> edges)
    {
        var state = new Dictionary<int, int>(); // 1 = on the current path, 2 = finished
        var path = new List<(int Node, SceneRelation? Via)>();
        List<SceneRelation>? Visit(int node, SceneRelation? via)
        {
            state[node] = 1;
            path.Add((node, via));
            foreach (var e in edges.Where(e => e.From == node))
            {
                if (state.GetValueOrDefault(e.To) == 1)
                {
                    var start = path.FindIndex(p => p.Node == e.To);
                    return [.. path.Skip(start + 1).Select(p => p.Via!), e.Source];
                }
                if (state.GetValueOrDefault(e.To) == 0 && Visit(e.To, e.Source) is { } found) return found;
            }
            state[node] = 2;
            path.RemoveAt(path.Count - 1);
            return null;
        }
        foreach (var node in edges.Select(e => e.From).Distinct())
            if (state.GetValueOrDefault(node) == 0 && Visit(node, null) is { } cycle) return cycle;
        return null;
    }
}
