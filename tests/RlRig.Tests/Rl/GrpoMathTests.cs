using RlRig.Rl;
using RlRig.Tests.Diffusion;
using Xunit;
using static TorchSharp.torch;

namespace RlRig.Tests.Rl;

/// <summary>GRPO's arithmetic against numbers worked out by hand (the working is in each test's comments).</summary>
public sealed class GrpoMathTests : TorchTestBase
{
    const double Tol = 1e-5;

    [Fact]
    public void Group_scaling_divides_by_the_groups_sample_std_plus_epsilon()
    {
        // [1, 2, 3, 4]: mean 2.5, Bessel std = sqrt(5/3) = 1.2909944; A = (r - 2.5) / 1.2910944.
        var result = GroupAdvantages.Compute([1, 2, 3, 4], 4, RewardScaling.Group);
        double[] expected = [-1.5 / 1.2910944, -0.5 / 1.2910944, 0.5 / 1.2910944, 1.5 / 1.2910944];
        Assert.Equal(expected, result.Advantages, (a, b) => Math.Abs(a - b) < Tol);
        Assert.Equal(0, result.FracRewardZeroStd);
    }

    [Fact]
    public void Batch_scaling_uses_the_whole_batchs_std_and_none_only_centres()
    {
        // Groups [0, 2] and [10, 10]. Batch of all four: mean 5.5, var (30.25 + 12.25 + 20.25 + 20.25) / 3 = 27.6667,
        // std 5.2599113; the first group's A = (-1, 1) / 5.2600113. The second group is all equal: A = 0, counted.
        var batch = GroupAdvantages.Compute([0, 2, 10, 10], 2, RewardScaling.Batch);
        Assert.Equal([-1 / 5.2600113, 1 / 5.2600113, 0, 0], batch.Advantages, (a, b) => Math.Abs(a - b) < Tol);
        Assert.Equal(0.5, batch.FracRewardZeroStd);
        var none = GroupAdvantages.Compute([0, 2, 10, 10], 2, RewardScaling.None);
        Assert.Equal([-1.0, 1.0, 0, 0], none.Advantages);
    }

    [Fact]
    public void Samples_without_a_reward_are_left_out_and_a_group_with_one_valid_reward_gives_no_signal()
    {
        // [NaN, 1, 3]: valid 1 and 3, mean 2, std sqrt(2) = 1.4142136 -> A = (0, -1/1.4143136, 1/1.4143136).
        // [NaN, 5, NaN]: one valid reward, no relative advantage -> all 0, counted as too few.
        var result = GroupAdvantages.Compute([double.NaN, 1, 3, double.NaN, 5, double.NaN], 3, RewardScaling.Group);
        Assert.Equal([0, -1 / 1.4143136, 1 / 1.4143136, 0, 0, 0], result.Advantages, (a, b) => Math.Abs(a - b) < Tol);
        Assert.Equal(0.5, result.FracTooFewValid);
        Assert.Equal(0, result.FracRewardZeroStd);
        Assert.All(result.Advantages, a => Assert.True(double.IsFinite(a)));
    }

    [Fact]
    public void Rewards_are_the_weighted_sum_of_the_functions_that_apply()
    {
        // f1 = [1, -, 2], f2 = [0.5, -, -], weights (1, 2): [1 + 2 * 0.5, none, 2] = [2, NaN, 2].
        var table = RewardTable.Combine(["f1", "f2"], [[1.0, null, 2.0], [0.5, null, null]], [1.0, 2.0], 3);
        Assert.Equal(2, table.Total[0]);
        Assert.True(double.IsNaN(table.Total[1]));
        Assert.Equal(2, table.Total[2]);
        Assert.Equal(1.5, table.MeanPerFunction()["f1"]);
        Assert.Equal(0.5, table.MeanPerFunction()["f2"]);
    }

    [Theory]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void A_non_finite_reward_is_an_error_naming_the_function(double bad)
    {
        var e = Assert.Throws<RewardFunctionException>(() => RewardTable.Combine(["gain", "validity"], [[1.0, 2.0], [0.0, bad]], [1.0, 1.0], 2));
        Assert.Contains("'validity'", e.Message);
        Assert.Contains("sample 1", e.Message);
        var count = Assert.Throws<RewardFunctionException>(() => RewardTable.Combine(["gain"], [[1.0]], [1.0], 2));
        Assert.Contains("'gain' returned 1 rewards for 2 samples", count.Message);
    }

    // Ratios r = [[1.5, 0.9], [0.7, 1.1]] (old log-probs 0, so logp = ln r), A = (1, -1), mask [[1, 1], [1, 0]], eps 0.2:
    //   sample 0 (A = 1):  t0 min(1.5, clip 1.2) = 1.2 -> -1.2;  t1 min(0.9, 0.9) -> -0.9
    //   sample 1 (A = -1): t0 min(-0.7, -clip 0.8) = -0.8 -> 0.8;  t1 is padding.
    static GrpoLossOutput Worked(GrpoOptions options, bool withReference = false, Tensor? logProbs = null)
    {
        var logp = logProbs ?? tensor(new[] { MathF.Log(1.5f), MathF.Log(0.9f), MathF.Log(0.7f), MathF.Log(1.1f) }).reshape(2, 2);
        return GrpoLoss.Compute(logp, zeros(2, 2), withReference ? zeros(2, 2) : null, tensor(new[] { 1f, -1f }), tensor(new[] { 1f, 1f, 1f, 0f }).reshape(2, 2), options);
    }

    [Theory]
    [InlineData(GrpoLossType.Dapo, -1.3 / 3)]        // (-1.2 - 0.9 + 0.8) / 3 active tokens
    [InlineData(GrpoLossType.Grpo, -0.125)]          // mean(-2.1 / 2, 0.8 / 1)
    [InlineData(GrpoLossType.DrGrpo, -1.3 / 8)]      // -1.3 / (2 samples x max_completion_length 4)
    public void Each_aggregation_matches_the_hand_computation(GrpoLossType type, double expected)
    {
        using var output = Worked(new GrpoOptions { LossType = type, MaxCompletionLength = 4 });
        Assert.Equal(expected, output.Loss.item<float>(), 5);
        Assert.Equal(1 / 3.0, output.ClipRatioHigh, 5);     // (0, 0): A > 0 and r > 1.2
        Assert.Equal(1 / 3.0, output.ClipRatioLow, 5);      // (1, 0): A < 0 and r < 0.8
        Assert.Equal(2 / 3.0, output.ClipRatioRegion, 5);
        Assert.True(double.IsNaN(output.Kl));
    }

    [Fact]
    public void A_separate_upper_epsilon_moves_only_the_upper_clip()
    {
        // epsilon_high 0.6: 1.5 < 1.6 is not clipped: (-1.5 - 0.9 + 0.8) / 3.
        using var output = Worked(new GrpoOptions { EpsilonHigh = 0.6 });
        Assert.Equal(-1.6 / 3, output.Loss.item<float>(), 5);
        Assert.Equal(0, output.ClipRatioHigh);
        Assert.Equal(1 / 3.0, output.ClipRatioLow, 5);
    }

    [Fact]
    public void The_k3_kl_to_the_reference_is_added_with_weight_beta()
    {
        // ref = 0: kl = exp(-ln r) + ln r - 1 = 1/r + ln r - 1: r = 1.5 -> 0.0721318, 0.9 -> 0.0057506, 0.7 -> 0.0718965;
        // mean over the 3 active tokens 0.0499263; loss -1.3/3 + 0.1 * 0.0499263.
        using var output = Worked(new GrpoOptions { Beta = 0.1 }, withReference: true);
        Assert.Equal(0.0499263, output.Kl, 5);
        Assert.Equal(-1.3 / 3 + 0.1 * 0.0499263, output.Loss.item<float>(), 5);
    }

    [Fact]
    public void Clipped_tokens_give_no_gradient_and_the_others_give_minus_ratio_times_advantage()
    {
        var logp = tensor(new[] { MathF.Log(1.5f), MathF.Log(0.9f), MathF.Log(0.7f), MathF.Log(1.1f) }).reshape(2, 2).requires_grad_();
        using var output = Worked(new GrpoOptions(), logProbs: logp);
        output.Loss.backward();
        var grad = logp.grad!.data<float>().ToArray();
        // d(-r A / 3)/d logp = -r A / 3: (0, 1): -0.9 / 3 = -0.3. (0, 0) and (1, 0) are clipped: 0. (1, 1) is padding: 0.
        Assert.Equal([0f, -0.3f, 0f, 0f], grad, (a, b) => Math.Abs(a - b) < 1e-6);
    }

    [Fact]
    public void Options_use_trls_names_and_defaults_and_explain_what_to_fix()
    {
        var defaults = new GrpoOptions();
        Assert.Equal((8, 0.0, 0.2, 1e-6, 1.0, RewardScaling.Group, GrpoLossType.Dapo, 1, 256),
            (defaults.NumGenerations, defaults.Beta, defaults.Epsilon, defaults.LearningRate, defaults.Temperature, defaults.ScaleRewards, defaults.LossType, defaults.NumIterations, defaults.MaxCompletionLength));
        Assert.Null(defaults.EpsilonHigh);
        Assert.Equal(0.2, defaults.UpperEpsilon);
        var json = (defaults with { LossType = GrpoLossType.DrGrpo }).ToJson();
        Assert.Contains("\"num_generations\": 8", json);
        Assert.Contains("\"loss_type\": \"dr_grpo\"", json);
        Assert.Contains("\"scale_rewards\": \"group\"", json);
        Assert.Equal(defaults with { LossType = GrpoLossType.DrGrpo }, GrpoOptions.FromJson(json) with { RewardWeights = null });

        var one = Assert.Throws<ArgumentException>(() => new GrpoOptions { NumGenerations = 1 }.Validate());
        Assert.Contains("at least 2 generations", one.Message);
        var partial = Assert.Throws<ArgumentException>(() => new GrpoOptions { NumGenerations = 4, GenerationBatchSize = 10 }.Validate());
        Assert.Contains("generation_batch_size (10) must be divisible by num_generations (4)", partial.Message);
        Assert.Contains("use 8", partial.Message);
        Assert.Contains("top_p", Assert.Throws<ArgumentException>(() => new GrpoOptions { TopP = 0 }.Validate()).Message);
        Assert.Contains("3 weights for 2 reward functions", Assert.Throws<ArgumentException>(() => new GrpoOptions { RewardWeights = [1, 1, 1] }.WeightsFor(2)).Message);
    }
}
