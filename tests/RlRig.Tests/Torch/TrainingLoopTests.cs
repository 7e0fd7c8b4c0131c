using RlRig.Torch;
using Xunit;

namespace RlRig.Tests.Torch;

public sealed class TrainingLoopTests
{
    [Fact]
    public void A_step_cancelled_midway_saves_the_last_whole_step_and_ends_without_an_exception()
    {
        using var cts = new CancellationTokenSource();
        var step = 0;
        var saved = new List<int>();
        int TrainStep()
        {
            // The third step is interrupted while its rewards are being computed, before it changes anything.
            if (step == 2) { cts.Cancel(); cts.Token.ThrowIfCancellationRequested(); }
            return ++step;
        }
        var reports = TrainingLoop.Run(() => step, 10, 0, TrainStep, () => { saved.Add(step); return "ckpt"; }, (r, _, _, _) => r, cts.Token).ToList();
        Assert.Equal([1, 2], reports);
        Assert.Equal([2], saved);
    }

    [Fact]
    public void An_exception_other_than_the_interrupt_is_not_swallowed()
    {
        var step = 0;
        int TrainStep() => step == 1 ? throw new OperationCanceledException("a timeout inside the step, not the user") : ++step;
        Assert.Throws<OperationCanceledException>(() => TrainingLoop.Run(() => step, 10, 0, TrainStep, () => "ckpt", (r, _, _, _) => r, CancellationToken.None).ToList());
    }
}
