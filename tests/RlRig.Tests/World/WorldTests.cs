using RlRig.LaionSg;
using RlRig.Metrics;
using RlRig.SceneGraphs;
using RlRig.Tests.Support;
using RlRig.World;

namespace RlRig.Tests.World;

public sealed class WorldTests
{
    static readonly WorldOptions Options = new();

    static SceneGraph Prompt(string text) => SceneGraph.ParsePrompt(text, WorldVocabulary.Prompt);

    [Fact]
    public void Sampled_scenes_have_distinct_objects_all_in_relations_that_hold_inside_the_canvas()
    {
        var sampler = new SceneSampler(Options);
        var random = new Random(11);
        for (var i = 0; i < 200; i++)
        {
            var scene = sampler.Sample(random);
            Assert.InRange(scene.Items.Count, 2, 4);
            Assert.InRange(scene.Relations.Count, scene.Items.Count - 1, 3);
            Assert.Equal(scene.Items.Count, scene.Items.Select(it => it.Text).Distinct().Count());
            Assert.Empty(scene.IsolatedItems());
            foreach (var item in scene.Items)
            {
                Assert.InRange(item.Box!.X, 0, Options.CanvasSize - item.Box.Width);
                Assert.InRange(item.Box.Y, 0, Options.CanvasSize - item.Box.Height);
                Assert.Equal(Options.Side(item.Attributes[0] == "large"), item.Box.Width);
            }
            foreach (var a in scene.Items)
                foreach (var b in scene.Items.Where(b => b.Id > a.Id))
                    Assert.True(a.Box!.Gap(b.Box!) >= 1, $"{a.Text} and {b.Text} overlap in \"{scene.ToPromptText()}\"");
            foreach (var r in scene.Relations)
                Assert.Contains(r.Predicate, SpatialRelationExtractor.Between(scene.Item(r.SubjectId).Box!, scene.Item(r.ObjectId).Box!));
            Assert.Equal(EvaluationSet.Key(scene), EvaluationSet.Key(Prompt(scene.ToPromptText()))); // the prompt says it all
        }
    }

    [Fact]
    public void Sampling_is_deterministic_for_a_seed()
    {
        var sampler = new SceneSampler(Options);
        var (r1, r2) = (new Random(5), new Random(5));
        for (var i = 0; i < 20; i++) Assert.Equal(sampler.Sample(r1), sampler.Sample(r2));
    }

    [Theory]
    [InlineData("small red circle left of large blue square; large blue square left of small red circle", "small red circle left of large blue square; large blue square left of small red circle")]
    [InlineData("small red circle right of large blue square; small red circle left of large blue square", "small red circle right of large blue square; small red circle left of large blue square")]
    [InlineData("small red circle above large blue square; large blue square above small green triangle; small green triangle above small red circle", "no top to bottom order")]
    [InlineData("small red circle below large blue square; large blue square below small red circle", "contradictory relations")]
    public void Contradictions_are_rejected_naming_the_relations(string prompt, string expected)
    {
        var error = Assert.Throws<InconsistentSceneException>(() => SceneConsistency.Check(Prompt(prompt)));
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void Self_relations_and_foreign_predicates_are_rejected()
    {
        var item = new WorldObject(Shape.Circle, WorldVocabulary.Colour("red"), false).ToItem(0);
        Assert.Contains("relates an item to itself", Assert.Throws<InconsistentSceneException>(() =>
            SceneConsistency.Check(new SceneGraph([item], [new SceneRelation(0, "left of", 0)]))).Message);
        var other = new WorldObject(Shape.Square, WorldVocabulary.Colour("blue"), true).ToItem(1);
        Assert.Contains("'on top of' is not a relation of the shapes world", Assert.Throws<InconsistentSceneException>(() =>
            SceneConsistency.Check(new SceneGraph([item, other], [new SceneRelation(0, "on top of", 1)]))).Message);
    }

    [Fact]
    public void A_consistent_user_graph_is_placed_so_every_relation_holds()
    {
        var graph = Prompt("small red circle left of large blue square; large blue square above small green triangle; small green triangle right of small red circle");
        SceneConsistency.Check(graph);
        var placed = SceneLayout.Place(graph, Options, new Random(3));
        foreach (var r in placed.Relations)
            Assert.True(SceneLayout.HoldsRobustly(placed.Item(r.SubjectId).Box!, placed.Item(r.ObjectId).Box!, r.Predicate));
    }

    [Fact]
    public void Items_that_are_not_world_objects_are_named()
    {
        var error = Assert.Throws<ArgumentException>(() => WorldObject.From(new SceneItem(4, "tower", ["stone", "tall"])));
        Assert.Contains("item 4 \"stone tall tower\"", error.Message);
    }

    [Fact]
    public void Renderer_fills_exactly_the_boxes()
    {
        var square = new WorldObject(Shape.Square, WorldVocabulary.Colour("blue"), true).ToItem(0, new Box(3, 4, 11, 11));
        var circle = new WorldObject(Shape.Circle, WorldVocabulary.Colour("red"), false).ToItem(1, new Box(20, 20, 7, 7));
        var hwc = ShapeRenderer.RenderHwc(new SceneGraph([square, circle], []), Options);
        float[] Pixel(int x, int y) => hwc[(3 * (y * 32 + x))..(3 * (y * 32 + x) + 3)];
        var blue = new[] { 37 / 255f, 99 / 255f, 235 / 255f };
        var background = new[] { 248 / 255f, 248 / 255f, 248 / 255f };
        for (var y = 0; y < 32; y++)
            for (var x = 0; x < 32; x++)
            {
                var inSquare = x >= 3 && x < 14 && y >= 4 && y < 15;
                var inCircleBox = x >= 20 && x < 27 && y >= 20 && y < 27;
                if (inSquare) Assert.Equal(blue, Pixel(x, y));
                else if (!inCircleBox) Assert.Equal(background, Pixel(x, y));
            }
        Assert.Equal(new[] { 220 / 255f, 38 / 255f, 38 / 255f }, Pixel(23, 23)); // the circle's centre is fully covered
        Assert.Equal(background, Pixel(20, 20));                                  // its box corner is not
    }

    [Fact]
    public void Judge_reads_every_object_kind_alone()
    {
        var judge = new ShapesJudge(Options);
        foreach (var shape in WorldVocabulary.Shapes)
            foreach (var colour in WorldVocabulary.Colours)
                foreach (var large in new[] { false, true })
                {
                    var obj = new WorldObject(shape, colour, large);
                    var side = Options.Side(large);
                    var read = judge.Parse(ShapeRenderer.RenderHwc(new SceneGraph([obj.ToItem(0, new Box(9, 10, side, side))], []), Options));
                    Assert.Equal(obj.Text, Assert.Single(read.Items).Text);
                }
    }

    [Fact]
    public void Judge_reads_clean_renders_perfectly_on_scenes_it_was_not_tuned_on()
    {
        var result = JudgeAccuracy.Measure(new ShapesJudge(Options), 150, seed: 3, "clean", Degradation.None);
        Assert.Equal((1.0, 1.0, 1.0, 1.0), (result.ObjectRecall, result.ObjectPrecision, result.RelationAgreement, result.SceneAccuracy));
    }

    [Fact]
    public void Judge_degrades_gracefully_and_measurably()
    {
        var judge = new ShapesJudge(Options);
        var medium = JudgeAccuracy.Measure(judge, 150, seed: 4, "medium", Degradation.Levels.Single(l => l.Name == "medium").Degradation);
        var strong = JudgeAccuracy.Measure(judge, 150, seed: 4, "strong", Degradation.Levels.Single(l => l.Name == "strong").Degradation);
        Assert.True(medium.ObjectRecall >= 0.97, $"medium recall {medium.ObjectRecall}");
        Assert.True(strong.ObjectRecall < medium.ObjectRecall, "stronger damage must cost accuracy, or the levels are not measuring anything");
    }

    [Fact]
    public void Prompt_score_counts_objects_sizes_relations_and_extras()
    {
        var prompt = Prompt("small red circle left of large blue square; large blue square above small green triangle");
        // The image: the circle right of the square (relation 1 fails), the square above the triangle but drawn small,
        // the triangle present, and an extra yellow square.
        var judged = new SceneGraph(
        [
            new WorldObject(Shape.Circle, WorldVocabulary.Colour("red"), false).ToItem(0, new Box(24, 2, 7, 7)),
            new WorldObject(Shape.Square, WorldVocabulary.Colour("blue"), false).ToItem(1, new Box(2, 2, 7, 7)),
            new WorldObject(Shape.Triangle, WorldVocabulary.Colour("green"), false).ToItem(2, new Box(2, 22, 7, 7)),
            new WorldObject(Shape.Square, WorldVocabulary.Colour("yellow"), true).ToItem(3, new Box(14, 20, 11, 11)),
        ], []);
        var score = PromptScore.Score(prompt, judged);
        // 3 objects named, all found by shape and colour; the square's size is wrong: 2 of 3 sizes right.
        // Relations: circle (centre x 27.5) is not left of the square (5.5): 0; square (y 5.5) above triangle (25.5): 1.
        // Both relations had both objects drawn.
        Assert.Equal(new PromptScore(Objects: 3, ObjectsCorrect: 3, SizesCorrect: 2, Relations: 2, RelationsCorrect: 1, ExtraObjects: 1, RelationsWithObjects: 2), score);
        Assert.False(score.IsPerfect);
    }

    [Fact]
    public void Relations_of_missing_objects_fail_but_do_not_count_as_misplaced()
    {
        var prompt = Prompt("small red circle left of large blue square; large blue square above small green triangle");
        var judged = new SceneGraph([new WorldObject(Shape.Circle, WorldVocabulary.Colour("red"), false).ToItem(0, new Box(2, 2, 7, 7)),
            new WorldObject(Shape.Square, WorldVocabulary.Colour("blue"), true).ToItem(1, new Box(18, 2, 11, 11))], []);
        var score = PromptScore.Score(prompt, judged);
        // The triangle is missing: its relation fails (1 of 2 hold) but only the first could be placed (1 of 1).
        Assert.Equal((1, 2, 1), (score.RelationsCorrect, score.Relations, score.RelationsWithObjects));
    }

    [Fact]
    public void Evaluation_key_ignores_how_a_relation_is_phrased()
    {
        Assert.Equal(EvaluationSet.Key(Prompt("small red circle left of large blue square")), EvaluationSet.Key(Prompt("large blue square right of small red circle")));
        Assert.Equal(EvaluationSet.Key(Prompt("small red circle below large blue square")), EvaluationSet.Key(Prompt("large blue square above small red circle")));
        Assert.NotEqual(EvaluationSet.Key(Prompt("small red circle left of large blue square")), EvaluationSet.Key(Prompt("small red circle right of large blue square")));
    }

    [Fact]
    public void Committed_evaluation_set_is_what_the_command_produces_and_is_balanced()
    {
        var committed = EvaluationSet.Read(Repo.PathOf(EvaluationSet.RelativePath));
        Assert.Equal(300, committed.Count);
        Assert.Equal([100, 100, 100], committed.GroupBy(s => s.Relations.Count).OrderBy(g => g.Key).Select(g => g.Count()));
        Assert.Equal(300, committed.Select(EvaluationSet.Key).Distinct().Count());
        var regenerated = EvaluationSet.Create(300, seed: 1000, Options).Select(s => new SceneGraph(s.Items.Select(i => i with { Box = null }), s.Relations));
        Assert.Equal(regenerated, committed);
    }

    [Fact]
    public void Random_placement_satisfies_about_a_third_of_relations()
    {
        var prompts = EvaluationSet.Read(Repo.PathOf(EvaluationSet.RelativePath));
        Assert.InRange(EvaluationSet.ChanceRelationAccuracy(prompts, Options, seed: 7, samplesPerPrompt: 5), 0.2, 0.4);
    }

    [Fact]
    public void Generate_writes_images_and_valid_annotations()
    {
        using var temp = new TempDir();
        var records = WorldDataset.Generate(temp.Path, 5, seed: 1, Options);
        var read = LaionSgReader.ReadRecords(temp.File("annotations.json")).ToList();
        Assert.Equal(records, read);
        Assert.All(read, r => Assert.True(File.Exists(LaionSgImages.ResolveImagePath(temp.Path, r))));
        Assert.True(File.Exists(temp.File("boxes.json")));
    }
}
