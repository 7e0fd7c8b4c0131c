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

    /// <summary>
    /// Renders <paramref name="count"/> sampled scenes into <paramref name="folder"/>, which must be missing or empty.
    /// The dataset is built in a hidden folder beside it (<see cref="AtomicFile.TemporaryPath"/>) and renamed into place
    /// when complete, so an interrupted or failed run leaves no half-made dataset: cancelling deletes the hidden folder and
    /// throws <see cref="OperationCanceledException"/>; one left by a killed process is removed by the next run.
    /// </summary>
    /// <exception cref="IOException"><paramref name="folder"/> is a file, a link or a folder that is not empty, or the OS refused.</exception>
    public static IReadOnlyList<LaionSgRecord> Generate(string folder, int count, int seed, WorldOptions options, CancellationToken cancellationToken = default)
    {
        if (count < 1) throw new ArgumentOutOfRangeException(nameof(count), count, "--n must be at least 1");
        var target = Path.TrimEndingDirectorySeparator(Path.GetFullPath(folder));
        if (ProblemWithFolder(target) is { } problem) throw new IOException($"{folder}: {problem}");
        var parent = Path.GetDirectoryName(target)!;
        Directory.CreateDirectory(parent);
        AtomicFile.RemoveStaleTemporaries(parent);
        var staging = AtomicFile.TemporaryPath(target);
        try
        {
            var records = Render(staging, count, seed, options, cancellationToken);
            if (ProblemWithFolder(target) is { } late) throw new IOException($"{folder}: {late}");
            if (Directory.Exists(target)) Directory.Delete(target);
            Directory.Move(staging, target);
            return records;
        }
        catch
        {
            try { Directory.Delete(staging, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw;
        }
    }

    /// <summary>Null when <paramref name="folder"/> can receive a dataset (missing, or an empty folder), else why not.</summary>
    public static string? ProblemWithFolder(string folder) => FileKinds.Of(Path.TrimEndingDirectorySeparator(Path.GetFullPath(folder))) switch
    {
        FileKind.Missing => null,
        FileKind.Directory => Directory.EnumerateFileSystemEntries(folder).Any()
            ? "is a folder that is not empty; a dataset is written into a new or empty folder, so nothing in it is replaced" : null,
        FileKind.SymbolicLink => "is a symbolic link; a dataset is written into a new or empty folder",
        _ => "is a file, not a folder",
    };

    static IReadOnlyList<LaionSgRecord> Render(string folder, int count, int seed, WorldOptions options, CancellationToken cancellationToken)
    {
        var sampler = new SceneSampler(options);
        var random = new Random(seed);
        Directory.CreateDirectory(Path.Combine(folder, "images"));
        var records = new List<LaionSgRecord>();
        var boxes = new Dictionary<string, IReadOnlyList<double[]>>();
        for (var i = 0; i < count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
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
