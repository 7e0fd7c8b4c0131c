using Microsoft.DotNet.Interactive;
using RlRig.Notebook.Charts;
using RlRig.Rl;

namespace RlRig.Notebook.Training;

/// <summary>
/// Runs a GRPO trainer (Actor-GRPO, editor-GRPO) in a notebook cell with reward curves that update in place: the batch's
/// mean reward and its spread, the KL to the reference, and the fractions of clipped tokens and of groups with no signal.
/// Interrupting the cell cancels the trainer, which writes a checkpoint and stops cleanly.
/// </summary>
public static class LiveGrpo
{
    /// <param name="train">Starts the trainer with the token.</param>
    /// <param name="totalSteps">The run's last step, for the title and the ETA.</param>
    /// <param name="updateEvery">Steps between chart updates. Defaults to 1 (a GRPO step takes seconds).</param>
    /// <param name="cancellationToken">Defaults to the running cell's token.</param>
    public static async Task<IReadOnlyList<GrpoProgress>> TrainAsync(Func<CancellationToken, IAsyncEnumerable<GrpoProgress>> train, int totalSteps,
        int updateEvery = 1, CancellationToken? cancellationToken = null)
    {
        ArgumentNullException.ThrowIfNull(train);
        if (updateEvery < 1) throw new ArgumentOutOfRangeException(nameof(updateEvery), updateEvery, "must be at least 1");
        var token = cancellationToken ?? KernelInvocationContext.Current?.CancellationToken ?? CancellationToken.None;
        var history = new List<GrpoProgress>();
        var rewards = LiveDisplay.Show(RewardChart(history, totalSteps));
        var health = LiveDisplay.Show(HealthChart(history));
        await foreach (var progress in train(token))
        {
            history.Add(progress);
            if (progress.Step % updateEvery != 0 && progress.Step != progress.TotalSteps) continue;
            rewards.Update(RewardChart(history, totalSteps));
            health.Update(HealthChart(history));
        }
        rewards.Update(RewardChart(history, totalSteps, stopped: history.Count > 0 && history[^1].Step < totalSteps));
        health.Update(HealthChart(history));
        return history;
    }

    /// <summary>The mean reward per step with one standard deviation either side, and each reward function's mean.</summary>
    public static PlotlyFigure RewardChart(IReadOnlyList<GrpoProgress> history, int totalSteps, bool stopped = false)
    {
        var steps = history.Select(p => (double)p.Step).ToList();
        var series = new List<Series>
        {
            new("reward", steps, [.. history.Select(p => p.Reward)]),
            new("reward + std", steps, [.. history.Select(p => p.Reward + p.RewardStd)]),
            new("reward - std", steps, [.. history.Select(p => p.Reward - p.RewardStd)]),
        };
        var functions = history.Count == 0 ? [] : history[^1].Metrics.Keys.Where(k => k.StartsWith("rewards/", StringComparison.Ordinal)).ToList();
        series.AddRange(functions.Select(f => new Series(f["rewards/".Length..].Replace("/mean", "", StringComparison.Ordinal), steps,
            [.. history.Select(p => p.Metrics.GetValueOrDefault(f, double.NaN))])));
        var last = history.LastOrDefault();
        var title = last is null ? $"GRPO: step 0/{totalSteps}"
            : $"GRPO: step {last.Step}/{totalSteps}, reward {last.Reward:F3} ± {last.RewardStd:F3}, {last.StepsPerSecond:F2} steps/s"
              + (stopped ? " (stopped; resume to continue)" : last.Step < totalSteps ? $", ETA {last.Eta:hh\\:mm\\:ss}" : "");
        return Chart.Line(series, title: title, xTitle: "step", yTitle: "reward");
    }

    /// <summary>KL to the reference, clip fraction, and the fraction of groups whose rewards were all equal (no signal).</summary>
    public static PlotlyFigure HealthChart(IReadOnlyList<GrpoProgress> history)
    {
        var steps = history.Select(p => (double)p.Step).ToList();
        return Chart.Line(
        [
            new("kl", steps, [.. history.Select(p => p.Kl)]),
            new("clip fraction", steps, [.. history.Select(p => p.ClipRatio)]),
            new("groups with zero reward std", steps, [.. history.Select(p => p.FracRewardZeroStd)]),
        ], title: "GRPO health", xTitle: "step", yTitle: "value");
    }
}
