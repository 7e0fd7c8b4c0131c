using RlRig.SceneGraphs;
using RlRig.World;

namespace RlRig.Tests.World;

/// <summary>Issue 13: the ragged-edges degradation, and the judge reading soft and ragged edges as the eye does.</summary>
public sealed class RaggedEdgesTests
{
    static readonly WorldOptions Options = new();
    static readonly Degradation Ragged = Degradation.Levels.Single(l => l.Name == "ragged").Degradation;
    static readonly float[] Background = [248 / 255f, 248 / 255f, 248 / 255f];

    static float[] Render(params (WorldObject Object, Box Box)[] objects) =>
        ShapeRenderer.RenderHwc(new SceneGraph(objects.Select((o, i) => o.Object.ToItem(i, o.Box)).ToList(), []), Options);

    static float[] Pixel(float[] hwc, int x, int y) => hwc[(3 * (y * Options.CanvasSize + x))..(3 * (y * Options.CanvasSize + x) + 3)];

    [Fact]
    public void Ragged_level_is_light_plus_ragged_edges_and_the_old_levels_are_unchanged()
    {
        var levels = Degradation.Levels.ToDictionary(l => l.Name, l => l.Degradation);
        Assert.Equal(new[] { "clean", "light", "medium", "strong", "ragged" }, Degradation.Levels.Select(l => l.Name));
        Assert.Equal(levels["light"] with { RaggedEdges = 1.0 }, levels["ragged"]);
        Assert.Equal(new Degradation(0.06, 0.8, 0.10), levels["medium"]);
        Assert.All(Degradation.Levels.Where(l => l.Name != "ragged"), l => Assert.Equal(0, l.Degradation.RaggedEdges));
    }

    [Fact]
    public void Ragged_edges_are_deterministic_given_the_random_and_draw_nothing_at_strength_zero()
    {
        var image = Render((new WorldObject(Shape.Square, WorldVocabulary.Colours[0], true), new Box(5, 6, 11, 11)),
            (new WorldObject(Shape.Circle, WorldVocabulary.Colours[2], false), new Box(20, 20, 7, 7)));
        Assert.Equal(Ragged.Apply(image, 32, new Random(9)), Ragged.Apply(image, 32, new Random(9)));
        Assert.NotEqual(Ragged.Apply(image, 32, new Random(9)), Ragged.Apply(image, 32, new Random(10)));
        Assert.Equal(Degradation.Ragged(image, 32, 1, new Random(4)), Degradation.Ragged(image, 32, 1, new Random(4)));
        // Without ragged edges, a level consumes the random exactly as before (so the old rows of the report keep their scenes).
        var (a, b) = (new Random(3), new Random(3));
        new Degradation(0.03, 0.5, 0.05).Apply(image, 32, a);
        new Degradation(0.03, 0.5, 0.05, RaggedEdges: 0).Apply(image, 32, b);
        Assert.Equal(a.Next(), b.Next());
        Assert.Equal(image, new Degradation(0, 0, 0, RaggedEdges: 0).Apply(image, 32, new Random(1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Degradation(0, 0, 0, RaggedEdges: 1.5).Apply(image, 32, new Random(1)));
    }

    [Fact]
    public void Ragged_edges_tint_faint_lines_just_outside_objects_and_touch_nothing_else()
    {
        var colour = WorldVocabulary.Colours[2];
        var box = new Box(10, 10, 11, 11);
        var image = Render((new WorldObject(Shape.Square, colour, true), box));
        var (faintOutside, changedInside) = (0, 0);
        for (var seed = 0; seed < 40; seed++)
        {
            var ragged = Degradation.Ragged(image, 32, 1, new Random(seed));
            for (var y = 0; y < 32; y++)
                for (var x = 0; x < 32; x++)
                {
                    var (p, q) = (Pixel(image, x, y), Pixel(ragged, x, y));
                    var outside = Math.Max(Math.Max(box.X - x, x - (box.Right - 1)), Math.Max(box.Y - y, y - (box.Bottom - 1))); // 1 = the first line outside
                    // Coverage of the object's colour, read back along the blue channel.
                    var coverage = (q[2] - Background[2]) / (colour.B / 255f - Background[2]);
                    if (outside >= 3) Assert.Equal(p, q);                                        // far from the object: untouched
                    if (outside <= -2) Assert.InRange(coverage, 0.99, 1.01);                      // deep inside: still solid
                    if (outside == 1 && Math.Abs(coverage) > 0.25) { faintOutside++; Assert.InRange(coverage, 0.1, 0.75); }
                    if (outside == 0 && coverage < 0.9) changedInside++;
                    for (var c = 0; c < 3; c++)                                                  // every pixel stays a mix of colour and background
                        Assert.InRange(q[c], Math.Min(Background[c], colour.R / 255f * (c == 0 ? 1 : 0) + colour.G / 255f * (c == 1 ? 1 : 0) + colour.B / 255f * (c == 2 ? 1 : 0)) - 1e-4,
                            Math.Max(Background[c], colour.R / 255f * (c == 0 ? 1 : 0) + colour.G / 255f * (c == 1 ? 1 : 0) + colour.B / 255f * (c == 2 ? 1 : 0)) + 1e-4);
                }
        }
        Assert.True(faintOutside > 40 * 4, $"faint pixels outside the square: {faintOutside}");     // lines on some sides, eroded bits
        Assert.True(changedInside > 40 * 4, $"softened or eroded edge pixels: {changedInside}");
    }

    [Fact]
    public void Ragged_edges_never_bridge_the_gap_between_two_objects_of_one_colour()
    {
        var red = WorldVocabulary.Colours[0];
        var image = Render((new WorldObject(Shape.Square, red, false), new Box(5, 10, 7, 7)), (new WorldObject(Shape.Square, red, false), new Box(13, 10, 7, 7)));
        var judge = new ShapesJudge(Options);
        for (var seed = 0; seed < 30; seed++)
            Assert.Equal(2, judge.Parse(Degradation.Ragged(image, 32, 1, new Random(seed))).Items.Count);
    }

    public static TheoryData<Shape, bool, string, float, double> FaintLineCases()
    {
        var data = new TheoryData<Shape, bool, string, float, double>();
        foreach (var shape in WorldVocabulary.Shapes)
            foreach (var large in new[] { false, true })
                foreach (var side in new[] { "top", "bottom", "left", "right" })
                    foreach (var coverage in new[] { 0.55f, 0.7f })
                        foreach (var length in new[] { 0.6, 1.0 })
                            data.Add(shape, large, side, coverage, length);
        return data;
    }

    // A faint partial line (the middle part, of the given fraction, of the object's outermost line on that side, at least one
    // pixel) just outside one side.
    static float[] WithFaintLine(float[] image, WorldColour colour, string side, float coverage, double fraction = 0.6)
    {
        var result = (float[])image.Clone();
        var solid = Enumerable.Range(0, 32 * 32).Where(i => Math.Abs(image[3 * i + 2] - Background[2]) > 0.5 * Math.Abs(colour.B / 255f - Background[2])
            || Math.Abs(image[3 * i] - Background[0]) > 0.5 * Math.Abs(colour.R / 255f - Background[0])).Select(i => (X: i % 32, Y: i / 32)).ToList();
        var vertical = side is "top" or "bottom";
        var line = side switch { "top" => solid.Min(p => p.Y), "bottom" => solid.Max(p => p.Y), "left" => solid.Min(p => p.X), _ => solid.Max(p => p.X) };
        var outside = side is "top" or "left" ? line - 1 : line + 1;
        var along = solid.Where(p => (vertical ? p.Y : p.X) == line).Select(p => vertical ? p.X : p.Y).ToList();
        var (from, to) = (along.Min(), along.Max());
        var length = Math.Max(1, (int)Math.Round(fraction * (to - from + 1)));
        var first = from + (to - from + 1 - length) / 2;
        var rgb = new[] { colour.R / 255f, colour.G / 255f, colour.B / 255f };
        for (var a = first; a < first + length; a++)
        {
            var (x, y) = vertical ? (a, outside) : (outside, a);
            for (var c = 0; c < 3; c++) result[3 * (y * 32 + x) + c] = Background[c] + coverage * (rgb[c] - Background[c]);
        }
        return result;
    }

    [Theory]
    [MemberData(nameof(FaintLineCases))]
    public void Judge_reads_an_object_with_a_faint_partial_line_on_one_side_as_the_object(Shape shape, bool large, string side, float coverage, double length)
    {
        var judge = new ShapesJudge(Options);
        foreach (var colour in new[] { WorldVocabulary.Colours[0], WorldVocabulary.Colours[2], WorldVocabulary.Colours[3] })
        {
            var obj = new WorldObject(shape, colour, large);
            var image = WithFaintLine(Render((obj, new Box(10, 11, Options.Side(large), Options.Side(large)))), colour, side, coverage, length);
            Assert.Equal(obj.Text, Assert.Single(judge.Parse(image).Items).Text);
        }
    }

    [Fact]
    public void The_old_judge_misreads_a_faint_partial_top_row_on_squares_and_circles_which_is_what_the_tests_above_guard()
    {
        var (legacy, judge) = (new ShapesJudge(Options, JudgeOptions.Legacy), new ShapesJudge(Options));
        var (cases, misread) = (0, 0);
        foreach (var shape in new[] { Shape.Square, Shape.Circle })
            foreach (var large in new[] { false, true })
                foreach (var fraction in new[] { 0.3, 0.45, 0.6 })
                {
                    var obj = new WorldObject(shape, WorldVocabulary.Colours[2], large);
                    var image = WithFaintLine(Render((obj, new Box(10, 11, Options.Side(large), Options.Side(large)))), obj.Colour, "top", 0.7f, fraction);
                    cases++;
                    if (Assert.Single(legacy.Parse(image).Items).Text != obj.Text) misread++;
                    Assert.Equal(obj.Text, Assert.Single(judge.Parse(image).Items).Text);
                }
        Assert.True(misread >= 3, $"the old judge misread {misread} of {cases}");
    }

    [Fact]
    public void Judge_holds_on_ragged_renders_where_the_old_judge_did_not_and_stays_perfect_on_clean_ones()
    {
        var judge = JudgeAccuracy.Measure(new ShapesJudge(Options), 150, seed: 6, "ragged", Ragged);
        var legacy = JudgeAccuracy.Measure(new ShapesJudge(Options, JudgeOptions.Legacy), 150, seed: 6, "ragged", Ragged);
        var clean = JudgeAccuracy.Measure(new ShapesJudge(Options), 150, seed: 6, "clean", Degradation.None);
        Assert.True(judge.ObjectRecall >= 0.88, $"ragged recall {judge.ObjectRecall}");
        Assert.True(legacy.ObjectRecall < judge.ObjectRecall - 0.03, $"old judge {legacy.ObjectRecall}, new {judge.ObjectRecall}: the new judge must hold better");
        var light = JudgeAccuracy.Measure(new ShapesJudge(Options), 150, seed: 6, "light", Degradation.Levels.Single(l => l.Name == "light").Degradation);
        Assert.True(judge.ObjectRecall < light.ObjectRecall - 0.02, $"ragged {judge.ObjectRecall}, light {light.ObjectRecall}: the edges must cost something, or the level measures nothing");
        Assert.Equal((1.0, 1.0, 1.0, 1.0), (clean.ObjectRecall, clean.ObjectPrecision, clean.RelationAgreement, clean.SceneAccuracy));
    }
}
