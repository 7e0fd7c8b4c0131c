using RlRig.Diffusion;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace RlRig.Tests.Diffusion;

public sealed class SamplerTests : TorchTestBase
{
    static double HandAlphaBar(NoiseSchedule s, int t) => t < 0 ? 1 : Enumerable.Range(0, t + 1).Aggregate(1.0, (acc, i) => acc * (1 - s.Betas[i]));

    [Fact]
    public void LinearBetasAndAlphaBarMatchClosedForm()
    {
        var s = new NoiseSchedule(10, BetaSchedule.Linear, 0.1, 0.5);
        Assert.Equal(0.1, s.Betas[0], 12);
        Assert.Equal(0.5, s.Betas[9], 12);
        Assert.Equal(0.1 + 0.4 * 4 / 9, s.Betas[4], 12);
        Assert.Equal(0.9 * (1 - (0.1 + 0.4 / 9)), s.AlphasCumprod[1], 12);
        var cos = new NoiseSchedule(1000, BetaSchedule.Cosine);
        static double F(double u) => Math.Pow(Math.Cos((u + 0.008) / 1.008 * Math.PI / 2), 2);
        Assert.Equal(F(500.0 / 1000) / F(0), cos.AlphasCumprod[499], 6);
    }

    [Fact]
    public void AddNoiseIsTheForwardProcessPerSample()
    {
        var s = new NoiseSchedule();
        using var x0 = tensor(new[] { 0.5, -0.25 }, [2, 1]);
        using var eps = tensor(new[] { 1.0, 2.0 }, [2, 1]);
        using var t = tensor(new long[] { 10, 900 });
        using var xt = s.AddNoise(x0, eps, t);
        var a = new[] { s.AlphasCumprod[10], s.AlphasCumprod[900] };
        Assert.Equal(Math.Sqrt(a[0]) * 0.5 + Math.Sqrt(1 - a[0]) * 1.0, xt[0, 0].ToDouble(), 12);
        Assert.Equal(Math.Sqrt(a[1]) * -0.25 + Math.Sqrt(1 - a[1]) * 2.0, xt[1, 0].ToDouble(), 12);
    }

    [Fact]
    public void TrailingTimestepsStartAtTheLastTrainingStep()
    {
        var s = new NoiseSchedule();
        Assert.Equal([999, 749, 499, 249], s.InferenceTimesteps(4));
        Assert.Equal(999, s.InferenceTimesteps(20)[0]);
        Assert.Equal(49, s.InferenceTimesteps(20)[^1]);
    }

    [Fact]
    public void StepRefusesToRunBeforeSetTimesteps()
    {
        var sampler = new DdimSampler(new NoiseSchedule());
        using var x = zeros(1, 3, 4, 4);
        var e = Assert.Throws<InvalidOperationException>(() => sampler.Step(x, 999, x));
        Assert.Contains("SetTimesteps", e.Message);
        sampler.SetTimesteps(10);
        Assert.Throws<ArgumentException>(() => sampler.Step(x, 998, x));  // not on the grid
    }

    [Theory]
    [InlineData(BetaSchedule.Linear, 10)]
    [InlineData(BetaSchedule.Cosine, 25)]
    public void DeterministicDdimWithTheTrueNoiseReconstructsX0(BetaSchedule kind, int steps)
    {
        var s = new NoiseSchedule(1000, kind);
        var sampler = new DdimSampler(s);
        sampler.SetTimesteps(steps);
        using var g = new Generator(7, CPU);
        using var x0 = rand([2, 3, 8, 8], float64, generator: g) * 2 - 1;
        using var eps = randn([2, 3, 8, 8], float64, generator: g);
        var x = s.AddNoise(x0, eps, sampler.Timesteps[0]);
        foreach (var t in sampler.Timesteps)
        {
            var step = sampler.Step(eps, t, x, eta: 0);
            Assert.Null(step.LogProb);
            x.Dispose(); step.PredOriginalSample.Dispose();
            x = step.PrevSample;
        }
        Assert.True((x - x0).abs().max().ToDouble() < 1e-9);
        x.Dispose();
    }

    [Fact]
    public void VPredictionRecoversX0AndEpsilon()
    {
        var s = new NoiseSchedule();
        var sampler = new DdimSampler(s, PredictionType.VPrediction, clipSample: false);
        sampler.SetTimesteps(10);
        var t = sampler.Timesteps[3];
        using var x0 = tensor(new[] { 0.3, -0.7 }, [1, 2], float64);
        using var eps = tensor(new[] { 1.2, 0.4 }, [1, 2], float64);
        using var tt = tensor(new long[] { t });
        using var xt = s.AddNoise(x0, eps, tt);
        using var v = s.Velocity(x0, eps, tt);
        var step = sampler.Step(v, t, xt);
        Assert.True((step.PredOriginalSample - x0).abs().max().ToDouble() < 1e-12);
        // eta = 0 DDIM with the true eps lands exactly on the forward process at the previous timestep.
        using var expected = s.AddNoise(x0, eps, sampler.PreviousTimestep(t));
        Assert.True((step.PrevSample - expected).abs().max().ToDouble() < 1e-12);
    }

    [Fact]
    public void SamplePredictionIsX0AndGivesTheSameStepAsTheEquivalentEpsilon()
    {
        var s = new NoiseSchedule();
        var sampler = new DdimSampler(s, PredictionType.Sample, clipSample: false);
        var reference = new DdimSampler(s, PredictionType.Epsilon, clipSample: false);
        sampler.SetTimesteps(10);
        reference.SetTimesteps(10);
        var t = sampler.Timesteps[3];
        using var x0 = tensor(new[] { 0.3, -0.7 }, [1, 2], float64);
        using var eps = tensor(new[] { 1.2, 0.4 }, [1, 2], float64);
        using var xt = s.AddNoise(x0, eps, t);
        var step = sampler.Step(x0, t, xt);
        Assert.True((step.PredOriginalSample - x0).abs().max().ToDouble() < 1e-12);
        // eta = 0 with the true x0 lands exactly on the forward process at the previous timestep ...
        using var expected = s.AddNoise(x0, eps, sampler.PreviousTimestep(t));
        Assert.True((step.PrevSample - expected).abs().max().ToDouble() < 1e-12);
        // ... and with eta > 0 the step and its density are those of the epsilon model that predicts the same noise.
        using var noise = tensor(new[] { -0.3, 0.9 }, [1, 2], float64);
        var stochastic = sampler.Step(x0, t, xt, eta: 1, varianceNoise: noise);
        var viaEps = reference.Step(eps, t, xt, eta: 1, varianceNoise: noise);
        Assert.True((stochastic.PrevSample - viaEps.PrevSample).abs().max().ToDouble() < 1e-12);
        Assert.Equal(viaEps.LogProb!.ToDouble(), stochastic.LogProb!.ToDouble(), 9);
        using var rescored = sampler.LogProb(x0, t, xt, stochastic.PrevSample, eta: 1);
        Assert.Equal(stochastic.LogProb!.ToDouble(), rescored.ToDouble(), 12);
        // Clipping applies to the x0 the step uses, not to the noise it implies (diffusers' order).
        var clipped = new DdimSampler(s, PredictionType.Sample);
        clipped.SetTimesteps(10);
        using var far = tensor(new[] { 1.5, -0.7 }, [1, 2], float64);
        Assert.Equal(1.0, clipped.Step(far, t, xt).PredOriginalSample[0, 0].ToDouble(), 12);
    }

    [Fact]
    public void PredictedX0AndSigmaMatchHandArithmetic()
    {
        var s = new NoiseSchedule(10, BetaSchedule.Linear, 0.1, 0.5);
        var sampler = new DdimSampler(s, clipSample: false);
        sampler.SetTimesteps(5);  // 9, 7, 5, 3, 1
        Assert.Equal([9, 7, 5, 3, 1], sampler.Timesteps);
        double at = HandAlphaBar(s, 7), ap = HandAlphaBar(s, 5);
        var sigma = 0.5 * Math.Sqrt((1 - ap) / (1 - at) * (1 - at / ap));
        Assert.Equal(sigma, sampler.Sigma(7, 0.5), 12);
        Assert.Equal(0.0, sampler.Sigma(1, 1.0), 12);  // last step: a_prev = 1, nothing left to add

        using var x = tensor(new[] { 0.2 }, [1, 1], float64);
        using var e = tensor(new[] { -0.5 }, [1, 1], float64);
        var step = sampler.Step(e, 7, x);
        Assert.Equal((0.2 - Math.Sqrt(1 - at) * -0.5) / Math.Sqrt(at), step.PredOriginalSample.ToDouble(), 12);
    }

    [Fact]
    public void LogProbIsTheGaussianDensityOfTheProducedSample()
    {
        var s = new NoiseSchedule(10, BetaSchedule.Linear, 0.1, 0.5);
        var sampler = new DdimSampler(s, clipSample: false);
        sampler.SetTimesteps(5);
        double at = HandAlphaBar(s, 5), ap = HandAlphaBar(s, 3);
        var eta = 0.8;
        var sigma = eta * Math.Sqrt((1 - ap) / (1 - at) * (1 - at / ap));
        double[] xs = [0.1, -0.3], es = [0.7, -1.1], zs = [0.5, -2.0];
        using var x = tensor(xs, [1, 2], float64);
        using var e = tensor(es, [1, 2], float64);
        using var z = tensor(zs, [1, 2], float64);
        var step = sampler.Step(e, 5, x, eta, varianceNoise: z);

        var handLogProb = 0.0;
        for (var i = 0; i < 2; i++)
        {
            var x0 = (xs[i] - Math.Sqrt(1 - at) * es[i]) / Math.Sqrt(at);
            var mean = Math.Sqrt(ap) * x0 + Math.Sqrt(1 - ap - sigma * sigma) * es[i];
            var prev = mean + sigma * zs[i];
            Assert.Equal(prev, step.PrevSample[0, i].ToDouble(), 12);
            handLogProb += -Math.Pow(prev - mean, 2) / (2 * sigma * sigma) - Math.Log(sigma) - 0.5 * Math.Log(2 * Math.PI);
        }
        Assert.Equal(new long[] { 1 }, step.LogProb!.shape);
        Assert.Equal(handLogProb / 2, step.LogProb.ToDouble(), 10);

        // Re-scoring the same transition gives the same value; a different model output gives a lower one here.
        using var again = sampler.LogProb(e, 5, x, step.PrevSample, eta);
        Assert.Equal(step.LogProb.ToDouble(), again.ToDouble(), 12);
        using var other = sampler.LogProb(e + 0.5, 5, x, step.PrevSample, eta);
        Assert.NotEqual(step.LogProb.ToDouble(), other.ToDouble(), 6);
        Assert.Throws<ArgumentOutOfRangeException>(() => sampler.LogProb(e, 5, x, step.PrevSample, 0));
    }

    [Fact]
    public void DdpmPosteriorMatchesClosedFormAndEqualsDdimWithEtaOne()
    {
        var s = new NoiseSchedule(10, BetaSchedule.Linear, 0.1, 0.5);
        var ddpm = new DdpmSampler(s, clipSample: false);
        ddpm.SetTimesteps(10);  // unstrided: the textbook posterior
        var (c0, ct, variance) = ddpm.Posterior(6);
        double beta = s.Betas[6], a = 1 - beta, ab = HandAlphaBar(s, 6), abPrev = HandAlphaBar(s, 5);
        Assert.Equal(Math.Sqrt(abPrev) * beta / (1 - ab), c0, 12);
        Assert.Equal(Math.Sqrt(a) * (1 - abPrev) / (1 - ab), ct, 12);
        Assert.Equal((1 - abPrev) / (1 - ab) * beta, variance, 12);

        var ddim = new DdimSampler(s, clipSample: false);
        ddim.SetTimesteps(10);
        using var x = tensor(new[] { 0.4, -0.9, 0.1 }, [1, 3], float64);
        using var e = tensor(new[] { 0.3, 0.2, -1.5 }, [1, 3], float64);
        using var z = tensor(new[] { 1.0, -0.5, 0.25 }, [1, 3], float64);
        var p = ddpm.Step(e, 6, x, varianceNoise: z);
        var d = ddim.Step(e, 6, x, eta: 1.0, varianceNoise: z);
        Assert.True((p.PrevSample - d.PrevSample).abs().max().ToDouble() < 1e-12);
        Assert.Equal(p.LogProb!.ToDouble(), d.LogProb!.ToDouble(), 10);
        var x0 = (0.4 - Math.Sqrt(1 - ab) * 0.3) / Math.Sqrt(ab);
        Assert.Equal(c0 * x0 + ct * 0.4 + Math.Sqrt(variance) * 1.0, p.PrevSample[0, 0].ToDouble(), 12);
        // The last step adds no noise and has no density.
        Assert.Null(ddpm.Step(e, 0, x, varianceNoise: z).LogProb);
    }

    [Fact]
    public void SeededStepsAreDeterministic()
    {
        var sampler = new DdimSampler(new NoiseSchedule());
        sampler.SetTimesteps(20);
        using var x = ones(2, 3, 4, 4);
        using var e = zeros(2, 3, 4, 4);
        SamplerStepOutput Run(ulong seed) { using var g = new Generator(seed, CPU); return sampler.Step(e, 999, x, 1.0, g); }
        var (a, b, c) = (Run(3), Run(3), Run(4));
        Assert.True(a.PrevSample.eq(b.PrevSample).all().ToBoolean());
        Assert.False(a.PrevSample.eq(c.PrevSample).all().ToBoolean());
        using var g = new Generator(1, CPU);
        Assert.Throws<ArgumentException>(() => sampler.Step(e, 999, x, 1.0, g, x));  // generator and explicit noise
    }

    [Fact]
    public void GuidanceExtrapolatesFromTheUnconditionalHalf()
    {
        using var doubled = tensor(new float[] { 1, 2, 3, 5 }, [2, 2]);  // [uncond; cond]
        using var guided = ClassifierFreeGuidance.CombineDoubled(doubled, 3.0);
        Assert.Equal([1 + 3 * (3 - 1f), 2 + 3 * (5 - 2f)], guided.data<float>().ToArray());
        using var cond = ClassifierFreeGuidance.CombineDoubled(doubled, 1.0);
        Assert.Equal([3f, 5f], cond.data<float>().ToArray());
    }
}

public sealed class MinSnrWeightTests : TorchTestBase
{
    [Fact]
    public void WeightsFollowThePaperForEpsilonVAndX0()
    {
        using var snr = torch.tensor(new[] { 0.5f, 5f, 50f });
        using var eps = DiffuserTrainer.MinSnrWeight(snr, 5, PredictionType.Epsilon);
        Assert.Equal(new[] { 1f, 1f, 0.1f }, eps.data<float>().ToArray(), (a, b) => Math.Abs(a - b) < 1e-6);
        using var v = DiffuserTrainer.MinSnrWeight(snr, 5, PredictionType.VPrediction);
        Assert.Equal(new[] { 0.5f / 1.5f, 5f / 6f, 5f / 51f }, v.data<float>().ToArray(), (a, b) => Math.Abs(a - b) < 1e-6);
        // An x0 loss is already in x0 space: its weight is min(SNR, gamma) itself.
        using var x0 = DiffuserTrainer.MinSnrWeight(snr, 5, PredictionType.Sample);
        Assert.Equal(new[] { 0.5f, 5f, 5f }, x0.data<float>().ToArray(), (a, b) => Math.Abs(a - b) < 1e-6);
    }

    [Fact]
    public void SignalToNoiseIsAlphaBarOverItsComplement()
    {
        var schedule = new NoiseSchedule();
        using var t = torch.tensor(new long[] { 0, 499, 999 });
        using var snr = schedule.SignalToNoise(t);
        var expected = new[] { 0, 499, 999 }.Select(i => (float)(schedule.AlphaBar(i) / (1 - schedule.AlphaBar(i)))).ToArray();
        Assert.Equal(expected, snr.data<float>().ToArray(), (a, b) => Math.Abs(a - b) <= 1e-5 * Math.Abs(b));
    }
}
