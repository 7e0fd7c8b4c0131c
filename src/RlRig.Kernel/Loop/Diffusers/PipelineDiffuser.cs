using RlRig.Diffusion;
using RlRig.World;
using TorchSharp;
using static TorchSharp.torch;

namespace RlRig.Loop.Diffusers;

/// <summary>How a pipeline samples: DDIM steps, classifier-free guidance scale and eta. Defaults are the shapes world's
/// (<see cref="ShapesWorldDiffuser"/>: 20 steps, guidance 3, eta 1).</summary>
public sealed record SamplerSettings
{
    public int Steps { get; init; } = ShapesWorldDiffuser.SamplingSteps;
    public double GuidanceScale { get; init; } = ShapesWorldDiffuser.GuidanceScale;
    public double Eta { get; init; } = ShapesWorldDiffuser.Eta;

    /// <summary>Denoiser evaluations of one image at a given strength (the fraction of the chain run).</summary>
    public int Nfe(double strength = 1.0) => DiffusionPipeline.Nfe(Steps, GuidanceScale, strength);

    /// <exception cref="ArgumentOutOfRangeException">A setting is out of range; the message names it.</exception>
    public SamplerSettings Validate()
    {
        if (Steps is < 1 or > 1000) throw new ArgumentOutOfRangeException(nameof(Steps), Steps, "sampling steps must be in [1, 1000]");
        if (!double.IsFinite(GuidanceScale) || GuidanceScale < 0 || GuidanceScale > 50) throw new ArgumentOutOfRangeException(nameof(GuidanceScale), GuidanceScale, "guidance must be finite and in [0, 50] (1 = none)");
        if (!double.IsFinite(Eta) || Eta < 0 || Eta > 10) throw new ArgumentOutOfRangeException(nameof(Eta), Eta, "eta must be finite and in [0, 10]");
        return this;
    }
}

/// <summary>
/// The Diffuser of the loop over a <see cref="DiffusionPipeline"/>: each request's image is drawn with its own generator
/// seeded by the request's seed, so it is the same however requests are batched.
/// </summary>
public sealed class PipelineDiffuser(DiffusionPipeline pipeline, SamplerSettings? settings = null, int batchSize = 50) : IDiffuser
{
    public SamplerSettings Settings { get; } = (settings ?? new SamplerSettings()).Validate();

    public DiffusionPipeline Pipeline => pipeline;

    public Task<IReadOnlyList<GeneratedImage>> GenerateAsync(IReadOnlyList<GenerationRequest> requests, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(requests);
        var images = new List<GeneratedImage>(requests.Count);
        foreach (var chunk in requests.Chunk(Math.Max(1, batchSize)))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var generators = chunk.Select(r => new Generator((ulong)r.Seed, CPU)).ToList();
            try
            {
                using var result = pipeline.Generate(chunk.Select(r => r.Target.ToPromptText()).ToList(), generators, Settings.Steps, Settings.GuidanceScale, Settings.Eta, chunk.Length);
                images.AddRange(result.ToImages().Select(i => new GeneratedImage(i, Settings.Nfe())));
            }
            finally { foreach (var g in generators) g.Dispose(); }
        }
        return Task.FromResult<IReadOnlyList<GeneratedImage>>(images);
    }
}
