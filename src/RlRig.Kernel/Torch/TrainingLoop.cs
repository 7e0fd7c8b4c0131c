using System.Diagnostics;
using RlRig.Diffusion;

namespace RlRig.Torch;

/// <summary>
/// The loop every trainer runs: a step, a checkpoint when due (every <c>checkpointEvery</c> steps and at the end), a
/// report with a moving-average speed and ETA; on cancellation a checkpoint is written and the sequence ends normally.
/// </summary>
internal static class TrainingLoop
{
    /// <param name="step">The trainer's step count (read before and after each step).</param>
    /// <param name="trainStep">One optimisation step, logging included; returns its report with the speed fields 0.</param>
    /// <param name="saveCheckpoint">Writes the checkpoints; returns the inference checkpoint's path.</param>
    public static IEnumerable<TrainProgress> Run(Func<int> step, int totalSteps, int checkpointEvery, Func<TrainProgress> trainStep,
        Func<string> saveCheckpoint, CancellationToken ct) =>
        Run(step, totalSteps, checkpointEvery, trainStep, saveCheckpoint,
            (report, rate, eta, saved) => report with { StepsPerSecond = rate, Eta = eta, CheckpointPath = saved }, ct);

    /// <summary>The same loop for any trainer's report type (GRPO's reports carry rewards, not a loss).</summary>
    /// <param name="withTiming">The report with its speed (steps/s), ETA and the checkpoint written after it (or null).</param>
    public static IEnumerable<T> Run<T>(Func<int> step, int totalSteps, int checkpointEvery, Func<T> trainStep,
        Func<string> saveCheckpoint, Func<T, double, TimeSpan, string?, T> withTiming, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        double? secondsPerStep = null;
        while (step() < totalSteps)
        {
            if (ct.IsCancellationRequested) { saveCheckpoint(); yield break; }
            var started = clock.Elapsed;
            T report;
            // A step stopped mid-way (a GRPO step's edits honour the token) has changed nothing yet: the checkpoint holds
            // the last whole step, and a resume redoes this one exactly.
            try { report = trainStep(); }
            catch (OperationCanceledException) when (ct.IsCancellationRequested) { saveCheckpoint(); yield break; }
            var done = step();
            var due = done == totalSteps || (checkpointEvery > 0 && done % checkpointEvery == 0);
            var saved = due ? saveCheckpoint() : null;
            var took = (clock.Elapsed - started).TotalSeconds;
            // A short moving average: steady enough for an ETA, quick to follow a change of load.
            secondsPerStep = secondsPerStep is { } s ? 0.9 * s + 0.1 * took : took;
            var rate = 1.0 / Math.Max(secondsPerStep.Value, 1e-9);
            yield return withTiming(report, rate, TimeSpan.FromSeconds((totalSteps - done) / rate), saved);
        }
    }
}
