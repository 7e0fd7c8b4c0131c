using RlRig.Diffusion;
using RlRig.Imaging;
using RlRig.Loop;
using RlRig.Loop.Editors;
using RlRig.Rl;
using RlRig.Tests.Diffusion;
using RlRig.World;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace RlRig.Tests.Rl;

/// <summary>
/// The training-free editor's region chain as a GRPO policy: log-probabilities over the regenerated region only, the
/// pipeline's recorded ones equal to their recomputation, and the policy's rollout / log-prob round trip.
/// </summary>
public sealed class InpaintPolicyTests : TorchTestBase
{
    static readonly WorldOptions World = new();

    static TextToImageDiffuser TinyDiffuser(int seed) => RandomizedTinyModel(TinyShapesWorldConfig(), seed);

    [Fact]
    public void A_masked_step_log_prob_counts_the_region_only_and_is_the_gaussian_density_there()
    {
        var sampler = new DdimSampler(new NoiseSchedule(), PredictionType.Epsilon);
        sampler.SetTimesteps(10);
        var t = sampler.Timesteps[3];
        using var sample = randn(1, 3, 4, 4);
        using var output = randn(1, 3, 4, 4);
        using var mask = zeros(1, 1, 4, 4);
        mask[0, 0, 1, 2] = 1;                                  // one pixel, its 3 channels
        using var noise = ones(1, 3, 4, 4);                    // z = 1 everywhere: x_{t-1} = mean + sigma
        var step = sampler.Step(output, t, sample, eta: 1.0, varianceNoise: noise, mask: mask);
        var sigma = sampler.Sigma(t, 1.0);
        // log N(mean + sigma; mean, sigma^2) = -1/2 - log sigma - log(2 pi)/2, in every channel of the pixel.
        var byHand = -0.5 - Math.Log(sigma) - 0.5 * Math.Log(2 * Math.PI);
        Assert.Equal(byHand, step.LogProb!.item<float>(), 4);
        // Outside the mask the step is not the policy's: any value there leaves the log-probability as it was.
        using var moved = step.PrevSample.clone();
        moved[0, .., 0, 0] = 100;
        Assert.Equal(byHand, sampler.LogProb(output, t, sample, moved, 1.0, mask).item<float>(), 4);
        Assert.NotEqual(byHand, sampler.LogProb(output, t, sample, moved, 1.0).item<float>(), 1);   // unmasked: every pixel counts
        using var empty = zeros(1, 1, 4, 4);
        Assert.Equal(0, sampler.LogProb(output, t, sample, moved, 1.0, empty).item<float>());
    }

    [Fact]
    public void An_inpainting_chains_recorded_log_probs_equal_their_recomputation_and_ignore_the_kept_region()
    {
        using var model = TinyDiffuser(5);
        var pipeline = new DiffusionPipeline(model);
        using var images = rand(2, 3, 32, 32) * 2 - 1;
        using var masks = zeros(2, 1, 32, 32);
        masks[.., .., 8..16, 8..20] = 1;
        string[] prompts = ["small red circle", "large blue square"], negatives = ["", "small red circle"];
        var generators = new[] { new Generator(4, CPU), new Generator(5, CPU) };
        using var result = pipeline.Inpaint(images, masks, prompts, generators, negatives, 0.6, 5, 3.0, 1.0, returnTrajectory: true);
        var trajectory = result.Trajectory!;
        Assert.Equal(3, trajectory.Timesteps.Count);
        for (var j = 0; j < trajectory.Timesteps.Count - 1; j++)
        {
            using var recomputed = pipeline.LogProb(masks, prompts, negatives, trajectory.Latents[j], trajectory.Timesteps[j], trajectory.Latents[j + 1], 5, 3.0, 1.0);
            Assert.True(recomputed.allclose(trajectory.LogProbs![.., j], rtol: 1e-4, atol: 1e-4), $"step {j}: {recomputed.str()} vs {trajectory.LogProbs![.., j].str()}");
            // The kept region is redrawn from fresh noise at every step: changing it there changes nothing.
            using var elsewhere = trajectory.Latents[j + 1] + (1 - masks) * 5;
            using var unchanged = pipeline.LogProb(masks, prompts, negatives, trajectory.Latents[j], trajectory.Timesteps[j], elsewhere, 5, 3.0, 1.0);
            Assert.True(unchanged.allclose(recomputed, rtol: 1e-5, atol: 1e-5));
        }
        Assert.Equal(0, trajectory.LogProbs![.., ^1].abs().sum().item<float>());   // the last step is deterministic
        foreach (var g in generators) g.Dispose();
    }

    [Fact]
    public async Task The_policy_acts_with_each_edits_last_pass_and_its_rollouts_log_probs_round_trip()
    {
        using var checker = EditorGrpoTests.Checker();
        var pool = await EditorGrpoTests.Pool(checker, 3);
        using var model = TinyDiffuser(1);
        var options = new TrainingFreeEditorOptions { Sampler = new() { Steps = 10 }, Strength = 0.4, ClearStrength = 0.2 };
        var policy = new InpaintPolicy(new TrainingFreeEditor(new DiffusionPipeline(model), World, options), trainedStepFraction: 0.5);
        Assert.Equal(4, policy.MaxSteps);
        Assert.All(pool, r => Assert.True(InpaintPolicy.CanAct(policy.Editor, r)));
        var grpo = new GrpoOptions { NumGenerations = 2, GenerationBatchSize = 6, MaxCompletionLength = 4 };
        using var scope = NewDisposeScope();
        using var rollout = policy.Sample(pool, 2, grpo, seed: 7);
        Assert.Equal(6, rollout.Samples.Count);
        Assert.Equal(new long[] { 6, 4 }, rollout.Mask.shape);
        // Each sample's trained steps are among its own chain's stochastic steps: never past it, never its last.
        var mask = rollout.Mask.data<float>().ToArray();
        for (var i = 0; i < 6; i++)
        {
            var steps = policy.Editor.StrengthOf(policy.Editor.Plan(pool[i / 2].Instruction, pool[i / 2].Reflection).Passes[^1]) == 0.4 ? 4 : 2;
            Assert.True(mask.Skip(i * 4).Take(4).Sum() >= 1);
            Assert.All(Enumerable.Range(steps - 1, 4 - steps + 1), j => Assert.Equal(0, mask[i * 4 + j]));
        }
        var recomputed = policy.LogProbs([.. pool.SelectMany(p => Enumerable.Repeat(p, 2))], rollout, grpo);
        Assert.True(recomputed.requires_grad);
        var trained = rollout.Mask.to_type(ScalarType.Bool);
        Assert.True(recomputed.masked_select(trained).allclose(rollout.LogProbs.masked_select(trained), rtol: 1e-4, atol: 1e-4));
        Assert.Equal(0, recomputed.masked_select(trained.logical_not()).abs().sum().item<float>());
        // A group shares its start and its environment but draws its own step noise: its edits differ.
        using var first = TensorImages.ToTensor(rollout.Samples[0].Image, PixelRange.MinusOneToOne);
        using var second = TensorImages.ToTensor(rollout.Samples[1].Image, PixelRange.MinusOneToOne);
        Assert.False(first.allclose(second));
        foreach (var r in pool) r.Image.Dispose();
    }
}
