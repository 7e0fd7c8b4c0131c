using RlRig.Diffusion;
using RlRig.Imaging;
using RlRig.Loop;
using RlRig.Loop.Actors;
using RlRig.Loop.Checkers;
using RlRig.Loop.Editors;
using RlRig.Rl;
using RlRig.SceneGraphs;
using RlRig.Tests.Diffusion;
using RlRig.Tests.Support;
using RlRig.World;
using Xunit;
using static TorchSharp.torch;

namespace RlRig.Tests.Rl;

/// <summary>The editor's chain as a GRPO policy, and editor-GRPO end to end, with a tiny random editor and the committed Checker.</summary>
public sealed class EditorGrpoTests : TorchTestBase
{
    static readonly WorldOptions World = new();

    // A tiny 32x32 editor over the edit language with random weights everywhere, so its output depends on its inputs.
    internal static TextToImageDiffuser TinyEditor(int seed)
    {
        random.manual_seed(seed);
        var model = new TextToImageDiffuser(ShapesWorldEditor.Config(TinyShapesWorldConfig() with { Vocabulary = [.. EditTokens.Words.Append(";")], MaxPromptTokens = 24 }));
        using var noGrad = no_grad();
        foreach (var (name, p) in model.named_parameters())
            if (name.Contains("conv_out") || name.Contains("proj_out")) p.copy_(randn_like(p) * 0.05);
        return model;
    }

    // Rendered scenes with the Checker's reflection and the rule-based Actor's instruction for each.
    internal static async Task<List<EditRequest>> Pool(ShapesChecker checker, int count)
    {
        var actor = new RuleBasedActor(World);
        var requests = new List<EditRequest>();
        var sampler = new SceneSampler(World);
        var random = new Random(4);
        while (requests.Count < count)
        {
            var target = sampler.Sample(random);
            var shown = SceneLayout.Place(new SceneGraph(target.Items, []), World, random);
            var image = ShapeRenderer.Render(shown, World);
            var reflection = (await checker.ReflectAsync([image], [target]))[0];
            var instruction = (await actor.ActAsync([new ActorState(target, reflection, image)]))[0].Instruction;
            if (instruction is NoEdit or InvalidEdit || EditFidelity.ExpectedScene(World, reflection, instruction) is null) { image.Dispose(); continue; }
            requests.Add(new EditRequest(image, instruction, reflection, requests.Count));
        }
        return requests;
    }

    internal static ShapesChecker Checker() => ShapesChecker.Load(Repo.PathOf("data", "shapes-world", "checker", "checker.ckpt"));

    [Fact]
    public async Task Recomputed_step_log_probs_equal_the_sampled_ones_on_the_trained_steps_and_a_groups_edits_differ()
    {
        using var checker = Checker();
        var pool = await Pool(checker, 2);
        using var editor = TinyEditor(1);
        var policy = new EditorPolicy(new ImageEditPipeline(editor), new LearnedEditorOptions { Steps = 5, Strength = 1 }, trainedStepFraction: 0.5);
        var options = new GrpoOptions { NumGenerations = 3, GenerationBatchSize = 6, MaxCompletionLength = 5 };
        using var scope = NewDisposeScope();
        using var rollout = policy.Sample(pool, 3, options, seed: 9);
        Assert.Equal(6, rollout.Samples.Count);
        var mask = rollout.Mask.data<float>().ToArray();
        Assert.Equal(2 * 6, mask.Sum(m => (double)m), 6);          // round(0.5 x 4 stochastic steps) = 2 per edit
        Assert.All(Enumerable.Range(0, 6), i => Assert.Equal(0, mask[i * 5 + 4]));   // never the deterministic last step
        var recomputed = policy.LogProbs([.. pool.SelectMany(p => Enumerable.Repeat(p, 3))], rollout, options);
        var trained = rollout.Mask.to_type(ScalarType.Bool);
        Assert.True(recomputed.masked_select(trained).allclose(rollout.LogProbs.masked_select(trained), rtol: 1e-4, atol: 1e-4));
        Assert.True(recomputed.requires_grad);
        // A group shares its start but draws its own step noise: its edits differ.
        using var first = TensorImages.ToTensor(rollout.Samples[0].Image, RlRig.Imaging.PixelRange.MinusOneToOne);
        using var second = TensorImages.ToTensor(rollout.Samples[1].Image, RlRig.Imaging.PixelRange.MinusOneToOne);
        Assert.False(first.allclose(second));
        foreach (var r in pool) r.Image.Dispose();
    }

    // Ctrl+C arriving while the second step's edits are rewarded, noticed there as a model behind the interface notices it.
    sealed class CancellingChecker(IChecker inner, CancellationTokenSource interrupt) : IChecker
    {
        int calls;

        public Task<IReadOnlyList<Reflection>> ReflectAsync(IReadOnlyList<SixLabors.ImageSharp.Image<SixLabors.ImageSharp.PixelFormats.Rgb24>> images,
            IReadOnlyList<SceneGraph> targets, CancellationToken cancellationToken = default)
        {
            if (++calls == 2) interrupt.Cancel();
            cancellationToken.ThrowIfCancellationRequested();
            return inner.ReflectAsync(images, targets, cancellationToken);
        }
    }

    // Reads every image as the first one it was shown: every edit of a pair earns the same reward.
    sealed class BlindChecker(IChecker inner) : IChecker
    {
        SixLabors.ImageSharp.Image<SixLabors.ImageSharp.PixelFormats.Rgb24>? first;

        public Task<IReadOnlyList<Reflection>> ReflectAsync(IReadOnlyList<SixLabors.ImageSharp.Image<SixLabors.ImageSharp.PixelFormats.Rgb24>> images,
            IReadOnlyList<SceneGraph> targets, CancellationToken cancellationToken = default)
        {
            first ??= images[0].Clone();
            return inner.ReflectAsync([.. images.Select(_ => first)], targets, cancellationToken);
        }
    }

    [Fact]
    public async Task Filtering_the_pool_keeps_only_pairs_whose_group_has_an_advantage()
    {
        using var checker = Checker();
        var pool = await Pool(checker, 4);
        using var temp = new TempDir();
        var options = new EditorGrpoOptions
        {
            Grpo = new EditorGrpoOptions().Grpo with { NumGenerations = 2, GenerationBatchSize = 4, MaxCompletionLength = 2 },
            Sampling = new LearnedEditorOptions { Steps = 2, Strength = 1 },
            Run = new GrpoRunOptions { TotalSteps = 1, CheckpointEvery = 0, LogEvery = 0, OutputDir = temp.Path, NumThreads = 1 },
            TrainingPrompts = 4,
            FilterPool = true,
        };
        using var editor = TinyEditor(2);
        using var reference = TinyEditor(2);
        // Equal rewards in every group: no pair teaches anything, and the trainer says there is nothing to train on.
        var e = Assert.Throws<ArgumentException>(() => new EditorGrpoTrainer(editor, reference, new BlindChecker(checker), World, pool, options));
        Assert.Contains("only 0 usable states", e.Message);
        using (var trainer = new EditorGrpoTrainer(editor, reference, checker, World, pool, options with { FilterPool = false }))
        {
            Assert.Equal(trainer.CollectedPoolSize, trainer.PoolSize);
            Assert.True(trainer.PoolSize > 0);
        }
        foreach (var r in pool) r.Image.Dispose();
    }

    [Fact]
    public async Task An_interrupt_during_a_step_stops_it_saves_the_last_whole_step_and_ends_normally()
    {
        using var checker = Checker();
        var pool = await Pool(checker, 2);
        using var temp = new TempDir();
        using var interrupt = new CancellationTokenSource();
        var options = new EditorGrpoOptions
        {
            Grpo = new EditorGrpoOptions().Grpo with { NumGenerations = 2, GenerationBatchSize = 2, MaxCompletionLength = 2 },
            Sampling = new LearnedEditorOptions { Steps = 2, Strength = 1 },
            Run = new GrpoRunOptions { TotalSteps = 3, CheckpointEvery = 0, LogEvery = 0, OutputDir = temp.Path, NumThreads = 0 },
            TrainingPrompts = 2,
        };
        var reports = new List<GrpoProgress>();
        using (var editor = TinyEditor(2))
        using (var reference = TinyEditor(2))
        using (var trainer = new EditorGrpoTrainer(editor, reference, new CancellingChecker(checker, interrupt), World, pool, options))
        {
            await foreach (var p in trainer.TrainAsync(interrupt.Token)) reports.Add(p);
            Assert.Equal(1, trainer.Step);
        }
        Assert.Single(reports);
        Assert.Equal(1, GrpoRun<EditRequest, EditChainSample>.ReadRun(temp.Path).Step);
        using var saved = DiffuserCheckpoint.Load(EditorGrpoTrainer.CheckpointPath(temp.Path));
        Assert.Equal(1, saved.Step);
        foreach (var r in pool) r.Image.Dispose();
    }

    [Fact]
    public async Task A_resumed_run_ends_with_the_same_weights_as_an_uninterrupted_one()
    {
        using var checker = Checker();
        var pool = await Pool(checker, 4);
        using var temp = new TempDir();
        using var template = TinyEditor(2);
        EditorGrpoOptions Quick(string dir, int steps, bool resume = false) => new()
        {
            Grpo = new EditorGrpoOptions().Grpo with { NumGenerations = 2, GenerationBatchSize = 4, LearningRate = 1e-3, MaxCompletionLength = 3 },
            Sampling = new LearnedEditorOptions { Steps = 3, Strength = 1 },
            // One thread, set by each run: the count is process-wide and tests running beside this one change it, and a
            // straight run and its resumed copy must sum in the same order.
            Run = new GrpoRunOptions { TotalSteps = steps, CheckpointEvery = 0, LogEvery = 0, OutputDir = dir, Resume = resume, NumThreads = 1 },
            TrainingPrompts = 4,
        };
        static float[] Weights(TextToImageDiffuser m) => [.. m.parameters().SelectMany(p => p.detach().flatten().data<float>().ToArray())];
        float[] straight;
        using (var editor = TinyEditor(0).WithWeightsOf(template))
        using (var reference = TinyEditor(0).WithWeightsOf(template))
        using (var trainer = new EditorGrpoTrainer(editor, reference, checker, World, pool, Quick(temp.File("a"), 3)))
        {
            var reports = new List<GrpoProgress>();
            await foreach (var p in trainer.TrainAsync()) reports.Add(p);
            Assert.All(reports, r => Assert.True(double.IsFinite(r.Reward) && r.Reward is >= 0 and <= 1 && double.IsFinite(r.Kl), string.Join(", ", r.Metrics)));
            straight = Weights(editor);
        }
        using (var editor = TinyEditor(0).WithWeightsOf(template))
        using (var reference = TinyEditor(0).WithWeightsOf(template))
        using (var trainer = new EditorGrpoTrainer(editor, reference, checker, World, pool, Quick(temp.File("b"), 1)))
            await foreach (var _ in trainer.TrainAsync()) { }
        using (var editor = TinyEditor(7))
        using (var reference = TinyEditor(0).WithWeightsOf(template))
        using (var trainer = new EditorGrpoTrainer(editor, reference, checker, World, pool, Quick(temp.File("b"), 3, resume: true)))
        {
            Assert.Equal(1, trainer.Step);
            await foreach (var _ in trainer.TrainAsync()) { }
            Assert.Equal(straight, Weights(editor));
        }
        Assert.Equal(3, EditorGrpoTrainer.ReadRun(temp.File("b")).Run.TotalSteps);
        using var saved = DiffuserCheckpoint.Load(EditorGrpoTrainer.CheckpointPath(temp.File("b")));
        Assert.Equal(3, saved.Model.Config.ConditionChannels);
        foreach (var r in pool) r.Image.Dispose();
    }
}
