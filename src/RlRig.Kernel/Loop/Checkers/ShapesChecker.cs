using System.Text.Json;
using System.Text.Json.Nodes;
using RlRig.IO;
using RlRig.SceneGraphs;
using RlRig.World;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using TorchSharp;
using static TorchSharp.torch;

namespace RlRig.Loop.Checkers;

/// <summary>A Checker checkpoint cannot be read or does not fit; the message names the file and what is wrong.</summary>
public sealed class CheckerCheckpointException(string message, Exception? inner = null) : CheckpointException(message, inner);

/// <summary>
/// The shapes world's Checker: a learned model (<see cref="CheckerNet"/>, trained by <see cref="CheckerTrainer"/> on
/// the world's ground truth) that labels every pixel with a colour and shape, then reads objects off the labels: 4-connected
/// components of one colour (smaller than <see cref="MinAreaFraction"/> of a small triangle are noise), shape by the
/// component's summed probabilities, box from the component, size from the box side against the world's small and
/// large sides. <see cref="ReflectAsync"/> compares them with the target (<see cref="Reflection.Compare"/>: relations by
/// the world's geometric rule, optimal assignment when labels repeat). It never calls the judge.
/// </summary>
public sealed class ShapesChecker : IChecker, IDisposable
{
    internal const string InferenceMagic = "RLRIGCK2";

    /// <summary>Wraps a model (which this checker then owns and disposes).</summary>
    public ShapesChecker(CheckerNet model, WorldOptions? world = null)
    {
        Model = model ?? throw new ArgumentNullException(nameof(model));
        World = (world ?? new WorldOptions { CanvasSize = model.Config.ImageSize }).Validate();
        if (World.CanvasSize != model.Config.ImageSize)
            throw new ArgumentException($"the model reads {model.Config.ImageSize} px images, the world's canvas is {World.CanvasSize} px", nameof(world));
        Model.eval();
    }

    public CheckerNet Model { get; }
    public WorldOptions World { get; }
    /// <summary>The file it was loaded from, or null.</summary>
    public string? Path { get; private init; }
    /// <summary>Training steps behind the weights (0 when not loaded from a file).</summary>
    public int Step { get; private init; }

    /// <summary>Smallest object, as a fraction of a small triangle's area (the judge's noise floor, 0.35). Defaults to 0.35.</summary>
    public double MinAreaFraction { get; init; } = 0.35;

    /// <summary>The committed checkpoint, relative to the repository root.</summary>
    public const string RelativePath = "data/shapes-world/checker/checker.ckpt";

    /// <inheritdoc />
    public Task<IReadOnlyList<Reflection>> ReflectAsync(IReadOnlyList<Image<Rgb24>> images, IReadOnlyList<SceneGraph> targets, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(targets);
        if (images.Count != targets.Count) throw new ArgumentException($"{images.Count} images but {targets.Count} targets; give one target per image", nameof(targets));
        cancellationToken.ThrowIfCancellationRequested();
        var detected = Detect(images);
        IReadOnlyList<Reflection> reflections = targets.Select((t, i) => Reflection.Compare(t, detected[i])).ToList();
        return Task.FromResult(reflections);
    }

    /// <summary>The objects (with boxes) in each image, in one forward pass; items ordered top to bottom, then left to right.</summary>
    public IReadOnlyList<IReadOnlyList<SceneItem>> Detect(IReadOnlyList<Image<Rgb24>> images)
    {
        ArgumentNullException.ThrowIfNull(images);
        foreach (var image in images)
            if (image.Width != World.CanvasSize || image.Height != World.CanvasSize)
                throw new ArgumentException($"the Checker reads {World.CanvasSize}x{World.CanvasSize} images; got {image.Width}x{image.Height}", nameof(images));
        return Detect(images.Select(ShapeRenderer.ToHwc).ToList());
    }

    /// <summary>As <see cref="Detect(IReadOnlyList{Image{Rgb24}})"/>, for HWC buffers in [0, 1] (<see cref="ShapeRenderer.RenderHwc"/>).</summary>
    public IReadOnlyList<IReadOnlyList<SceneItem>> Detect(IReadOnlyList<float[]> hwcImages)
    {
        ArgumentNullException.ThrowIfNull(hwcImages);
        if (hwcImages.Count == 0) return [];
        var size = World.CanvasSize;
        var pixels = new float[hwcImages.Count * size * size * 3];
        for (var i = 0; i < hwcImages.Count; i++)
        {
            if (hwcImages[i].Length != size * size * 3) throw new ArgumentException($"image {i}: expected {size}x{size}x3 values, got {hwcImages[i].Length}", nameof(hwcImages));
            hwcImages[i].CopyTo(pixels, i * size * size * 3);
        }
        float[] probabilities;
        using (NewDisposeScope())
        using (no_grad())
        {
            var x = tensor(pixels, [hwcImages.Count, size, size, 3]).permute(0, 3, 1, 2).contiguous();  // (N, 3, S, S)
            var p = Model.call(x).softmax(1).permute(0, 2, 3, 1).contiguous();                              // (N, S, S, classes)
            probabilities = p.data<float>().ToArray();
        }
        var perImage = size * size * CheckerConfig.Classes;
        return Enumerable.Range(0, hwcImages.Count)
            .Select(i => (IReadOnlyList<SceneItem>)ReadObjects(probabilities.AsSpan(i * perImage, perImage), size)).ToList();
    }

    // Colour of each pixel (background or a palette colour, by summing the class probabilities over shapes), 4-connected
    // same-colour components, then each component's shape by its summed probabilities.
    List<SceneItem> ReadObjects(ReadOnlySpan<float> p, int size)
    {
        var (colours, shapes) = (WorldVocabulary.Colours.Count, WorldVocabulary.Shapes.Count);
        var k = CheckerConfig.Classes;
        var colour = new int[size * size];
        for (var i = 0; i < colour.Length; i++)
        {
            var (best, bestP) = (-1, p[i * k]);
            for (var c = 0; c < colours; c++)
            {
                float sum = 0;
                for (var s = 0; s < shapes; s++) sum += p[i * k + CheckerLabels.Of(c, (Shape)s)];
                if (sum > bestP) (best, bestP) = (c, sum);
            }
            colour[i] = best;
        }
        var minArea = MinAreaFraction * 0.5 * World.SmallSide * World.SmallSide;
        var found = new List<(WorldObject Object, Box Box)>();
        var seen = new bool[colour.Length];
        var stack = new Stack<int>();
        var component = new List<int>();
        for (var start = 0; start < colour.Length; start++)
        {
            if (colour[start] < 0 || seen[start]) continue;
            var c = colour[start];
            component.Clear();
            seen[start] = true;
            stack.Push(start);
            while (stack.Count > 0)
            {
                var i = stack.Pop();
                component.Add(i);
                var (x, y) = (i % size, i / size);
                foreach (var (nx, ny) in new[] { (x + 1, y), (x - 1, y), (x, y + 1), (x, y - 1) })
                {
                    if (nx < 0 || ny < 0 || nx >= size || ny >= size) continue;
                    var j = ny * size + nx;
                    if (!seen[j] && colour[j] == c) { seen[j] = true; stack.Push(j); }
                }
            }
            if (component.Count < minArea) continue;
            var votes = new double[shapes];
            foreach (var i in component)
                for (var s = 0; s < shapes; s++) votes[s] += p[i * k + CheckerLabels.Of(c, (Shape)s)];
            var shape = (Shape)Array.IndexOf(votes, votes.Max());
            var box = Box.FromCorners(component.Min(i => i % size), component.Min(i => i / size), component.Max(i => i % size) + 1, component.Max(i => i / size) + 1);
            var large = Math.Max(box.Width, box.Height) >= (World.SmallSide + World.LargeSide) / 2.0;
            found.Add((new WorldObject(shape, WorldVocabulary.Colours[c], large), box));
        }
        return found.OrderBy(f => f.Box.Y).ThenBy(f => f.Box.X).Select((f, id) => f.Object.ToItem(id, f.Box)).ToList();
    }

    public void Dispose() => Model.Dispose();

    // ---- Checkpoints (the project's format, CheckpointFile) ----

    static CheckerCheckpointException Error(string message, Exception? inner) => new(message, inner);

    /// <summary>Writes <paramref name="model"/>'s weights (float16) as a Checker checkpoint, atomically, with its manifest beside it.</summary>
    public static void Save(string path, CheckerNet model, int step, CheckerTrainerOptions? options = null)
    {
        var header = new JsonObject
        {
            ["format"] = "rlrig-checker-inference",
            ["step"] = step,
            ["parameters"] = model.ParameterCount,
            ["weights_dtype"] = "float16",
            ["config"] = JsonNode.Parse(model.Config.ToJson()),
        };
        CheckpointFile.Write(path, InferenceMagic, header, payload => CheckpointFile.WriteHalfWeights(model, payload));
        CheckpointFile.WriteManifest(path, step, model.ParameterCount, "stored as float16, computed in float32",
            JsonNode.Parse(model.Config.ToJson())!, options is null ? null : JsonNode.Parse(options.ToJson()));
    }

    /// <summary>The manifest written beside a checkpoint.</summary>
    public static string ManifestPath(string checkpointPath) => checkpointPath + ".manifest.json";

    /// <summary>Reads a Checker checkpoint (its integrity checked by length and SHA-256). The caller disposes the result.</summary>
    /// <exception cref="CheckerCheckpointException">Missing, truncated, damaged, or not a Checker checkpoint; the one-line message says which.</exception>
    public static ShapesChecker Load(string path, WorldOptions? world = null)
    {
        var (header, payload) = CheckpointFile.Read(path, InferenceMagic, "a Checker checkpoint", Error);
        CheckpointFile.RequireManifestAgrees(path, ManifestPath(path), Error);
        var config = ConfigFrom(path, header);
        var model = new CheckerNet(config);
        try
        {
            using var reader = new BinaryReader(new MemoryStream(payload));
            model.half();
            CheckpointFile.LoadWeights(path, model, reader, "weights", Error);
            model.to(ScalarType.Float32);
            return new ShapesChecker(model, world) { Path = System.IO.Path.GetFullPath(path), Step = header["step"]?.GetValue<int>() ?? 0 };
        }
        catch { model.Dispose(); throw; }
    }

    internal static CheckerConfig ConfigFrom(string path, JsonObject header)
    {
        try { return CheckerConfig.FromJson(header["config"]!.ToJsonString()).Validate(); }
        catch (Exception e) when (e is JsonException or ArgumentException or NullReferenceException or InvalidOperationException)
        {
            throw new CheckerCheckpointException($"checkpoint {path} has an unreadable configuration: {e.Message}", e);
        }
    }
}
