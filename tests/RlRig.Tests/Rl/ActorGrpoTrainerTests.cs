using RlRig.Loop;
using RlRig.Loop.Actors;
using RlRig.Rl;
using RlRig.Tests.Diffusion;
using RlRig.Tests.Loop;
using RlRig.Tests.Support;
using RlRig.World;
using Xunit;
using static TorchSharp.torch;

namespace RlRig.Tests.Rl;

/// <summary>Actor-GRPO end to end with a tiny Actor and the fake world's Checker and editor (no image models).</summary>
public sealed class ActorGrpoTrainerTests : TorchTestBase
{
    static readonly ActorConfig Tiny = new() { Dim = 32, Layers = 1, Heads = 2 };

    internal static LearnedActor TinyActor(int seed)
    {
        random.manual_seed(seed);
        return new LearnedActor(new ActorNet(Tiny), new WorldOptions());
    }

    // A fresh Actor with the template's weights (ModelCopies: re-seeding the global generator races with other test classes).
    static LearnedActor Copy(LearnedActor template)
    {
        var actor = TinyActor(0);
        actor.Model.WithWeightsOf(template.Model);
        return actor;
    }

    static ActorGrpoOptions Quick(string dir, int steps, bool resume = false) => new()
    {
        Grpo = new ActorGrpoOptions().Grpo with { NumGenerations = 4, GenerationBatchSize = 8, LearningRate = 1e-3, MaxCompletionLength = 12 },
        // One thread, set by each run: the count is process-wide and tests running beside this one change it, and a
        // straight run and its resumed copy must sum in the same order.
        Run = new GrpoRunOptions { TotalSteps = steps, CheckpointEvery = 0, LogEvery = 0, OutputDir = dir, Resume = resume, NumThreads = 1 },
        TrainingPrompts = 8,
    };

    internal static async Task<IReadOnlyList<ActorState>> Pool(FakeWorld w)
    {
        var prompts = RolloutStates.TrainingPrompts(w.World, [], 12, seed: 1);
        var loop = new GenerateReflectEditLoop(new FakeWorld.Diffuser(w), new FakeWorld.Checker(w), new RuleBasedActor(w.World), new FakeWorld.Editor(w), new LoopOptions { MaxRounds = 1 });
        var traces = await loop.RunAsync([.. prompts.Select((p, i) => new GenerationRequest(p, i))]);
        // The fake Checker knows the images it was shown: keep them (not clones) for the rewards' edits.
        return [.. traces.SelectMany(t => t.Rounds.Where(r => !r.Reflection.IsSatisfied).Select(r => new ActorState(t.Target, r.Reflection, r.Image)))];
    }

    static float[] Weights(LearnedActor actor) => [.. actor.Model.parameters().SelectMany(p => p.detach().flatten().data<float>().ToArray())];

    [Fact]
    public async Task A_resumed_run_ends_with_the_same_weights_as_an_uninterrupted_one_and_metrics_are_finite()
    {
        var w = new FakeWorld();
        var pool = await Pool(w);
        using var temp = new TempDir();
        using var template = TinyActor(3);
        float[] straight;
        using (var actor = Copy(template))
        using (var reference = Copy(template))
        using (var trainer = new ActorGrpoTrainer(actor, reference, new FakeWorld.Checker(w), new FakeWorld.Editor(w), pool, Quick(temp.File("a"), 4)))
        {
            var reports = new List<GrpoProgress>();
            await foreach (var p in trainer.TrainAsync()) reports.Add(p);
            Assert.Equal(4, reports.Count);
            Assert.All(reports, r => Assert.True(double.IsFinite(r.Reward) && double.IsFinite(r.Kl) && r.Kl >= 0, string.Join(", ", r.Metrics)));
            Assert.Contains("rewards/checker_gain/mean", reports[0].Metrics.Keys);
            straight = Weights(actor);
        }
        using (var actor = Copy(template))
        using (var reference = Copy(template))
        using (var trainer = new ActorGrpoTrainer(actor, reference, new FakeWorld.Checker(w), new FakeWorld.Editor(w), pool, Quick(temp.File("b"), 2)))
            await foreach (var _ in trainer.TrainAsync()) { }
        using (var actor = TinyActor(99))   // other weights: the resume must replace them
        using (var reference = Copy(template))
        using (var trainer = new ActorGrpoTrainer(actor, reference, new FakeWorld.Checker(w), new FakeWorld.Editor(w), pool, Quick(temp.File("b"), 4, resume: true)))
        {
            Assert.Equal(2, trainer.Step);
            await foreach (var _ in trainer.TrainAsync()) { }
            Assert.Equal(straight, Weights(actor));
        }
        using var saved = LearnedActor.Load(ActorGrpoTrainer.CheckpointPath(temp.File("b")), new WorldOptions());
        Assert.Equal(4, saved.Step);
        Assert.Equal(straight, Weights(saved));
    }

    [Fact]
    public async Task Scoring_a_state_shows_its_group_with_both_rewards_and_leaves_the_actor_as_it_was()
    {
        var w = new FakeWorld();
        var pool = await Pool(w);
        using var temp = new TempDir();
        using var actor = TinyActor(3);
        using var reference = TinyActor(3);
        using var trainer = new ActorGrpoTrainer(actor, reference, new FakeWorld.Checker(w), new FakeWorld.Editor(w), pool, Quick(temp.Path, 1));
        var before = Weights(actor);
        var scored = await trainer.ScoreAsync([pool[0]], seed: 5);
        Assert.Equal(before, Weights(actor));
        Assert.Equal(0, trainer.Step);
        Assert.Equal(4, scored.Samples.Count);
        Assert.Equal(["checker_gain", "validity"], scored.Rewards.Names);
        Assert.All(scored.Rewards.PerFunction, f => Assert.Equal(4, f.Count));
        Assert.Equal(GroupAdvantages.Compute(scored.Rewards.Total, 4, RewardScaling.Group).Advantages, scored.Advantages.Advantages);
        var again = await trainer.ScoreAsync([pool[0]], seed: 5);
        Assert.Equal(scored.Samples.Select(s => s.Proposal.Text), again.Samples.Select(s => s.Proposal.Text));
        Assert.Equal(scored.Rewards.Total, again.Rewards.Total);
    }

    [Fact]
    public async Task Resuming_with_other_options_is_refused_naming_the_file()
    {
        var w = new FakeWorld();
        var pool = await Pool(w);
        using var temp = new TempDir();
        using (var actor = TinyActor(3))
        using (var reference = TinyActor(3))
        using (var trainer = new ActorGrpoTrainer(actor, reference, new FakeWorld.Checker(w), new FakeWorld.Editor(w), pool, Quick(temp.Path, 1)))
            await foreach (var _ in trainer.TrainAsync()) { }
        using var a = TinyActor(3);
        using var r = TinyActor(3);
        var quick = Quick(temp.Path, 2, resume: true);
        var other = quick with { Run = quick.Run with { Seed = 5 } };
        var e = Assert.Throws<GrpoCheckpointException>(() => new ActorGrpoTrainer(a, r, new FakeWorld.Checker(w), new FakeWorld.Editor(w), pool, other));
        Assert.Contains("training-state.bin", e.Message);
    }
}
