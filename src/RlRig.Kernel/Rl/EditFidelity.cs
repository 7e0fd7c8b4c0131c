using RlRig.Loop;
using RlRig.Metrics;
using RlRig.SceneGraphs;
using RlRig.World;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace RlRig.Rl;

/// <summary>
/// Editor-GRPO's reward: the Checker's judgement that an edit did what the instruction says and left everything else as it
/// was. The expected scene is the Checker's reading of the image before the edit with the instruction applied exactly
/// (<see cref="SceneEdit.Apply"/>), every relation that then holds between any two objects included; the reward is the
/// Checker's <see cref="Reflection.Score"/> of the edited image against it, 1 exactly when the Checker reads the expected
/// scene. The judge is never asked.
/// </summary>
public static class EditFidelity
{
    /// <summary>The scene the edit should produce, or null when the instruction names nothing the Checker read or cannot be placed.</summary>
    public static SceneGraph? ExpectedScene(WorldOptions world, Reflection before, EditInstruction instruction)
    {
        ArgumentNullException.ThrowIfNull(before);
        var after = SceneEdit.Apply(world, before.Detected.Items, instruction);
        return after is null ? null : SpatialRelationExtractor.FromBoxes(after);
    }

    /// <summary>
    /// The reward function "edit_fidelity" over (edit request, edited sample) pairs: the Checker's score of the sample's
    /// image against <see cref="ExpectedScene"/>; null (does not apply) for a request whose instruction has no expected scene.
    /// </summary>
    public static RewardFunction<EditRequest, TSample> Reward<TSample>(IChecker checker, WorldOptions world, Func<TSample, Image<Rgb24>> imageOf) =>
        new("edit_fidelity", async (requests, samples, ct) =>
        {
            var expected = requests.Select(r => ExpectedScene(world, r.Reflection, r.Instruction)).ToList();
            var scored = Enumerable.Range(0, samples.Count).Where(i => expected[i] is not null).ToList();
            var reflections = scored.Count == 0 ? [] : await checker.ReflectAsync([.. scored.Select(i => imageOf(samples[i]))], [.. scored.Select(i => expected[i]!)], ct).ConfigureAwait(false);
            var rewards = new double?[samples.Count];
            for (var k = 0; k < scored.Count; k++) rewards[scored[k]] = reflections[k].Score;
            return rewards;
        });
}
