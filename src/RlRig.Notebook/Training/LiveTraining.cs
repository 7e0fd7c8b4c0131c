using Microsoft.DotNet.Interactive;
using RlRig.Diffusion;
using RlRig.Notebook.Charts;

namespace RlRig.Notebook.Training;

/// <summary>
/// Trains in a notebook cell with a loss chart that updates in place. Interrupting the cell (the notebook's stop button,
/// or <c>rlrig run</c>'s cell time limit) cancels the cell's token: the trainer writes a checkpoint and the cell ends
/// normally, so <c>--resume</c> (or a new trainer with Resume) continues from there.
/// </summary>
public static class LiveTraining
{
    /// <summary>Runs <paramref name="trainer"/> to its last step or until cancelled; returns every step's report.</summary>
    /// <param name="updateEvery">Steps between chart updates (redrawing costs more than a step on small models). Defaults to 10.</param>
    /// <param name="cancellationToken">Defaults to the running cell's token.</param>
    public static Task<IReadOnlyList<TrainProgress>> TrainAsync(DiffuserTrainer trainer, IImageTextDataset data, int updateEvery = 10,
        CancellationToken? cancellationToken = null) =>
        TrainAsync(ct => trainer.TrainAsync(data, ct), trainer.Options.TotalSteps, updateEvery, cancellationToken, "MSE");

    /// <summary>
    /// Runs any trainer's progress sequence (the Diffuser's, the Actor's, the editor's) with the live loss chart, to its
    /// last step or until cancelled; returns every step's report.
    /// </summary>
    /// <param name="train">Starts the trainer with the token; its reports drive the chart.</param>
    /// <param name="totalSteps">The run's last step, for the title and the ETA.</param>
    /// <param name="yTitle">What the loss is, for the chart's axis. Defaults to "loss".</param>
    public static async Task<IReadOnlyList<TrainProgress>> TrainAsync(Func<CancellationToken, IAsyncEnumerable<TrainProgress>> train, int totalSteps,
        int updateEvery = 10, CancellationToken? cancellationToken = null, string yTitle = "loss")
    {
        ArgumentNullException.ThrowIfNull(train);
        if (updateEvery < 1) throw new ArgumentOutOfRangeException(nameof(updateEvery), updateEvery, "must be at least 1");
        var token = cancellationToken ?? KernelInvocationContext.Current?.CancellationToken ?? CancellationToken.None;
        var history = new List<TrainProgress>();
        var live = LiveDisplay.Show(LossChart(history, totalSteps, yTitle: yTitle));
        await foreach (var progress in train(token))
        {
            history.Add(progress);
            if (progress.Step % updateEvery == 0 || progress.Step == progress.TotalSteps) live.Update(LossChart(history, totalSteps, yTitle: yTitle));
        }
        live.Update(LossChart(history, totalSteps, stopped: history.Count > 0 && history[^1].Step < totalSteps, yTitle));
        return history;
    }

    /// <summary>The loss per step and its moving average, titled with the run's position and speed.</summary>
    public static PlotlyFigure LossChart(IReadOnlyList<TrainProgress> history, int totalSteps, bool stopped = false, string yTitle = "MSE")
    {
        var steps = history.Select(p => (double)p.Step).ToList();
        var smoothed = new List<double>();
        foreach (var p in history) smoothed.Add(smoothed.Count == 0 ? p.Loss : 0.9 * smoothed[^1] + 0.1 * p.Loss);
        var last = history.LastOrDefault();
        var title = last is null ? $"training: step 0/{totalSteps}"
            : $"training: step {last.Step}/{totalSteps}, loss {last.Loss:F4}, {last.StepsPerSecond:F2} steps/s" + (stopped ? " (stopped; resume to continue)" : last.Step < totalSteps ? $", ETA {last.Eta:hh\\:mm\\:ss}" : "");
        return Chart.Line([new Series("loss", steps, history.Select(p => p.Loss).ToList()), new Series("moving average", steps, smoothed)],
            title: title, xTitle: "step", yTitle: yTitle);
    }
}
