using System.Text.Json;
using RlRig.Diffusion;
using RlRig.World;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace RlRig.Loop.Checkers;

/// <summary>The Checker network's architecture. Immutable; stored in every checkpoint.</summary>
public sealed record CheckerConfig
{
    /// <summary>Side of the square images it reads. Defaults to 32 (the shapes world's canvas).</summary>
    public int ImageSize { get; init; } = 32;
    /// <summary>Channels of every hidden layer. Defaults to 32.</summary>
    public int Channels { get; init; } = 32;
    /// <summary>Residual 3x3 blocks at half resolution; block i has dilation 2^(i mod 4). Defaults to 5.</summary>
    public int Blocks { get; init; } = 5;

    /// <summary>Per-pixel classes: background, then every (colour, shape) pair (<see cref="CheckerLabels"/>).</summary>
    public static int Classes => CheckerLabels.Count;

    /// <summary>The dilation of each block.</summary>
    public IEnumerable<int> Dilations => Enumerable.Range(0, Blocks).Select(i => 1 << (i % 4));

    public CheckerConfig Validate()
    {
        if (ImageSize is < 8 or > 256 || ImageSize % 2 != 0) throw new ArgumentOutOfRangeException(nameof(ImageSize), ImageSize, "use an even size from 8 to 256 pixels");
        if (Channels is < 16 or > 512 || Channels % 16 != 0) throw new ArgumentOutOfRangeException(nameof(Channels), Channels, "use a multiple of 16 from 16 to 512 (GroupNorm uses 8 groups, the stem half the channels)");
        if (Blocks is < 1 or > 32) throw new ArgumentOutOfRangeException(nameof(Blocks), Blocks, "use 1 to 32");
        return this;
    }

    public string ToJson() => JsonSerializer.Serialize(this, DiffuserConfig.Json);

    public static CheckerConfig FromJson(string json) =>
        JsonSerializer.Deserialize<CheckerConfig>(json, DiffuserConfig.Json) ?? throw new JsonException("the configuration JSON is null");
}

/// <summary>
/// The per-pixel classes the Checker predicts: 0 is background, 1 + 3 x colour + shape an object pixel of that colour
/// (index in <see cref="WorldVocabulary.Colours"/>) and shape (<see cref="WorldVocabulary.Shapes"/>).
/// </summary>
public static class CheckerLabels
{
    public static int Count => 1 + WorldVocabulary.Colours.Count * WorldVocabulary.Shapes.Count;

    public static int Of(int colour, Shape shape) => 1 + colour * WorldVocabulary.Shapes.Count + (int)shape;

    public static int Of(WorldObject o) => Of(IndexOf(o.Colour), o.Shape);

    static int IndexOf(WorldColour c)
    {
        for (var i = 0; i < WorldVocabulary.Colours.Count; i++) if (WorldVocabulary.Colours[i].Name == c.Name) return i;
        throw new ArgumentException($"{c.Name} is not a shapes-world colour", nameof(c));
    }

    /// <summary>
    /// The label of every pixel of a placed scene (row-major): the last-drawn object that covers at least half the pixel
    /// (<see cref="ShapeRenderer.Coverage(SceneGraphs.SceneItem, WorldOptions)"/>, the renderer's own geometry), else background.
    /// </summary>
    public static byte[] Mask(SceneGraphs.SceneGraph scene, WorldOptions world)
    {
        var mask = new byte[world.CanvasSize * world.CanvasSize];
        foreach (var item in scene.Items)
        {
            var label = (byte)Of(WorldObject.From(item));
            var coverage = ShapeRenderer.Coverage(item, world);
            for (var i = 0; i < mask.Length; i++) if (coverage[i] >= 0.5f) mask[i] = label;
        }
        return mask;
    }
}

/// <summary>
/// A small fully convolutional network that labels every pixel with a <see cref="CheckerLabels"/> class. A full-resolution
/// stem (two 3x3 convs, C/2 channels) keeps pixel-exact edges; a strided conv halves the resolution, where residual
/// pre-norm blocks (GroupNorm, GELU, dilated 3x3 conv, C channels) see far enough to tell a shape (5 blocks: 62 px);
/// the result is upsampled, joined with the stem's features and classified by a 3x3 conv and a 1x1 head. Working at half
/// resolution makes it about 3 times cheaper than the same blocks at full resolution, which matters on 2 cores.
/// Input (B, 3, S, S) in [0, 1]; output logits (B, classes, S, S).
/// </summary>
public sealed class CheckerNet : nn.Module<Tensor, Tensor>
{
    readonly Conv2d stem1, stem2, down;
    readonly ModuleList<Sequential> blocks;
    readonly GroupNorm upNorm;
    readonly Conv2d fuse, head;

    public CheckerNet(CheckerConfig config) : base(nameof(CheckerNet))
    {
        Config = config.Validate();
        var (c, half) = (config.Channels, config.Channels / 2);
        stem1 = nn.Conv2d(3, half, 3, padding: 1);
        stem2 = nn.Conv2d(half, half, 3, padding: 1);
        down = nn.Conv2d(half, c, 3, stride: 2, padding: 1);
        blocks = new ModuleList<Sequential>(config.Dilations.Select(d =>
            nn.Sequential(Norms.GroupNorm(8, c), nn.GELU(), nn.Conv2d(c, c, 3, padding: d, dilation: d))).ToArray());
        upNorm = Norms.GroupNorm(8, c);
        fuse = nn.Conv2d(c + half, half, 3, padding: 1);
        head = nn.Conv2d(half, CheckerConfig.Classes, 1);
        RegisterComponents();
    }

    public CheckerConfig Config { get; }

    public long ParameterCount => parameters().Sum(p => p.numel());

    public override Tensor forward(Tensor images)
    {
        using var scope = NewDisposeScope();
        var full = stem2.call(nn.functional.gelu(stem1.call(images * 2 - 1)));          // (B, C/2, S, S)
        var x = down.call(nn.functional.gelu(full));                                    // (B, C, S/2, S/2)
        foreach (var block in blocks) x = x + block.call(x);                            // (B, C, S/2, S/2)
        var up = nn.functional.interpolate(nn.functional.gelu(upNorm.call(x)), scale_factor: [2.0, 2.0], mode: InterpolationMode.Nearest);  // (B, C, S, S)
        var y = nn.functional.gelu(fuse.call(cat([up, nn.functional.gelu(full)], 1)));  // (B, C/2, S, S)
        return head.call(y).MoveToOuterDisposeScope();                                  // (B, classes, S, S)
    }
}
