using System.Runtime.CompilerServices;
using RlRig.Torch;

namespace RlRig.Tests.Support;

static class TorchFixture
{
    // Every test that touches torch runs after this, as every RlRig host does (see TorchRuntime).
    [ModuleInitializer]
    internal static void LoadTorch() => TorchRuntime.EnsureLoaded();
}
