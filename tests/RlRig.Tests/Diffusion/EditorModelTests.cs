using RlRig.Diffusion;
using RlRig.Loop.Editors;
using RlRig.Tests.Support;
using RlRig.World;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace RlRig.Tests.Diffusion;

/// <summary>The learned editor's model, sampler and training: a Diffuser that also reads the source image.</summary>
public sealed class EditorModelTests : TorchTestBase
{
    [Fact]
    public void Dual_guidance_combines_the_three_predictions_as_InstructPix2Pix_does()
    {
        // e = e(0,0) + sI (e(I,0) - e(0,0)) + sT (e(I,T) - e(I,0)) = 1 + 1.5 * (2 - 1) + 3 * (5 - 2) = 11.5
        // (3B, 1) with B = 2, laid out [e(0,0); e(I,0); e(I,T)]: the first example 1, 2, 5; the second -1, 0, 0.
        using var laidOut = tensor(new float[] { 1, -1, 2, 0, 5, 0 }, [6, 1]);
        using var guided = ClassifierFreeGuidance.CombineTripled(laidOut, 1.5, 3);
        Assert.Equal([11.5f, -1 + 1.5f * 1 + 3 * 0], guided.data<float>().ToArray());
        // sI = sT = 1 is e(I, T); sT = 0 ignores the text; both 0 is e(0, 0).
        using var plain = ClassifierFreeGuidance.CombineTripled(laidOut, 1, 1);
        Assert.Equal([5f, 0f], plain.data<float>().ToArray());
        using var imageOnly = ClassifierFreeGuidance.CombineTripled(laidOut, 1, 0);
        Assert.Equal([2f, 0f], imageOnly.data<float>().ToArray());
        using var neither = ClassifierFreeGuidance.CombineTripled(laidOut, 0, 0);
        Assert.Equal([1f, -1f], neither.data<float>().ToArray());
        Assert.Throws<ArgumentException>(() => ClassifierFreeGuidance.CombineTripled(laidOut.narrow(0, 0, 4), 1, 1));
    }

    [Fact]
    public void Condition_channels_default_to_0_so_the_committed_Diffuser_loads_as_trained()
    {
        var json = ShapesWorldDiffuser.Config(new WorldOptions()).ToJson().Replace("\"ConditionChannels\": 0,", "");
        Assert.DoesNotContain("ConditionChannels", json);
        Assert.Equal(0, DiffuserConfig.FromJson(json).ConditionChannels);
        using var committed = DiffuserCheckpoint.Load(Repo.PathOf(ShapesWorldEditor.DiffuserPath));
        Assert.Equal(0, committed.Config.ConditionChannels);
        Assert.Contains("ConditionChannels: 0 vs 3", committed.Config.DifferencesFrom(committed.Config with { ConditionChannels = 3 }));
        Assert.Throws<ArgumentException>(() => (committed.Config with { ConditionChannels = -1 }).Validate());
    }

    [Fact]
    public void An_epsilon_editor_starts_as_exactly_the_Diffuser_whatever_the_source_image()
    {
        random.manual_seed(1);
        var config = TinyConfig();
        using var diffuser = new TextToImageDiffuser(config);
        Randomise(diffuser);
        var editorConfig = ShapesWorldEditor.Config(config) with { PredictionType = PredictionType.Epsilon, SourceResidual = false };
        Assert.Equal(3, editorConfig.ConditionChannels);
        Assert.Equal(config.Vocabulary, editorConfig.Vocabulary.Take(config.Vocabulary.Count));
        Assert.Contains("0.25", editorConfig.Vocabulary);
        using var editor = new TextToImageDiffuser(editorConfig);
        editor.InitialiseFrom(diffuser);

        var mine = editor.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var (name, p) in diffuser.named_parameters())
        {
            var q = mine[name];
            if (name == "unet.conv_in.weight")
            {
                Assert.True(q.narrow(1, 0, 3).eq(p).all().ToBoolean());
                Assert.Equal(0, q.narrow(1, 3, 3).abs().sum().ToSingle());
            }
            else if (name == "text_encoder.token_embedding.weight")
            {
                Assert.True(q.narrow(0, 0, p.shape[0]).eq(p).all().ToBoolean());
                Assert.Equal(editorConfig.Vocabulary.Count + 1, q.shape[0]);
            }
            else Assert.True(q.eq(p).all().ToBoolean(), $"{name} was not copied");
        }
        using var noGrad = no_grad();
        using var noisy = randn(3, 3, 16, 16);
        using var t = tensor(new long[] { 5, 500, 999 });
        using var tokens = config.CreateTokenizer().Encode(["red square left of blue square", "", "green square above yellow square"]);
        using var expected = diffuser.call(noisy, t, tokens);
        using var source = rand(3, 3, 16, 16) * 2 - 1;
        using var edited = editor.Forward(noisy, t, tokens, source);
        Assert.True(edited.allclose(expected, rtol: 1e-4, atol: 1e-5));
        // Another architecture is refused.
        using var other = new TextToImageDiffuser(editorConfig with { TextDim = 16, TextHeads = 4 });
        Assert.Throws<ArgumentException>(() => other.InitialiseFrom(diffuser));
    }

    [Fact]
    public void A_residual_editor_starts_from_the_Diffuser_as_the_identity_edit()
    {
        random.manual_seed(2);
        var config = TinyConfig(RlRig.Loop.EditTokens.Words.Append(";").ToList());
        using var diffuser = new TextToImageDiffuser(config);
        Randomise(diffuser);
        var editorConfig = ShapesWorldEditor.Config(config);
        Assert.Equal((PredictionType.Sample, true), (editorConfig.PredictionType, editorConfig.SourceResidual));
        using var editor = new TextToImageDiffuser(editorConfig);
        editor.InitialiseFrom(diffuser);
        var mine = editor.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var (name, p) in diffuser.named_parameters())
            if (name.StartsWith("unet.conv_out.", StringComparison.Ordinal)) Assert.Equal(0, mine[name].abs().sum().ToSingle());
            else if (p.shape.SequenceEqual(mine[name].shape)) Assert.True(mine[name].eq(p).all().ToBoolean(), $"{name} was not copied");
        using var noGrad = no_grad();
        using var sources = rand(2, 3, 16, 16) * 2 - 1;
        using var noisy = randn(2, 3, 16, 16);
        using var t = tensor(new long[] { 999, 40 });
        using var tokens = editorConfig.CreateTokenizer().Encode(["remove the red square", ""]);
        using var predicted = editor.Forward(noisy, t, tokens, sources);
        Assert.True(predicted.eq(sources).all().ToBoolean());
        // Untrained, it returns its source exactly at eta 0 (up to float rounding), guided on the text or not, at any strength.
        var pipeline = new ImageEditPipeline(editor);
        foreach (var (strength, guidance) in new[] { (1.0, 3.0), (0.5, 1.0) })
        {
            var generators = new[] { new Generator(1, CPU), new Generator(2, CPU) };
            using var result = pipeline.Edit(sources, ["remove the red square", "recolour the red square green"], generators, numInferenceSteps: 5,
                imageGuidanceScale: 1, guidanceScale: guidance, eta: 0, strength: strength);
            Assert.True(result.Images.allclose(sources, atol: 1e-5), $"max difference {(result.Images - sources).abs().max().ToSingle()}");
            foreach (var g in generators) g.Dispose();
        }
        // Image guidance extrapolates from the no-image branch, which reads a zero source: untrained, sI scales the source.
        var gs = new[] { new Generator(1, CPU), new Generator(2, CPU) };
        using var guided = pipeline.Edit(sources * 0.5, ["remove the red square", ""], gs, numInferenceSteps: 5, imageGuidanceScale: 1.5, guidanceScale: 3, eta: 0);
        Assert.True(guided.Images.allclose(sources * 0.75, atol: 1e-5));
        // An interrupt stops the chain at its next step, not after the whole batch.
        using (var cancelled = new CancellationTokenSource())
        {
            cancelled.Cancel();
            Assert.Throws<OperationCanceledException>(() => pipeline.Edit(sources, ["", ""], gs, numInferenceSteps: 5, cancellationToken: cancelled.Token));
        }
        foreach (var g in gs) g.Dispose();
        // Sharing the input weights splits the Diffuser's image weights between the noisy image and the source; still the identity edit.
        using var shared = new TextToImageDiffuser(editorConfig);
        shared.InitialiseFrom(diffuser, shareInputWeights: true);
        var w = diffuser.named_parameters().First(p => p.name == "unet.conv_in.weight").parameter;
        var sharedIn = shared.named_parameters().First(p => p.name == "unet.conv_in.weight").parameter;
        Assert.True(sharedIn.narrow(1, 0, 3).allclose(w / 2) && sharedIn.narrow(1, 3, 3).allclose(w / 2));
        using (var sharedPredicted = shared.Forward(noisy, t, tokens, sources)) Assert.True(sharedPredicted.eq(sources).all().ToBoolean());
        using var wide = new TextToImageDiffuser(config with { ConditionChannels = 4 });
        Assert.Throws<ArgumentException>(() => wide.InitialiseFrom(diffuser, shareInputWeights: true));
        // A residual needs x0 prediction and a 3-channel source.
        var e = Assert.Throws<ArgumentException>(() => (editorConfig with { PredictionType = PredictionType.Epsilon }).Validate());
        Assert.Contains("PredictionType = Sample", e.Message);
        Assert.Throws<ArgumentException>(() => (config with { SourceResidual = true, PredictionType = PredictionType.Sample }).Validate());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_recomputed_step_log_probability_equals_the_recorded_one_and_has_gradients(bool epsilon)
    {
        var (editor, pipeline) = TinyEditor(3, epsilon);
        using (editor)
        {
            using var sources = rand(2, 3, 16, 16) * 2 - 1;
            string[] instructions = ["move the red square left of the blue square", "recolour the red square green"];
            var generators = new[] { new Generator(10, CPU), new Generator(11, CPU) };
            using var result = pipeline.Edit(sources, instructions, generators, numInferenceSteps: 4, imageGuidanceScale: 1.5, guidanceScale: 3, eta: 1, returnTrajectory: true);
            var trajectory = result.Trajectory!;
            Assert.Equal([2, 4], trajectory.LogProbs!.shape);
            Assert.Equal(5, trajectory.Latents.Count);
            for (var s = 0; s < 3; s++)  // the last step is deterministic (recorded as 0)
            {
                using var recomputed = pipeline.LogProb(sources, instructions, trajectory.Latents[s], trajectory.Timesteps[s], trajectory.Latents[s + 1], 4, 1.5, 3, 1);
                Assert.True(recomputed.requires_grad);
                Assert.True(recomputed.allclose(trajectory.LogProbs[.., s], rtol: 1e-4, atol: 1e-4), $"step {s} differs");
                if (s == 0)
                {
                    recomputed.sum().backward();
                    Assert.Contains(editor.parameters(), p => p.grad is { } g && g.abs().sum().ToSingle() > 0);
                }
            }
            foreach (var g in generators) g.Dispose();
        }
    }

    [Fact]
    public void An_edit_is_the_same_from_its_seed_in_any_batch()
    {
        var (editor, pipeline) = TinyEditor(4);
        using (editor)
        {
            using var sources = rand(3, 3, 16, 16) * 2 - 1;
            string[] instructions = ["remove the red square", "add a small red square near the blue square", "resize the blue square to large"];
            Tensor Run(int[] which, int batchSize, double strength)
            {
                var generators = which.Select(i => new Generator((ulong)(100 + i), CPU)).ToList();
                using var picked = sources.index_select(0, tensor(which.Select(i => (long)i).ToArray()));
                using var result = pipeline.Edit(picked, [.. which.Select(i => instructions[i])], generators, numInferenceSteps: 3, strength: strength, batchSize: batchSize);
                foreach (var g in generators) g.Dispose();
                return result.Images.clone();
            }
            // Equal up to float rounding of batched arithmetic (3.7e-5 measured); a pixel level is 2/255.
            foreach (var strength in new[] { 1.0, 0.5 })
            {
                using var together = Run([0, 1, 2], 3, strength);
                using var alone = Run([1], 1, strength);
                using var otherBatch = Run([2, 1], 2, strength);
                Assert.True(together[1].allclose(alone[0], atol: 1e-4), $"max difference {(together[1] - alone[0]).abs().max().ToSingle()}");
                Assert.True(together[1].allclose(otherBatch[1], atol: 1e-4));
                Assert.False(together[0].allclose(together[1], atol: 1e-3));
            }
            Assert.Equal(60, ImageEditPipeline.Nfe(20, 1.0, 1.5, 3));
            Assert.Equal(30, ImageEditPipeline.Nfe(20, 0.5, 1.5, 3));
            Assert.Equal(20, ImageEditPipeline.Nfe(20, 1.0, 1, 1));
        }
    }

    [Fact]
    public void An_editor_run_starts_from_a_Diffuser_checkpoint_and_resumes_bit_exactly()
    {
        var world = new WorldOptions();
        var diffuserConfig = TinyShapesWorldConfig();
        var init = Path.Combine(TempDir(), "diffuser.ckpt");
        random.manual_seed(3);
        using (var diffuser = new TextToImageDiffuser(diffuserConfig)) DiffuserCheckpoint.Save(init, diffuser, 0);
        var config = ShapesWorldEditor.Config(diffuserConfig);
        var data = new EditorTrainingData(world, []);
        DiffuserTrainerOptions Options(string dir) => ShapesWorldEditor.TrainerOptions with
        {
            TotalSteps = 4, BatchSize = 3, WarmupSteps = 1, CheckpointEvery = 0, LogEvery = 0, OutputDir = dir, Seed = 5, InitFrom = init,
        };
        using var straight = new TextToImageDiffuser(config);
        var straightDir = TempDir();
        using (var trainer = new DiffuserTrainer(config, Options(straightDir)))
        {
            using (var source = DiffuserCheckpoint.Load(init))
                Assert.True(trainer.Model.named_parameters().First(p => p.name == "unet.conv_out.bias").parameter
                    .eq(source.Model.named_parameters().First(p => p.name == "unet.conv_out.bias").parameter).all().ToBoolean());
            for (var i = 0; i < 4; i++) trainer.TrainStep(data);
            CopyOf(trainer.Model, straight);
            Assert.EndsWith("editor.ckpt", trainer.SaveCheckpoint());
        }
        // The inference checkpoint is an editor: it reads the source image and the edit language.
        using (var saved = DiffuserCheckpoint.Load(Path.Combine(straightDir, "editor.ckpt")))
        {
            Assert.Equal(config, saved.Config);
            Assert.Equal(4, saved.Step);
            _ = new ImageEditPipeline(saved.Model);
        }

        var dir = TempDir();
        using (var first = new DiffuserTrainer(config, Options(dir)))
        {
            for (var i = 0; i < 2; i++) first.TrainStep(data);
            first.SaveCheckpoint();
        }
        // The resumed run takes its weights from the training state, not from InitFrom (gone by now).
        File.Delete(init);
        using var resumed = new DiffuserTrainer(config, Options(dir) with { Resume = true });
        Assert.Equal(2, resumed.Step);
        for (var i = 0; i < 2; i++) resumed.TrainStep(data);
        TrainerTests.AssertSameWeights(straight, resumed.Model);
    }

    [Fact]
    public void The_three_dropouts_must_leave_room_for_the_full_condition()
    {
        var e = Assert.Throws<ArgumentException>(() => (ShapesWorldEditor.TrainerOptions with { ConditioningDropout = 0.5, ImageDropout = 0.3, JointDropout = 0.3 }).Validate());
        Assert.Contains("add up to", e.Message);
        Assert.Throws<ArgumentException>(() => (ShapesWorldEditor.TrainerOptions with { CheckpointName = "../x.ckpt" }).Validate());
    }

    [Fact]
    public void Training_timesteps_stay_within_the_schedule()
    {
        var e = Assert.Throws<ArgumentException>(() => (ShapesWorldEditor.TrainerOptions with { MaxTimestep = -1 }).Validate());
        Assert.Contains("MaxTimestep", e.Message);
        var options = ShapesWorldEditor.TrainerOptions with { MaxTimestep = 1001, InitFrom = null, OutputDir = TempDir(), LogEvery = 0 };
        e = Assert.Throws<ArgumentException>(() => new DiffuserTrainer(ShapesWorldEditor.Config(TinyShapesWorldConfig()), options));
        Assert.Contains("beyond the schedule's 1000 timesteps", e.Message);
    }

    static TextToImageDiffuser CopyOf(TextToImageDiffuser from, TextToImageDiffuser into)
    {
        using var noGrad = no_grad();
        var source = from.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var (name, p) in into.named_parameters()) p.copy_(source[name]);
        return into;
    }

    // A tiny editor with random weights everywhere (the zero-initialised last layers too), so its output depends on its inputs.
    // The recipe's residual x0 editor, or with epsilon the InstructPix2Pix one.
    static (TextToImageDiffuser Model, ImageEditPipeline Pipeline) TinyEditor(int seed, bool epsilon = false)
    {
        random.manual_seed(seed);
        var config = ShapesWorldEditor.Config(TinyConfig(RlRig.Loop.EditTokens.Words.Append(";").ToList()));
        var model = new TextToImageDiffuser(epsilon ? config with { PredictionType = PredictionType.Epsilon, SourceResidual = false } : config);
        Randomise(model);
        return (model, new ImageEditPipeline(model));
    }

    static void Randomise(TextToImageDiffuser model)
    {
        using var noGrad = no_grad();
        foreach (var (name, p) in model.named_parameters())
            if (name.Contains("conv_out") || name.Contains("proj_out")) p.copy_(randn_like(p) * 0.05);
    }
}
