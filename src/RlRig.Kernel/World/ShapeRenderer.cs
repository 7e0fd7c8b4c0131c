using RlRig.SceneGraphs;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace RlRig.World;

/// <summary>
/// Draws a placed scene: each object fills exactly its box (a circle inscribed in it, a square equal to it, a triangle
/// with its base on the box's bottom edge and its apex at the top centre), anti-aliased by 4x4 supersampling.
/// Pure and deterministic: the same scene gives the same pixels.
/// </summary>
public static class ShapeRenderer
{
    const int Samples = 4;

    /// <summary>Renders into a float buffer in HWC order with values in [0, 1].</summary>
    /// <exception cref="ArgumentException">An item has no box or is not a shapes-world object.</exception>
    public static float[] RenderHwc(SceneGraph scene, WorldOptions options)
    {
        var size = options.CanvasSize;
        var pixels = new float[size * size * 3];
        var bg = options.Background;
        for (var i = 0; i < size * size; i++) (pixels[3 * i], pixels[3 * i + 1], pixels[3 * i + 2]) = (bg.R / 255f, bg.G / 255f, bg.B / 255f);
        foreach (var item in scene.Items)
        {
            var box = item.Box ?? throw new ArgumentException($"item {item.Id} \"{item.Text}\" has no box; place the scene first (SceneLayout.Place)");
            var obj = WorldObject.From(item);
            var colour = new[] { obj.Colour.R / 255f, obj.Colour.G / 255f, obj.Colour.B / 255f };
            var (x0, y0) = (Math.Max(0, (int)Math.Floor(box.X)), Math.Max(0, (int)Math.Floor(box.Y)));
            var (x1, y1) = (Math.Min(size, (int)Math.Ceiling(box.Right)), Math.Min(size, (int)Math.Ceiling(box.Bottom)));
            for (var y = y0; y < y1; y++)
                for (var x = x0; x < x1; x++)
                {
                    var coverage = Coverage(obj.Shape, box, x, y);
                    if (coverage == 0) continue;
                    var p = 3 * (y * size + x);
                    for (var c = 0; c < 3; c++) pixels[p + c] = pixels[p + c] * (1 - coverage) + colour[c] * coverage;
                }
        }
        return pixels;
    }

    /// <summary>
    /// How much of each pixel one object covers (row-major, <c>CanvasSize</c> x <c>CanvasSize</c>, values in [0, 1]), with
    /// the same geometry and supersampling as <see cref="RenderHwc"/>: the object's own mask, before later objects are
    /// drawn over it. The Checker's per-pixel training labels come from it.
    /// </summary>
    /// <exception cref="ArgumentException">The item has no box or is not a shapes-world object.</exception>
    public static float[] Coverage(SceneItem item, WorldOptions options)
    {
        var size = options.CanvasSize;
        var box = item.Box ?? throw new ArgumentException($"item {item.Id} \"{item.Text}\" has no box; place the scene first (SceneLayout.Place)");
        var shape = WorldObject.From(item).Shape;
        var mask = new float[size * size];
        var (x0, y0) = (Math.Max(0, (int)Math.Floor(box.X)), Math.Max(0, (int)Math.Floor(box.Y)));
        var (x1, y1) = (Math.Min(size, (int)Math.Ceiling(box.Right)), Math.Min(size, (int)Math.Ceiling(box.Bottom)));
        for (var y = y0; y < y1; y++)
            for (var x = x0; x < x1; x++)
                mask[y * size + x] = Coverage(shape, box, x, y);
        return mask;
    }

    /// <summary>Renders to an RGB image.</summary>
    public static Image<Rgb24> Render(SceneGraph scene, WorldOptions options) => ToImage(RenderHwc(scene, options), options.CanvasSize);

    /// <summary>Converts an HWC float buffer in [0, 1] to an image.</summary>
    public static Image<Rgb24> ToImage(float[] hwc, int size)
    {
        var bytes = new byte[hwc.Length];
        for (var i = 0; i < hwc.Length; i++) bytes[i] = (byte)Math.Clamp(MathF.Round(hwc[i] * 255f), 0, 255);
        return Image.LoadPixelData<Rgb24>(bytes, size, size);
    }

    /// <summary>Converts an image to an HWC float buffer in [0, 1].</summary>
    public static float[] ToHwc(Image<Rgb24> image)
    {
        var bytes = new byte[image.Width * image.Height * 3];
        image.CopyPixelDataTo(bytes);
        return bytes.Select(b => b / 255f).ToArray();
    }

    // Fraction of the pixel's 16 sample points inside the shape.
    static float Coverage(Shape shape, Box box, int px, int py)
    {
        var inside = 0;
        for (var sy = 0; sy < Samples; sy++)
            for (var sx = 0; sx < Samples; sx++)
                if (Inside(shape, box, px + (sx + 0.5) / Samples, py + (sy + 0.5) / Samples)) inside++;
        return inside / (float)(Samples * Samples);
    }

    static bool Inside(Shape shape, Box box, double x, double y)
    {
        if (x < box.X || x > box.Right || y < box.Y || y > box.Bottom) return false;
        switch (shape)
        {
            case Shape.Square: return true;
            case Shape.Circle:
                var (dx, dy) = ((x - box.CenterX) / (box.Width / 2), (y - box.CenterY) / (box.Height / 2));
                return dx * dx + dy * dy <= 1;
            case Shape.Triangle:
                var depth = (y - box.Y) / box.Height; // 0 at the apex, 1 at the base
                return Math.Abs(x - box.CenterX) <= depth * box.Width / 2;
            default: throw new ArgumentOutOfRangeException(nameof(shape), shape, null);
        }
    }
}
