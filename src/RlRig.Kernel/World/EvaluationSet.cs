using RlRig.LaionSg;
using RlRig.Metrics;
using RlRig.SceneGraphs;

namespace RlRig.World;

/// <summary>
/// The fixed evaluation prompts of the shapes world (committed under data/shapes-world/), equal numbers with 1, 2 and 3
/// relations. They are never trained on: <see cref="Key"/> identifies a scene however its relations are phrased, and the
/// training data skips any scene whose key is in the set.
/// </summary>
public static class EvaluationSet
{
    /// <summary>The committed file, relative to the repository root.</summary>
    public const string RelativePath = "data/shapes-world/eval-prompts.json";

    /// <summary>Draws <paramref name="count"/> distinct scenes (a multiple of 3: a third each with 1, 2 and 3 relations).</summary>
    public static IReadOnlyList<SceneGraph> Create(int count, int seed, WorldOptions options)
    {
        if (count < 3 || count % 3 != 0) throw new ArgumentOutOfRangeException(nameof(count), count, "use a positive multiple of 3");
        var sampler = new SceneSampler(options);
        var random = new Random(seed);
        var keys = new HashSet<string>();
        var scenes = new List<SceneGraph>();
        while (scenes.Count < count)
        {
            var scene = sampler.Sample(random, relationCount: scenes.Count % 3 + 1);
            if (keys.Add(Key(scene))) scenes.Add(scene);
        }
        return scenes;
    }

    /// <summary>Writes the set as LAION-SG records (img_id "eval-0000", ...; the prompt is <c>caption_ori</c>).</summary>
    public static void Write(string path, IReadOnlyList<SceneGraph> scenes) =>
        LaionSgWriter.Write(path, scenes.Select((s, i) => WorldDataset.ToRecord($"eval-{i:D4}", "", s)), new LaionSgWriteOptions { Indented = true });

    /// <summary>Reads the set back as scene graphs (without boxes).</summary>
    public static IReadOnlyList<SceneGraph> Read(string path) =>
        LaionSgReader.ReadRecords(path, new LaionSgReadOptions { RejectDuplicateImgIds = true }).Select(r => r.ToSceneGraph()).ToList();

    /// <summary>
    /// A scene's identity: its objects and its relations with "right of" and "below" rewritten as "left of" and "above"
    /// from the other end, sorted. "A right of B" and "B left of A" get the same key.
    /// </summary>
    public static string Key(SceneGraph scene)
    {
        var relations = scene.Relations.Select(r =>
        {
            var (s, o) = (scene.Item(r.SubjectId).Text, scene.Item(r.ObjectId).Text);
            return r.Predicate switch
            {
                GenEvalPosition.RightOf => $"{o} left of {s}",
                GenEvalPosition.Below => $"{o} above {s}",
                SpatialRelationExtractor.Near => string.CompareOrdinal(s, o) <= 0 ? $"{s} near {o}" : $"{o} near {s}",
                _ => $"{s} {r.Predicate} {o}",
            };
        }).Order(StringComparer.Ordinal);
        return string.Join(" | ", scene.Items.Select(i => i.Text).Order(StringComparer.Ordinal)) + " || " + string.Join(" | ", relations);
    }

    /// <summary>
    /// The fraction of relations that hold when each prompt's objects are placed uniformly at random (non-overlapping,
    /// relations ignored): the relation accuracy of a model that draws the right objects in random places.
    /// </summary>
    public static double ChanceRelationAccuracy(IReadOnlyList<SceneGraph> prompts, WorldOptions options, int seed, int samplesPerPrompt = 20)
    {
        var random = new Random(seed);
        int holds = 0, total = 0;
        foreach (var prompt in prompts)
            for (var s = 0; s < samplesPerPrompt; s++)
            {
                var placed = SceneLayout.Place(new SceneGraph(prompt.Items, []), options, random);
                holds += prompt.Relations.Count(r => SpatialRelationExtractor.Between(placed.Item(r.SubjectId).Box!, placed.Item(r.ObjectId).Box!).Contains(r.Predicate));
                total += prompt.Relations.Count;
            }
        return holds / (double)total;
    }
}
