using RlRig.Loop;
using RlRig.Loop.Actors;
using RlRig.Rl;
using RlRig.SceneGraphs;
using RlRig.Tests.Loop;
using RlRig.World;
using Xunit;

namespace RlRig.Tests.Rl;

/// <summary>Actor-GRPO's states and rewards, with the fake world's components (no models).</summary>
public sealed class ActorEditRewardsTests
{
    static readonly SceneGraph Target = SceneGraph.ParsePrompt("large red circle left of small blue square", WorldVocabulary.Prompt);

    sealed class CountingEditor(IInverseDiffuser inner) : IInverseDiffuser
    {
        public int Calls { get; private set; }

        public Task<IReadOnlyList<EditOutcome>> EditAsync(IReadOnlyList<EditRequest> requests, CancellationToken cancellationToken = default)
        {
            Calls++;
            return inner.EditAsync(requests, cancellationToken);
        }
    }

    [Fact]
    public async Task Each_instruction_is_edited_once_and_scored_by_the_checkers_gain_and_its_validity()
    {
        var w = new FakeWorld();
        var checker = new FakeWorld.Checker(w);
        var editor = new CountingEditor(new FakeWorld.Editor(w));
        var request = Enumerable.Range(0, 100).Select(s => new GenerationRequest(Target, s))
            .First(r => !Reflection.Compare(Target, SceneLayout.Place(new SceneGraph(Target.Items, []), w.World, new Random(r.Seed)).Items).IsSatisfied);
        var image = (await new FakeWorld.Diffuser(w).GenerateAsync([request]))[0].Image;
        var reflection = (await checker.ReflectAsync([image], [Target]))[0];
        var state = new ActorState(Target, reflection, image);
        var fix = (await new RuleBasedActor(w.World).ActAsync([state]))[0];
        IReadOnlyList<ActorProposal> samples = [fix, ActorProposal.FromText("done"), ActorProposal.FromText("jump over the circle"), ActorProposal.FromText("remove the purple triangle")];
        var rewards = new ActorEditRewards<ActorProposal>(checker, editor, p => p, i => 100 + i);
        var states = Enumerable.Repeat(state, samples.Count).ToList();

        var gain = await rewards.CheckerGain.Score(states, samples, default);
        var validity = await rewards.Validity.Score(states, samples, default);

        Assert.Equal(1, editor.Calls);     // two reward functions, one batch of edits
        Assert.Equal(1.0 - reflection.Score, gain[0]!.Value, 9);
        Assert.True(gain[0] > 0);
        Assert.Equal([0.0, 0.0, 0.0], gain.Skip(1).Select(g => g!.Value));
        Assert.Equal([0.0, -1.0, -1.0, -1.0], validity.Select(v => v!.Value));   // "done" on an image the Checker finds wrong is invalid

        // ... and right once the Checker is satisfied (the rule-based fix makes it so: its gain was 1 - score).
        var fixedImage = (await new FakeWorld.Editor(w).EditAsync([new EditRequest(image, fix.Instruction, reflection, 100)]))[0].Image;
        var satisfied = new ActorState(Target, (await checker.ReflectAsync([fixedImage], [Target]))[0], fixedImage);
        Assert.True(satisfied.Reflection.IsSatisfied);
        var onSatisfied = new ActorEditRewards<ActorProposal>(checker, editor, p => p, i => i);
        Assert.Equal(0.0, (await onSatisfied.Validity.Score([satisfied], [ActorProposal.FromText("done")], default))[0]);
    }

    [Fact]
    public async Task States_come_from_loop_rollouts_on_prompts_outside_the_evaluation_set_and_all_have_something_to_fix()
    {
        var world = new WorldOptions();
        var evaluation = EvaluationSet.Create(300, 1000, world);
        var prompts = RolloutStates.TrainingPrompts(world, evaluation, 200, seed: 5);
        Assert.Equal(200, prompts.Count);
        var excluded = evaluation.Select(EvaluationSet.Key).ToHashSet();
        Assert.DoesNotContain(prompts, p => excluded.Contains(EvaluationSet.Key(p)));
        Assert.Equal(prompts.Select(EvaluationSet.Key), RolloutStates.TrainingPrompts(world, evaluation, 200, seed: 5).Select(EvaluationSet.Key));

        var w = new FakeWorld();
        var loop = new GenerateReflectEditLoop(new FakeWorld.Diffuser(w), new FakeWorld.Checker(w), new RuleBasedActor(w.World), new FakeWorld.Editor(w), new LoopOptions { MaxRounds = 2 });
        var states = await RolloutStates.CollectAsync(loop, prompts.Take(20).ToList(), seed: 0, batchSize: 8);
        try
        {
            Assert.NotEmpty(states);
            Assert.All(states, s => Assert.False(s.Reflection.IsSatisfied));
            Assert.Contains(states, s => s.Reflection.Score > 0);
        }
        finally { RolloutStates.Dispose(states); }
    }
}
