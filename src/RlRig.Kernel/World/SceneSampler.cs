using RlRig.SceneGraphs;

namespace RlRig.World;

/// <summary>
/// Draws random scenes: distinct objects, relations that form a spanning tree (so every object is named in a relation)
/// plus extra ones up to the relation count, then a layout that satisfies them all. Deterministic for a given seed.
/// </summary>
public sealed class SceneSampler(WorldOptions options)
{
    readonly WorldOptions options = options.Validate();

    public WorldOptions Options => options;

    /// <summary>A scene with a box on every item. <paramref name="relationCount"/> fixes the number of relations (1 to
    /// <see cref="WorldOptions.MaxRelations"/>); the object count follows from it. Null draws both.</summary>
    public SceneGraph Sample(Random random, int? relationCount = null)
    {
        if (relationCount is { } k && (k < 1 || k > options.MaxRelations))
            throw new ArgumentOutOfRangeException(nameof(relationCount), k, $"use 1 to {options.MaxRelations}");
        while (true)
        {
            var graph = SampleGraph(random, relationCount);
            try
            {
                return SceneLayout.Place(graph, options with { LayoutAttempts = Math.Min(options.LayoutAttempts, 500) }, random);
            }
            catch (Exception e) when (e is InconsistentSceneException or InvalidOperationException)
            {
                // A contradictory or hard-to-place draw is simply redrawn: the sampler's job is valid scenes.
            }
        }
    }

    SceneGraph SampleGraph(Random random, int? relationCount)
    {
        // Objects: n - 1 <= relations, so the relation count bounds the object count.
        var maxObjects = relationCount is { } k ? Math.Min(options.MaxObjects, k + 1) : options.MaxObjects;
        var minObjects = relationCount is { } k2 ? Math.Max(options.MinObjects, k2 == 1 ? 2 : 3) : options.MinObjects;
        var n = random.Next(minObjects, Math.Max(minObjects, maxObjects) + 1);
        var relations = relationCount ?? random.Next(n - 1, Math.Min(options.MaxRelations, n * (n - 1) / 2) + 1);
        relations = Math.Max(relations, n - 1);

        var objects = new List<WorldObject>();
        while (objects.Count < n)
        {
            var candidate = new WorldObject(WorldVocabulary.Shapes[random.Next(WorldVocabulary.Shapes.Count)],
                WorldVocabulary.Colours[random.Next(WorldVocabulary.Colours.Count)], random.Next(2) == 1);
            if (objects.All(o => o.Text != candidate.Text)) objects.Add(candidate);
        }

        var order = Enumerable.Range(0, n).OrderBy(_ => random.Next()).ToList();
        var pairs = new List<(int A, int B)>();
        for (var i = 1; i < n; i++) pairs.Add((order[i], order[random.Next(i)]));
        var unused = (from a in Enumerable.Range(0, n) from b in Enumerable.Range(a + 1, n - a - 1)
                      where !pairs.Any(p => (p.A == a && p.B == b) || (p.A == b && p.B == a)) select (a, b)).OrderBy(_ => random.Next()).ToList();
        pairs.AddRange(unused.Take(relations - pairs.Count));

        var predicates = options.SampledPredicates;
        var items = objects.Select((o, i) => o.ToItem(i)).ToList();
        var sceneRelations = pairs.Select(p => random.Next(2) == 0 ? p : (p.B, p.A))
            .Select(p => new SceneRelation(p.Item1, predicates[random.Next(predicates.Count)], p.Item2)).ToList();
        return new SceneGraph(items, sceneRelations);
    }
}
