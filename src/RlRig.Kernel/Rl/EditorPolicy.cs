using RlRig.Diffusion;
using RlRig.Imaging;
using RlRig.Loop;
using RlRig.Loop.Editors;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace RlRig.Rl;

/// <summary>An edit drawn by the editor's chain: the edited image (owned by the rollout: it is disposed with it).</summary>
public sealed record EditChainSample(Image<Rgb24> Image);

/// <summary>
/// The learned editor's DDIM chain with eta &gt; 0 as a GRPO policy (DDPO / Flow-GRPO): an action is one denoising step,
/// its log-probability the Gaussian density of the step taken (mean over pixels, as DDPO), and the "tokens" of the loss
/// are the chain's steps. As DanceGRPO, a group may share its initial noise (the samples then differ by their step noise
/// only, so rewards compare what the policy chose, not where it started) and only a random subset of the steps is
/// trained on, the same subset for the whole batch. The last step, deterministic, is never trained on.
/// </summary>
public sealed class EditorPolicy(ImageEditPipeline pipeline, LearnedEditorOptions sampling, double trainedStepFraction = 0.6, bool shareInitialNoise = true)
    : IGrpoPolicy<EditRequest, EditChainSample>
{
    public ImageEditPipeline Pipeline { get; } = pipeline ?? throw new ArgumentNullException(nameof(pipeline));
    public LearnedEditorOptions Sampling { get; } = (sampling ?? throw new ArgumentNullException(nameof(sampling))).Validate() is var s && s.Eta > 0 ? s
        : throw new ArgumentException("the chain is a policy only with eta > 0 (eta = 0 is deterministic: no log-probability)", nameof(sampling));

    // What LogProbs needs to score the chains again: sources, instructions, every latent, which steps are trained.
    sealed class Chains(Tensor sources, string[] instructions, Tensor[] latents, int[] timesteps, bool[] trained, IReadOnlyList<Image<Rgb24>> images) : IDisposable
    {
        public Tensor Sources { get; } = sources;
        public string[] Instructions { get; } = instructions;
        public Tensor[] Latents { get; } = latents;
        public int[] Timesteps { get; } = timesteps;
        public bool[] Trained { get; } = trained;

        public void Dispose()
        {
            Sources.Dispose();
            foreach (var l in Latents) l.Dispose();
            foreach (var i in images) i.Dispose();
        }
    }

    public GrpoRollout<EditChainSample> Sample(IReadOnlyList<EditRequest> states, int numGenerations, GrpoOptions options, long seed)
    {
        var n = states.Count * numGenerations;
        var generators = DiffusionChains.Generators(seed, n);
        try
        {
            var sources = stack([.. states.SelectMany(s => Enumerable.Repeat(s.Image, numGenerations)).Select(im => TensorImages.ToTensor(im, PixelRange.MinusOneToOne))]);
            string[] instructions = [.. states.SelectMany(s => Enumerable.Repeat(EditorTrainingData.Prompt(s.Instruction), numGenerations))];
            var initial = shareInitialNoise ? DiffusionChains.SharedStart(seed, states.Count, numGenerations, Pipeline.Model.Config.ImageSize) : null;
            using var result = Pipeline.Edit(sources, instructions, generators, Sampling.Steps, Sampling.ImageGuidanceScale, Sampling.GuidanceScale,
                Sampling.Eta, Sampling.Strength, initial, Sampling.BatchSize, returnTrajectory: true);
            var trajectory = result.Trajectory!;
            var steps = trajectory.Timesteps.Count;
            var trained = DiffusionChains.TrainedSteps(steps, trainedStepFraction, seed);
            var images = result.ToImages();
            var chains = new Chains(sources.DetachFromDisposeScope(), instructions,
                [.. trajectory.Latents.Select(l => l.clone().DetachFromDisposeScope())], [.. trajectory.Timesteps], trained, images);
            var mask = tensor(Enumerable.Range(0, n).SelectMany(_ => trained).Select(t => t ? 1f : 0f).ToArray(), [n, steps]);
            return new GrpoRollout<EditChainSample>([.. images.Select(i => new EditChainSample(i))], trajectory.LogProbs!.clone(), mask, chains);
        }
        finally { foreach (var g in generators) g.Dispose(); }
    }

    public Tensor LogProbs(IReadOnlyList<EditRequest> states, GrpoRollout<EditChainSample> rollout, GrpoOptions options)
    {
        var chains = rollout.Kept as Chains ?? throw new ArgumentException("the rollout was not drawn by an editor policy", nameof(rollout));
        var n = rollout.Samples.Count;
        var columns = new Tensor[chains.Timesteps.Length];
        for (var j = 0; j < columns.Length; j++)
            columns[j] = chains.Trained[j]
                ? Pipeline.LogProb(chains.Sources, chains.Instructions, chains.Latents[j], chains.Timesteps[j], chains.Latents[j + 1], Sampling.Steps,
                    Sampling.ImageGuidanceScale, Sampling.GuidanceScale, Sampling.Eta)
                : zeros(n);
        return stack(columns, 1);
    }

    public IEnumerable<Parameter> TrainableParameters() => Pipeline.Model.parameters();
}
