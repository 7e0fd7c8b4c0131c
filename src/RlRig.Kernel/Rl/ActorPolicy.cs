using RlRig.Loop;
using RlRig.Loop.Actors;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace RlRig.Rl;

/// <summary>
/// The learned Actor as a GRPO policy: a state is what the loop hands the Actor (it reads the reflection), a sample is a
/// sampled instruction with its token ids; a "token" of the loss is a token of the instruction, the end token included.
/// </summary>
public sealed class ActorPolicy(LearnedActor actor) : IGrpoPolicy<ActorState, ActorSample>
{
    public LearnedActor Actor { get; } = actor ?? throw new ArgumentNullException(nameof(actor));

    /// <summary>The Actor's decoding options for a GRPO step: TRL's generation options, and the step's seed.</summary>
    public LearnedActorOptions DecodingFor(GrpoOptions options, long seed) => Actor.Options with
    {
        Temperature = options.Temperature,
        TopK = options.TopK,
        TopP = options.TopP,
        MaxCompletionLength = options.MaxCompletionLength,
        Greedy = false,
        Seed = seed,
    };

    public GrpoRollout<ActorSample> Sample(IReadOnlyList<ActorState> states, int numGenerations, GrpoOptions options, long seed)
    {
        var samples = Actor.Sample([.. states.Select(s => s.Reflection)], numGenerations, DecodingFor(options, seed)).SelectMany(g => g).ToList();
        var length = Math.Max(1, samples.Max(s => s.TokenIds.Count));
        var logProbs = new float[samples.Count * length];
        var mask = new bool[samples.Count * length];
        for (var i = 0; i < samples.Count; i++)
        {
            var lp = samples[i].Proposal.TokenLogProbs ?? [];
            for (var j = 0; j < samples[i].TokenIds.Count; j++) (logProbs[i * length + j], mask[i * length + j]) = ((float)lp[j], true);
        }
        return new GrpoRollout<ActorSample>(samples, tensor(logProbs, [samples.Count, length]), tensor(mask, [samples.Count, length]).to(float32));
    }

    public Tensor LogProbs(IReadOnlyList<ActorState> states, GrpoRollout<ActorSample> rollout, GrpoOptions options)
    {
        using var scored = Actor.Score([.. states.Select(s => s.Reflection)], [.. rollout.Samples.Select(s => s.TokenIds)], options.Temperature);
        return scored.LogProbs.alias();
    }

    public IEnumerable<Parameter> TrainableParameters() => Actor.Model.parameters();
}
