using RlRig.Diffusion;
using RlRig.Loop;
using RlRig.Loop.Actors;
using RlRig.Loop.Editors;
using RlRig.SceneGraphs;
using RlRig.Tests.Diffusion;
using RlRig.World;
using TorchSharp;
using Xunit;
using static RlRig.Tests.Loop.LearnedActorTests;
using static TorchSharp.torch;

namespace RlRig.Tests.Loop;

/// <summary>The learned Actor on real states: their exact labels, their share of each batch, fine-tuning and resuming with them, and the editor's failures in the evaluation.</summary>
public sealed class ActorRealStatesTests : TorchTestBase
{
    static readonly WorldOptions World = new();

    static readonly ObjectRef SmallRed = new("circle", "small", "red"), LargeRed = new("circle", "large", "red"), Blue = new("square", "large", "blue");

    /// <summary>
    /// As the Checker reads a Diffuser's image: the target's small red circle drawn large and on the wrong side of the
    /// blue square. <paramref name="dx"/> shifts the layout, for distinct states.
    /// </summary>
    static Reflection ReadLarge(double dx = 0) => Reflection.Compare(
        new SceneGraph([Item(0, Shape.Circle, "red", false, 0, 0), Item(1, Shape.Square, "blue", true, 0, 0)], [new SceneRelation(0, "left of", 1)]),
        [Item(0, Shape.Square, "blue", true, 2 + dx, 8), Item(1, Shape.Circle, "red", true, 18 + dx, 10)]);

    [Fact]
    public void ARealStateIsLabelledByWhatTheCheckerReadAndUnfixableOnesAreLeftOut()
    {
        var r = ReadLarge();
        Assert.True(r.Violated.Count == 1 && r.WrongAttributes.Count == 1, r.Text);
        var example = Assert.Single(ActorTrainingData.Label(World, [r]));
        Assert.Equal(ActorTrainingData.CorrectInstructions(World, r).Select(c => c.ToText()), example.Correct.Select(c => c.ToText()));
        var texts = example.Correct.Select(c => c.ToText()).ToList();
        // The circle is named as the Checker read it (large): the editor finds that one, not the target's words.
        Assert.Contains(new ResizeEdit(LargeRed, "small").ToText(), texts);
        Assert.DoesNotContain(texts, t => t.Contains("small red circle"));
        Assert.False(ActorTrainingData.Fixes(World, r, new MoveRelativeEdit(SmallRed, "left of", Blue)));
        Assert.All(example.Correct, c => Assert.NotNull(SceneEdit.Apply(World, r.Detected.Items, c)));

        // Nothing detected and nothing to add a missing object next to: no single instruction fixes it.
        var lone = new SceneGraph([Item(0, Shape.Circle, "red", false, 0, 0)], []);
        Assert.Empty(ActorTrainingData.Label(World, [Reflection.Compare(lone, [])]));
        Assert.Empty(ActorTrainingData.Label(World, [r], contextLength: 10));
    }

    [Fact]
    public void EachBatchTakesItsShareOfRealStatesAndIsDeterministicFromTheSeed()
    {
        var real = ActorTrainingData.Label(World, [ReadLarge(), ReadLarge(1), ReadLarge(2)]);
        Assert.Equal(3, real.Count);
        var data = new ActorTrainingData(World, [], real: real, realFraction: 0.25);
        Assert.Equal(2, data.RealRows(8));
        Assert.Equal(3, data.RealRows(10));                   // 2.5 rounds up
        var realStates = real.Select(e => string.Join(' ', ActorTokens.StateIds(e.Reflection, World))).ToHashSet();
        (Tensor, Tensor, Tensor) Batch(ActorTrainingData d, ulong seed)
        {
            using var generator = new Generator(seed, CPU);
            return d.NextBatch(8, generator);
        }
        var (ids, valid, targets) = Batch(data, 3);
        for (var row = 0; row < 8; row++)
        {
            var tokens = ids[row].data<long>().Select(t => (int)t).ToList();
            var state = string.Join(' ', tokens.Take(tokens.IndexOf(ActorTokens.Id(ActorTokens.Act)) + 1));
            Assert.Equal(row < 2, realStates.Contains(state));
        }
        static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();
        var (ids2, valid2, targets2) = Batch(data, 3);
        Assert.True(Same(ids, ids2) && Same(valid, valid2) && Same(targets, targets2));
        var (other, _, _) = Batch(data, 4);
        Assert.False(Same(ids, other));
        // No real share: the batches the synthetic-only data gave before real states existed.
        var (plain, _, _) = Batch(new ActorTrainingData(World, []), 3);
        var (none, _, _) = Batch(new ActorTrainingData(World, [], real: real, realFraction: 0), 3);
        Assert.True(Same(plain, none));
        Assert.Throws<ArgumentException>(() => new ActorTrainingData(World, [], realFraction: 0.5));
    }

    [Fact]
    public void AFineTuneStartsFromTheCheckpointAndResumesExactlyWithItsOptions()
    {
        var start = Path.Combine(TempDir(), "start.ckpt");
        random.manual_seed(11);
        using (var source = new ActorNet(Tiny)) LearnedActor.Save(start, source, 5);
        var real = ActorTrainingData.Label(World, [ReadLarge(), ReadLarge(1)]);
        var data = new ActorTrainingData(World, [], real: real, realFraction: 0.5);
        ActorTrainerOptions Options(string dir) => Quick(dir, 4) with { InitFrom = start, RealPrompts = 2, RealRounds = 1, RealFraction = 0.5 };

        using (var fresh = new ActorTrainer(Tiny, Options(TempDir())))
        using (var loaded = LearnedActor.Load(start, World))
            TrainerTests.AssertSameWeights(loaded.Model, fresh.Model);
        using var straight = new ActorTrainer(Tiny, Options(TempDir()));
        for (var i = 0; i < 4; i++) straight.TrainStep(data);
        var dir = TempDir();
        using (var first = new ActorTrainer(Tiny, Options(dir)))
        {
            for (var i = 0; i < 2; i++) first.TrainStep(data);
            first.SaveCheckpoint();
        }
        var run = ActorTrainer.ReadRun(dir);
        Assert.Equal((start, 2, 1, 0.5), (run.Options.InitFrom, run.Options.RealPrompts, run.Options.RealRounds, run.Options.RealFraction));
        // The weights come from the training state, not from the start checkpoint, which may be gone.
        File.Delete(start);
        using var resumed = new ActorTrainer(Tiny, run.Options with { Resume = true });
        for (var i = 0; i < 2; i++) resumed.TrainStep(data);
        TrainerTests.AssertSameWeights(straight.Model, resumed.Model);

        var other = Path.Combine(TempDir(), "other.ckpt");
        using (var wide = new ActorNet(Tiny with { Dim = 64 })) LearnedActor.Save(other, wide, 1);
        Assert.Contains("another architecture", Assert.Throws<ActorCheckpointException>(() => new ActorTrainer(Tiny, Quick(TempDir(), 1) with { InitFrom = other })).Message);
    }

    [Theory]
    [InlineData(0, 0.5, "RealFraction")]
    [InlineData(10, 0.0, "RealFraction")]
    [InlineData(10, 1.5, "RealFraction")]
    [InlineData(-1, 0.0, "RealPrompts")]
    public void RealOptionsThatDoNotFitTogetherAreRefusedWithAFix(int prompts, double fraction, string field)
    {
        var e = Assert.Throws<ArgumentException>(() => new ActorTrainerOptions { RealPrompts = prompts, RealFraction = fraction }.Validate());
        Assert.Equal(field, e.ParamName);
        Assert.StartsWith($"ActorTrainerOptions.{field}: ", e.Message);
        new ActorTrainerOptions { RealPrompts = 10, RealFraction = 1 }.Validate();
    }

    [Fact]
    public void OnRealStatesTheEditorsOwnFailuresAreCountedAsTheLoopCountsThem()
    {
        random.manual_seed(5);
        using var model = new TextToImageDiffuser(TinyShapesWorldConfig());
        var editor = new TrainingFreeEditor(new DiffusionPipeline(model), World);
        var states = ActorTrainingData.Label(World, [ReadLarge()]);
        ActorProposal P(EditInstruction i) => new(i.ToText(), i, []);
        // Target words (no small red circle was read), the correct resize, "done", text that does not parse.
        var proposals = new IReadOnlyList<ActorProposal>[] { [P(new MoveRelativeEdit(SmallRed, "left of", Blue)), P(new ResizeEdit(LargeRed, "small")), P(new NoEdit()), P(new InvalidEdit("x", "no"))] };
        var score = ActorEvaluation.Score(World, states, proposals, (i, r) => editor.Plan(i, r).Failure);
        Assert.Equal(4, score.Proposals);
        Assert.Equal((0.75, 0.25, 0.25, 0.25), (score.ValidRate, score.ExactMatchRate, score.FixesRate, score.NotCarriedOutRate!.Value));
        Assert.Null(ActorEvaluation.Score(World, states, proposals).NotCarriedOutRate);

        // The learned Actor through the same path: every greedy proposal scored, the editor asked for each edit.
        using var actor = new LearnedActor(new ActorNet(Tiny), World);
        var greedy = ActorEvaluation.Greedy(actor, states, (i, r) => editor.Plan(i, r).Failure);
        Assert.Equal(1, greedy.Proposals);
        Assert.NotNull(greedy.NotCarriedOutRate);
    }
}
