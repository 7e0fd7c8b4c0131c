using RlRig.Diffusion;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace RlRig.Tests.Diffusion;

public sealed class ModelAndPipelineTests : TorchTestBase
{
    [Fact]
    public void DefaultModelHasTheIntendedSizeAndShapes()
    {
        using var model = new TextToImageDiffuser(DiffuserBenchmarks.DefaultConfig());
        Assert.InRange(model.ParameterCount, 1_000_000, 3_000_000);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var tokens = model.Config.CreateTokenizer().Encode(["red square left of blue square", ""]);
        var output = model.call(randn(2, 3, 32, 32), tensor(new long[] { 5, 999 }), tokens);
        Assert.Equal(new long[] { 2, 3, 32, 32 }, output.shape);
    }

    [Fact]
    public void FreshModelsHaveIdentityNormsAndFiniteOutputs()
    {
        // Guards the workaround in Norms: TorchSharp's GroupNorm left its affine parameters uninitialised.
        for (var i = 0; i < 3; i++)
        {
            using var model = new TextToImageDiffuser(TinyConfig());
            foreach (var (name, p) in model.named_parameters().Where(p => p.name.Contains("norm") || p.name.Contains("ln_")))
                Assert.True(p.eq(name.EndsWith("weight") ? 1 : 0).all().ToBoolean(), $"{name} is not the identity");
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            var output = model.call(randn(2, 3, 16, 16), tensor(new long[] { 0, 999 }), model.Config.CreateTokenizer().Encode(["red square", ""]));
            Assert.True(output.isfinite().all().ToBoolean());
        }
    }

    [Fact]
    public void PaddedPositionsOfThePromptDoNotReachTheImage()
    {
        random.manual_seed(3);
        // The pooled prompt (PooledText) must average the words only, as attention reads the words only.
        using var model = new TextToImageDiffuser(TinyConfig() with { MaskPadding = true, PooledText = true });
        using var unmasked = new TextToImageDiffuser(TinyConfig() with { PooledText = true });
        using (no_grad())
            foreach (var p in model.parameters()) p.normal_(0, 0.2);  // zero-initialised output layers would hide attention
        unmasked.load_state_dict(model.state_dict());
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var tokens = model.Config.CreateTokenizer().Encode(["red square left of blue square", ""]);
        var context = model.EncodeText(tokens);
        var padding = tokens.eq(PromptTokenizer.PadId);
        padding[.., 0] = tensor(false);  // the first position always counts (the null prompt's one key)
        var scrambled = where(padding.unsqueeze(-1), randn_like(context), context);
        var (noisy, t) = (randn(2, 3, 16, 16), tensor(new long[] { 10, 500 }));

        var original = model.Denoise(noisy, t, context, tokens);
        Assert.True(original.isfinite().all().ToBoolean());  // the all-padding null prompt included
        Assert.True(original.allclose(model.Denoise(noisy, t, scrambled, tokens), rtol: 1e-5, atol: 1e-5));
        Assert.False(unmasked.Denoise(noisy, t, context, tokens).allclose(unmasked.Denoise(noisy, t, scrambled, tokens), rtol: 1e-3, atol: 1e-3));
    }

    [Fact]
    public void TheTextConvolutionSeesAWordAndTheWordsJustBeforeIt()
    {
        random.manual_seed(4);
        using var encoder = new TextEncoder(TinyConfig() with { TextConvWidth = 3 });
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var tokenizer = TinyConfig().CreateTokenizer();
        var tokens = tokenizer.Encode(["red square left of blue square", "red square left of green square"]);
        Assert.Equal(1, tokens[0].ne(tokens[1]).nonzero().numel());  // only the colour word (position 4) differs
        var words = encoder.EmbedWords(tokens);                         // (2, L, d)
        var changed = (words[0] - words[1]).abs().amax([1]).gt(1e-6);  // (L): positions whose features differ
        var expected = zeros(changed.shape, dtype: @bool);
        expected[TensorIndex.Slice(4, 7)] = tensor(true);              // the changed word and the two after it, no others
        Assert.True(changed.eq(expected).all().ToBoolean(), $"positions that changed: {string.Join(",", changed.nonzero().data<long>())}");
        Assert.Throws<ArgumentException>(() => (TinyConfig() with { TextConvWidth = -1 }).Validate());
    }

    [Fact]
    public void RecordingTheAttentionToThePromptChangesNothingAndGivesEveryBlocksWeights()
    {
        random.manual_seed(5);
        using var model = new TextToImageDiffuser(TinyConfig() with { MaskPadding = true });
        using (no_grad())
            foreach (var p in model.parameters()) p.normal_(0, 0.2);  // zero-initialised output layers would hide attention
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var tokens = model.Config.CreateTokenizer().Encode(["red square left of blue square", ""]);
        var (noisy, t) = (randn(2, 3, 16, 16), tensor(new long[] { 10, 500 }));
        var fused = model.call(noisy, t, tokens);
        var weights = new List<Tensor>();
        Tensor recorded;
        using (model.RecordCrossAttention(weights)) recorded = model.call(noisy, t, tokens);
        Assert.True(fused.allclose(recorded, rtol: 1e-4, atol: 1e-5));
        // TinyConfig attends to the prompt at 8x8 and 4x4: down 8, middle 4, up 8.
        Assert.Equal([64L, 16, 64], weights.Select(w => w.shape[1]));
        foreach (var w in weights)
        {
            Assert.Equal(new long[] { 2, w.shape[1], 12 }, w.shape);
            Assert.True(w.sum([2]).allclose(ones(2, w.shape[1]), atol: 1e-5));  // a distribution over the words
            Assert.Equal(0, w[0, .., TensorIndex.Slice(6, null)].abs().max().item<float>());  // padding gets none
            w.Dispose();
        }
        weights.Clear();
        model.call(noisy, t, tokens);
        Assert.Empty(weights);  // recording stops with the scope
    }

    [Fact]
    public void ConfigValidationSaysHowToFix()
    {
        var bad = TinyConfig() with { ImageSize = 18 };
        Assert.Contains("divisible", Assert.Throws<ArgumentException>(() => bad.Validate()).Message);
        var badAttention = TinyConfig() with { SelfAttentionResolutions = [16, 32] };
        var e = Assert.Throws<ArgumentException>(() => badAttention.Validate());
        Assert.Contains("SelfAttentionResolutions: attention at 32x32", e.Message);
        Assert.Equal(TinyConfig(), DiffuserConfig.FromJson(TinyConfig().ToJson()));
    }

    [Fact]
    public void GenerateIsSeededInRangeAndIndependentOfBatchSize()
    {
        using var model = RandomizedTinyModel(seed: 1);
        var pipeline = new DiffusionPipeline(model);
        string[] prompts = ["red square left of blue square", "green square above yellow square", "blue square below red square"];
        GenerationResult Run(int batch) { using var g = new Generator(11, CPU); return pipeline.Generate(prompts, 5, 2.0, generator: g, batchSize: batch, returnTrajectory: true); }
        using var a = Run(3);
        using var b = Run(2);
        Assert.Equal(new long[] { 3, 3, 16, 16 }, a.Images.shape);
        Assert.True(a.Images.abs().max().ToDouble() <= 1.0);
        var diff = (a.Images - b.Images).abs().max().ToDouble();
        // Batched kernels round differently per batch size, and the first step divides by sqrt(alpha_bar_999) ~ 0.006; a
        // real dependence on the batch (e.g. noise drawn per batch) would differ by O(1).
        Assert.True(diff < 2e-3, $"images differ by {diff} between batch sizes 3 and 2");
        Assert.Equal(6, a.Trajectory!.Latents.Count);
        Assert.Equal(5, a.Trajectory.PredictedOriginals.Count);
        Assert.Null(a.Trajectory.LogProbs);
        using var strip = a.TrajectoryStrip(0);
        Assert.Equal(6 * 17 - 1, strip.Width);
        Assert.Equal(3, a.ToImages().Count);
    }

    [Fact]
    public void StochasticGenerationRecordsLogProbsThatTheSamplerReproduces()
    {
        using var model = RandomizedTinyModel(seed: 2);
        var pipeline = new DiffusionPipeline(model);
        using var g = new Generator(5, CPU);
        using var result = pipeline.Generate(["red square left of blue square", "blue square above red square"], 4, guidanceScale: 1.0, eta: 1.0, generator: g, returnTrajectory: true);
        var tr = result.Trajectory!;
        Assert.Equal(new long[] { 2, 4 }, tr.LogProbs!.shape);
        Assert.True(tr.LogProbs[.., 3].eq(0).all().ToBoolean());  // the last step is deterministic
        // Re-score step 1 from the stored latents: what Reflection-GRPO will do with updated weights.
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var tokens = pipeline.Tokenizer.Encode(["red square left of blue square", "blue square above red square"]);
        var output = model.call(tr.Latents[1], full([2], tr.Timesteps[1], int64), tokens);
        var sampler = new DdimSampler(pipeline.Schedule, model.Config.PredictionType);
        sampler.SetTimesteps(4);
        var logProb = sampler.LogProb(output, tr.Timesteps[1], tr.Latents[1], tr.Latents[2], 1.0);
        Assert.True(logProb.allclose(tr.LogProbs[.., 1], rtol: 1e-4, atol: 1e-4));
    }

    [Fact]
    public void StochasticGuidedGenerationIsReproducibleFromItsSeed()
    {
        using var model = RandomizedTinyModel(seed: 4);
        var pipeline = new DiffusionPipeline(model);
        string[] prompts = ["red square left of blue square", "blue square above red square", "red square below blue square"];
        Tensor Sample(ulong seed)
        {
            using var g = new Generator(seed, CPU);
            using var result = pipeline.Generate(prompts, 5, guidanceScale: 3.0, eta: 1.0, generator: g, batchSize: 2);
            return result.Images.clone();
        }
        using var a = Sample(8);
        using var b = Sample(8);
        using var c = Sample(9);
        Assert.True(a.eq(b).all().ToBoolean());
        Assert.False(a.eq(c).all().ToBoolean());
    }

    [Fact]
    public void EditRunsTheTailOfTheGridFromTheNoisedInput()
    {
        using var model = new TextToImageDiffuser(TinyConfig());
        var pipeline = new DiffusionPipeline(model);
        using var images = zeros(2, 3, 16, 16);
        using var g = new Generator(3, CPU);
        using var edited = pipeline.Edit(images, ["red square left of blue square", "red square right of blue square"], strength: 0.4,
            numInferenceSteps: 10, generator: g, returnTrajectory: true);
        Assert.Equal(pipeline.Schedule.InferenceTimesteps(10)[6..], edited.Trajectory!.Timesteps);
        Assert.Equal(new long[] { 2, 3, 16, 16 }, edited.Images.shape);
        Assert.Throws<ArgumentException>(() => pipeline.Edit(images, ["red square"], generator: g));  // one prompt for two images
        Assert.Throws<PromptTokenizerException>(() => pipeline.Generate(["purple square"]));
    }

    static TextToImageDiffuser RandomizedTinyModel(long seed) => RandomizedTinyModel(TinyConfig(), seed);
}
