using RlRig.Metrics;
using RlRig.SceneGraphs;

namespace RlRig.World;

/// <summary>How well an image (as the judge read it) matches its prompt.</summary>
/// <param name="Objects">Objects the prompt names.</param>
/// <param name="ObjectsCorrect">Prompt objects found with the right shape and colour.</param>
/// <param name="SizesCorrect">Of those, found with the right size too.</param>
/// <param name="Relations">Relations the prompt states.</param>
/// <param name="RelationsCorrect">Relations that hold between the found objects' boxes.</param>
/// <param name="ExtraObjects">Objects in the image that the prompt does not name.</param>
/// <param name="RelationsWithObjects">Relations whose two objects were both found: the ones placement could get right.</param>
public sealed record PromptScore(int Objects, int ObjectsCorrect, int SizesCorrect, int Relations, int RelationsCorrect, int ExtraObjects, int RelationsWithObjects)
{
    public double ObjectAccuracy => Objects == 0 ? 1 : ObjectsCorrect / (double)Objects;

    public double RelationAccuracy => Relations == 0 ? 1 : RelationsCorrect / (double)Relations;

    /// <summary>Every object right (shape, colour, size), every relation holding, nothing extra.</summary>
    public bool IsPerfect => ObjectsCorrect == Objects && SizesCorrect == Objects && RelationsCorrect == Relations && ExtraObjects == 0;

    /// <summary>
    /// Scores <paramref name="judged"/> (a graph with boxes) against <paramref name="prompt"/>. Each prompt object is
    /// matched to a distinct judged object of the same shape and colour, preferring one of the same size too.
    /// </summary>
    public static PromptScore Score(SceneGraph prompt, SceneGraph judged)
    {
        var available = judged.Items.ToList();
        var match = new Dictionary<int, SceneItem>();
        foreach (var exact in new[] { true, false })
            foreach (var item in prompt.Items.Where(i => !match.ContainsKey(i.Id)))
            {
                var found = available.FirstOrDefault(j => j.Label == item.Label && j.Attributes[^1] == item.Attributes[^1]
                    && (!exact || j.Attributes.SequenceEqual(item.Attributes)));
                if (found is null) continue;
                match[item.Id] = found;
                available.Remove(found);
            }
        var sizes = match.Count(m => m.Value.Attributes.SequenceEqual(prompt.Item(m.Key).Attributes));
        var placeable = prompt.Relations.Where(r => match.ContainsKey(r.SubjectId) && match.ContainsKey(r.ObjectId)).ToList();
        var relations = placeable.Count(r => SpatialRelationExtractor.Between(match[r.SubjectId].Box!, match[r.ObjectId].Box!).Contains(r.Predicate));
        return new PromptScore(prompt.Items.Count, match.Count, sizes, prompt.Relations.Count, relations, available.Count, placeable.Count);
    }
}
