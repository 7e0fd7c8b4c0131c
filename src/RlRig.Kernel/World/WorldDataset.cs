using System.Globalization;
using System.Text.Json;
using RlRig.IO;
using RlRig.LaionSg;
using RlRig.SceneGraphs;
using SixLabors.ImageSharp;

namespace RlRig.World;

/// <summary>Scenes as files: PNG renders, LAION-SG annotations and a box sidecar (LAION-SG has no field for boxes).</summary>
public static class WorldDataset
{
    /// <summary>The LAION-SG record of a scene; <c>caption_ori</c> is its RL-RIG prompt.</summary>
    public static LaionSgRecord ToRecord(string imgId, string imageName, SceneGraph scene) => new(
        imgId, imageName, scene.ToPromptText(), "0", "",
        scene.Items.Select(i => new LaionSgItem(i.Id, i.Label, i.Attributes)).ToList(),
        scene.Relations.Select((r, t) => new LaionSgRelation(t, r.SubjectId, r.Predicate, r.ObjectId)).ToList());

    /// <summary>Renders <paramref name="count"/> sampled scenes into <paramref name="folder"/>. Every file is written atomically.</summary>
    public static IReadOnlyList<LaionSgRecord> Generate(string folder, int count, int seed, WorldOptions options)
    {
        if (count < 1) throw new ArgumentOutOfRangeException(nameof(count), count, "--n must be at least 1");
        var sampler = new SceneSampler(options);
        var random = new Random(seed);
        Directory.CreateDirectory(Path.Combine(folder, "images"));
        var records = new List<LaionSgRecord>();
        var boxes = new Dictionary<string, IReadOnlyList<double[]>>();
        for (var i = 0; i < count; i++)
        {
            var scene = sampler.Sample(random);
            var id = i.ToString("D6", CultureInfo.InvariantCulture);
            var name = $"images/{id}.png";
            using (var image = ShapeRenderer.Render(scene, options))
                AtomicFile.Write(Path.Combine(folder, name), s => image.SaveAsPng(s));
            records.Add(ToRecord(id, name, scene));
            boxes[id] = scene.Items.Select(it => new[] { it.Box!.X, it.Box.Y, it.Box.Width, it.Box.Height }).ToList();
        }
        LaionSgWriter.Write(Path.Combine(folder, "annotations.json"), records);
        AtomicFile.WriteAllText(Path.Combine(folder, "boxes.json"), JsonSerializer.Serialize(boxes));
        return records;
    }
}
