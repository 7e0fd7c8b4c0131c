using RlRig.Notebook.Training;
using RlRig.Rl;
using Xunit;

namespace RlRig.Tests.Notebook;

public sealed class LiveGrpoTests
{
    static GrpoProgress At(int step, double reward, double kl) => new(step, 10, new Dictionary<string, double>
    {
        ["reward"] = reward, ["reward_std"] = 0.1, ["kl"] = kl, ["clip_ratio/region_mean"] = 0, ["frac_reward_zero_std"] = 0.25,
        ["rewards/checker_gain/mean"] = reward, ["rewards/<b>validity</b>/mean"] = -0.5,
    }, 2.0, TimeSpan.FromSeconds(4), null);

    [Fact]
    public void Reward_chart_has_the_mean_its_spread_and_each_function_and_escapes_their_names()
    {
        var chart = LiveGrpo.RewardChart([At(1, 0.1, double.NaN), At(2, 0.3, double.NaN)], 10);
        Assert.Equal(5, chart.TraceCount);
        Assert.Contains("step 2/10, reward 0.300", chart.Title);
        Assert.Contains("ETA", chart.Title);
        Assert.DoesNotContain("<b>", chart.ToHtml());
        Assert.Contains("(stopped; resume to continue)", LiveGrpo.RewardChart([At(2, 0.3, 0)], 10, stopped: true).Title);
    }

    [Fact]
    public void A_missing_kl_is_a_gap_in_the_health_chart_not_an_error()
    {
        var chart = LiveGrpo.HealthChart([At(1, 0.1, double.NaN), At(2, 0.2, 0.01)]);
        Assert.Equal(3, chart.TraceCount);
        Assert.Contains("null", chart.ToJson());
    }
}
