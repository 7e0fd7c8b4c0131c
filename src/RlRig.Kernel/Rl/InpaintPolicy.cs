using RlRig.Diffusion;
using RlRig.Loop;
using RlRig.Loop.Editors;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace RlRig.Rl;

/// <summary>
/// The training-free editor's region chain as a GRPO policy (DDPO / Flow-GRPO on inpainting): the editor plans its
/// passes from the instruction and the Checker's reading (<see cref="TrainingFreeEditor.Plan"/>), and the action is
/// the plan's last pass, the one that makes the edit (it draws the object, or for a removal clears it): a DDIM chain with
/// eta &gt; 0 over the pass's region, whose per-step log-probabilities count the region's pixels only (outside it a
/// step is the source noised afresh, <see cref="DiffusionPipeline.Inpaint"/>). An earlier pass (a move's or resize's
/// clearing of the old place) is part of the environment: it runs once per state with the current weights, and the
/// group shares its result, so a group's rewards differ by what the last pass drew only. As <see cref="EditorPolicy"/>,
/// a group may share its initial noise and a random subset of the steps is trained on.
/// </summary>
/// <remarks>
/// The action is the last pass alone because the reward judges the whole edit but only the last pass draws what the
/// instruction asks for: a clearing pass that fails leaves an object the reward sees either way, and training both
/// passes of a move would double the chains scored per sample for a pass that is 4 of the 8 + 4 steps. Drawing and
/// clearing passes run different lengths (strength 0.4 and 0.2 of the 20-step grid: 8 and 4 steps), so the loss's
/// tokens are the longest chain's steps, the shorter ones padded with masked-out columns.
/// </remarks>
public sealed class InpaintPolicy(TrainingFreeEditor editor, double trainedStepFraction = 0.6, bool shareInitialNoise = true)
    : IGrpoPolicy<EditRequest, EditChainSample>
{
    public TrainingFreeEditor Editor { get; } = (editor ?? throw new ArgumentNullException(nameof(editor))).Options.Sampler.Eta > 0 ? editor
        : throw new ArgumentException("the region chain is a policy only with eta > 0 (eta = 0 is deterministic: no log-probability)", nameof(editor));

    /// <summary>The steps of the longest action: a drawing or a clearing pass, whichever re-runs more of the chain.</summary>
    public int MaxSteps => MaxStepsOf(Editor.Options);

    /// <summary>The steps of the longest last pass the editor with <paramref name="options"/> runs (the loss's <see cref="GrpoOptions.MaxCompletionLength"/>).</summary>
    public static int MaxStepsOf(TrainingFreeEditorOptions options)
    {
        // The steps a strength runs are its NFE without guidance.
        int Steps(double strength) => DiffusionPipeline.Nfe(options.Sampler.Steps, guidanceScale: 1.0, strength);
        return Math.Max(Steps(options.Strength), Steps(options.ClearStrength));
    }

    /// <summary>Whether the editor can carry out the request (its plan has a pass): the requests this policy can act on.</summary>
    public static bool CanAct(TrainingFreeEditor editor, EditRequest request) => editor.Plan(request.Instruction, request.Reflection).Passes.Count > 0;

    // One strength's chains: which samples they are, what LogProbs needs to score them again, and which steps are trained.
    sealed record Chain(long[] Rows, Tensor Masks, string[] Prompts, string[] NegativePrompts, int[] Timesteps, Tensor[] Latents, bool[] Trained);

    sealed class Chains(List<Chain> chains, IReadOnlyList<Image<Rgb24>> images) : IDisposable
    {
        public List<Chain> All { get; } = chains;

        public void Dispose()
        {
            foreach (var c in All)
            {
                c.Masks.Dispose();
                foreach (var l in c.Latents) l.Dispose();
            }
            foreach (var i in images) i.Dispose();
        }
    }

    public GrpoRollout<EditChainSample> Sample(IReadOnlyList<EditRequest> states, int numGenerations, GrpoOptions options, long seed)
    {
        ArgumentNullException.ThrowIfNull(states);
        var plans = states.Select((s, i) =>
        {
            var (passes, failure) = Editor.Plan(s.Instruction, s.Reflection);
            return passes.Count > 0 ? passes : throw new ArgumentException($"state {i}: the training-free editor cannot carry out '{s.Instruction}': {failure}", nameof(states));
        }).ToList();
        var before = Environment(states, plans, seed);
        var n = states.Count * numGenerations;
        var width = MaxSteps;
        var generators = DiffusionChains.Generators(seed, n);
        var images = new Image<Rgb24>[n];
        var chains = new List<Chain>();
        try
        {
            var shared = shareInitialNoise ? DiffusionChains.SharedStart(seed, states.Count, numGenerations, Editor.World.CanvasSize) : null;
            var logProbs = zeros(n, width);
            var mask = zeros(n, width);
            var s = Editor.Options.Sampler;
            foreach (var group in Enumerable.Range(0, n).GroupBy(k => Editor.StrengthOf(plans[k / numGenerations][^1])))
            {
                long[] rows = [.. group.Select(k => (long)k)];
                var pass = rows.Select(k => plans[(int)k / numGenerations][^1]).ToList();
                var inputs = rows.Select((k, r) => Editor.PassInput(before[(int)k / numGenerations], pass[r])).ToList();
                var masks = stack([.. inputs.Select(i => i.Mask)]);
                using var index = tensor(rows);
                using var result = Editor.Pipeline.Inpaint(stack([.. inputs.Select(i => i.Start)]), masks, [.. pass.Select(p => p.Prompt)],
                    [.. rows.Select(k => generators[(int)k])], [.. pass.Select(p => p.NegativePrompt)], group.Key, s.Steps, s.GuidanceScale, s.Eta,
                    Editor.Options.BatchSize, returnTrajectory: true, initialNoise: shared?.index_select(0, index));
                var trajectory = result.Trajectory!;
                var steps = trajectory.Timesteps.Count;
                var trained = DiffusionChains.TrainedSteps(steps, trainedStepFraction, seed);
                logProbs.index_copy_(0, index, nn.functional.pad(trajectory.LogProbs!, [0, width - steps]));
                using var trainedRow = tensor(trained.Select(t => t ? 1f : 0f).ToArray());
                mask.index_copy_(0, index, nn.functional.pad(trainedRow, [0, width - steps]).expand(rows.Length, width));
                foreach (var (k, image) in rows.Zip(result.ToImages())) images[k] = image;
                chains.Add(new Chain(rows, masks.DetachFromDisposeScope(), [.. pass.Select(p => p.Prompt)], [.. pass.Select(p => p.NegativePrompt)],
                    [.. trajectory.Timesteps], [.. trajectory.Latents.Select(l => l.clone().DetachFromDisposeScope())], trained));
            }
            return new GrpoRollout<EditChainSample>([.. images.Select(i => new EditChainSample(i))], logProbs, mask, new Chains(chains, images));
        }
        catch
        {
            new Chains(chains, [.. images.Where(i => i is not null)]).Dispose();
            throw;
        }
        finally
        {
            foreach (var g in generators) g.Dispose();
            foreach (var i in before) i.Dispose();
        }
    }

    // Each state's image once every pass but the last has run (copies; the caller disposes them): what the action edits.
    List<Image<Rgb24>> Environment(IReadOnlyList<EditRequest> states, IReadOnlyList<IReadOnlyList<TrainingFreeEditor.Pass>> plans, long seed)
    {
        var images = states.Select(s => s.Image.Clone()).ToList();
        try
        {
            for (var pass = 0; pass < plans.Max(p => p.Count) - 1; pass++)
            {
                var todo = Enumerable.Range(0, states.Count).Where(i => plans[i].Count - 1 > pass).ToList();
                if (todo.Count == 0) continue;
                var edited = Editor.RunPass([.. todo.Select(i => (images[i], plans[i][pass], unchecked(seed * 1_000_033 + i * 31L + pass)))]);
                foreach (var (i, image) in todo.Zip(edited))
                {
                    images[i].Dispose();
                    images[i] = image;
                }
            }
            return images;
        }
        catch
        {
            foreach (var i in images) i.Dispose();
            throw;
        }
    }

    public Tensor LogProbs(IReadOnlyList<EditRequest> states, GrpoRollout<EditChainSample> rollout, GrpoOptions options)
    {
        var chains = rollout.Kept as Chains ?? throw new ArgumentException("the rollout was not drawn by an inpainting policy", nameof(rollout));
        var width = (int)rollout.Mask.shape[1];
        var s = Editor.Options.Sampler;
        var parts = chains.All.Select(c =>
        {
            var columns = Enumerable.Range(0, width).Select(j => j < c.Trained.Length && c.Trained[j]
                ? Editor.Pipeline.LogProb(c.Masks, c.Prompts, c.NegativePrompts, c.Latents[j], c.Timesteps[j], c.Latents[j + 1], s.Steps, s.GuidanceScale, s.Eta)
                : zeros(c.Rows.Length)).ToArray();
            return stack(columns, 1);
        }).ToArray();
        // The chains hold the samples grouped by strength; put the rows back in sample order.
        var order = chains.All.SelectMany(c => c.Rows).ToArray();
        var position = new long[order.Length];
        for (var r = 0; r < order.Length; r++) position[order[r]] = r;
        return cat(parts, 0).index_select(0, tensor(position));
    }

    public IEnumerable<Parameter> TrainableParameters() => Editor.Pipeline.Model.parameters();
}
