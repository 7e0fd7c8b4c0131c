using RlRig.Rl;
using RlRig.Tests.Diffusion;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace RlRig.Tests.Rl;

/// <summary>The GRPO trainer on a toy policy: it must provably improve, keep the old policy across passes, and fail loudly on bad rewards.</summary>
public sealed class GrpoTrainerTests : TorchTestBase
{
    /// <summary>A categorical bandit: one logit per arm, the same for every state; a sample is an arm, one "token".</summary>
    sealed class Bandit : nn.Module, IGrpoPolicy<int, int>
    {
        readonly Parameter logits;

        public Bandit(int arms) : base(nameof(Bandit))
        {
            logits = new Parameter(zeros(arms));
            RegisterComponents();
        }

        public double Probability(int arm)
        {
            using var _ = no_grad();
            return nn.functional.softmax(logits, 0)[arm].item<float>();
        }

        public GrpoRollout<int> Sample(IReadOnlyList<int> states, int numGenerations, GrpoOptions options, long seed)
        {
            using var _ = no_grad();
            using var generator = new Generator().manual_seed(seed);
            var probs = nn.functional.softmax(logits / options.Temperature, 0);
            var arms = multinomial(probs, states.Count * numGenerations, replacement: true, generator: generator);
            var samples = arms.data<long>().Select(a => (int)a).ToList();
            var logp = nn.functional.log_softmax(logits / options.Temperature, 0).index_select(0, arms).unsqueeze(1);
            return new GrpoRollout<int>(samples, logp, ones(samples.Count, 1));
        }

        public Tensor LogProbs(IReadOnlyList<int> states, GrpoRollout<int> rollout, GrpoOptions options) =>
            nn.functional.log_softmax(logits / options.Temperature, 0).index_select(0, tensor(rollout.Samples.Select(a => (long)a).ToArray())).unsqueeze(1);

        public IEnumerable<Parameter> TrainableParameters() => [logits];
    }

    static RewardFunction<int, int> Hit(int goal) =>
        new("hit", (_, arms, _) => Task.FromResult<IReadOnlyList<double?>>([.. arms.Select(a => (double?)(a == goal ? 1.0 : 0.0))]));

    static readonly int[] States = [0, 1, 2, 3];

    [Fact]
    public async Task A_bandit_learns_to_pull_the_rewarded_arm()
    {
        using var bandit = new Bandit(5);
        var options = new GrpoOptions { NumGenerations = 8, GenerationBatchSize = 32, LearningRate = 0.05 };
        using var trainer = new GrpoTrainer<int, int>(bandit, [Hit(3)], options);
        Assert.Equal(0.2, bandit.Probability(3), 5);
        var rewards = new List<double>();
        for (var step = 0; step < 60; step++) rewards.Add((await trainer.StepAsync(States, step)).RewardMean);
        Assert.True(bandit.Probability(3) > 0.9, $"p(arm 3) = {bandit.Probability(3):F3} after 60 steps");
        Assert.True(rewards.TakeLast(10).Average() > rewards.Take(10).Average() + 0.4, string.Join(", ", rewards.Select(r => r.ToString("F2"))));
    }

    [Fact]
    public async Task Scoring_a_batch_draws_and_rewards_as_a_step_does_and_learns_nothing()
    {
        using var bandit = new Bandit(5);
        using var trainer = new GrpoTrainer<int, int>(bandit, [Hit(3)], new GrpoOptions { NumGenerations = 8, GenerationBatchSize = 32, LearningRate = 0.5 });
        var scored = await trainer.ScoreAsync(States, 7);
        Assert.Equal(0.2, bandit.Probability(3), 5);
        Assert.Equal(States, scored.States);
        Assert.Equal(32, scored.Samples.Count);
        Assert.Equal(scored.Samples.Select(a => a == 3 ? 1.0 : 0.0), scored.Rewards.Total);
        Assert.Equal(GroupAdvantages.Compute(scored.Rewards.Total, 8, RewardScaling.Group).Advantages, scored.Advantages.Advantages);
        Assert.Contains(scored.Advantages.Advantages, a => a != 0);   // some group of seed 7 holds arm 3 beside other arms
        var step = await trainer.StepAsync(States, 7);
        Assert.Equal(scored.Samples, step.Batch.Samples);
        Assert.Equal(scored.Advantages.Advantages, step.Batch.Advantages.Advantages);
        Assert.NotEqual(0.2, bandit.Probability(3), 3);
    }

    [Fact]
    public async Task Several_passes_keep_the_old_policy_so_ratios_move_and_clip()
    {
        using var once = new Bandit(5);
        using var trainerOnce = new GrpoTrainer<int, int>(once, [Hit(3)], new GrpoOptions { NumGenerations = 8, GenerationBatchSize = 32, LearningRate = 0.5 });
        var single = await trainerOnce.StepAsync(States, 1);
        Assert.Equal(0, single.ClipRatioRegion);    // one pass: the ratio is exactly 1

        using var thrice = new Bandit(5);
        using var trainerThrice = new GrpoTrainer<int, int>(thrice, [Hit(3)], new GrpoOptions { NumGenerations = 8, GenerationBatchSize = 32, LearningRate = 0.5, NumIterations = 3 });
        var report = await trainerThrice.StepAsync(States, 1);
        Assert.True(report.ClipRatioRegion > 0, "by the third pass a large step must have pushed ratios past 1 +- 0.2");
        Assert.True(thrice.Probability(3) > once.Probability(3));
    }

    [Fact]
    public async Task All_equal_rewards_give_no_update_and_are_counted()
    {
        using var bandit = new Bandit(3);
        var constant = new RewardFunction<int, int>("constant", (_, arms, _) => Task.FromResult<IReadOnlyList<double?>>([.. arms.Select(_ => (double?)1.0)]));
        using var trainer = new GrpoTrainer<int, int>(bandit, [constant], new GrpoOptions { NumGenerations = 4, GenerationBatchSize = 8, LearningRate = 0.1 });
        var report = await trainer.StepAsync([0, 1], 2);
        Assert.Equal(1.0, report.Metrics()["frac_reward_zero_std"]);
        Assert.Equal(0, report.Loss);
        Assert.Equal(1 / 3.0, bandit.Probability(0), 5);
        Assert.DoesNotContain(report.Metrics().Values, double.IsInfinity);
    }

    [Fact]
    public async Task A_nan_reward_stops_the_step_naming_the_function_before_any_update()
    {
        using var bandit = new Bandit(3);
        var broken = new RewardFunction<int, int>("broken-judge", (_, arms, _) => Task.FromResult<IReadOnlyList<double?>>([.. arms.Select(_ => (double?)double.NaN)]));
        using var trainer = new GrpoTrainer<int, int>(bandit, [Hit(1), broken], new GrpoOptions { NumGenerations = 2, GenerationBatchSize = 4, LearningRate = 0.1 });
        var e = await Assert.ThrowsAsync<RewardFunctionException>(() => trainer.StepAsync([0, 1], 3));
        Assert.Contains("'broken-judge'", e.Message);
        Assert.Equal(1 / 3.0, bandit.Probability(1), 5);
    }

    [Fact]
    public async Task With_beta_the_kl_to_the_frozen_reference_is_reported_and_restrains_the_policy()
    {
        async Task<(double P, double Kl)> Train(double beta)
        {
            using var policy = new Bandit(5);
            using var reference = new Bandit(5);
            using var trainer = new GrpoTrainer<int, int>(policy, [Hit(3)], new GrpoOptions { NumGenerations = 8, GenerationBatchSize = 32, LearningRate = 0.05, Beta = beta }, reference);
                        GrpoStepReport<int, int>? last = null;
            for (var step = 0; step < 30; step++) last = await trainer.StepAsync(States, 1000 + step);
            return (policy.Probability(3), last!.Kl);
        }
        var free = await Train(0);
        var held = await Train(0.5);
        Assert.True(double.IsNaN(free.Kl));
        Assert.True(held.Kl > 0);
        Assert.True(held.P < free.P, $"p with beta 0.5 = {held.P:F3}, without = {free.P:F3}");
        Assert.Throws<ArgumentException>(() => new GrpoTrainer<int, int>(new Bandit(2), [Hit(0)], new GrpoOptions { Beta = 0.1 }));
    }

    [Fact]
    public async Task Memory_stays_flat_over_a_thousand_steps()
    {
        using var bandit = new Bandit(5);
        using var trainer = new GrpoTrainer<int, int>(bandit, [Hit(3)], new GrpoOptions { NumGenerations = 8, GenerationBatchSize = 32, LearningRate = 0.01 });
        for (var step = 0; step < 50; step++) await trainer.StepAsync(States, step);
        var before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        for (var step = 50; step < 1050; step++) await trainer.StepAsync(States, step);
        Assert.Equal(before, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }
}
