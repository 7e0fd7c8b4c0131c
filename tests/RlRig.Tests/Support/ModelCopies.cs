using TorchSharp;
using static TorchSharp.torch;

namespace RlRig.Tests.Support;

/// <summary>
/// One initialisation shared by the models a test compares. Re-seeding torch's global generator before each model is not
/// enough: test classes run in parallel and draw from the same generator, so two "identical" models can differ (a fresh
/// clone's suite failed the GRPO resume tests that way).
/// </summary>
internal static class ModelCopies
{
    /// <summary>The model, its parameters and buffers overwritten with the template's.</summary>
    public static T WithWeightsOf<T>(this T model, nn.Module template) where T : nn.Module
    {
        using var _ = no_grad();
        foreach (var (to, from) in model.parameters().Zip(template.parameters(), (a, b) => (a, b))) to.copy_(from);
        foreach (var (to, from) in model.buffers().Zip(template.buffers(), (a, b) => (a, b))) to.copy_(from);
        return model;
    }
}
