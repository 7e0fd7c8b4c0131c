using System.CommandLine;
using RlRig.Torch;

namespace RlRig.Cli.Commands;

/// <summary><c>rlrig doctor</c>: shows where TorchSharp's native library is, whether it needed the Debian 12 fix, and loads it.</summary>
public static class DoctorCommand
{
    public static Command Create()
    {
        var command = new Command("doctor", "Check that TorchSharp loads on this machine (applies the libstdc++ fix where needed).");
        command.SetAction(_ =>
        {
            Console.WriteLine($"OS: {System.Runtime.InteropServices.RuntimeInformation.OSDescription} ({System.Runtime.InteropServices.RuntimeInformation.RuntimeIdentifier})");
            if (OperatingSystem.IsLinux())
                Console.WriteLine($"System libstdc++ has GLIBCXX_3.4.32: {LibStdCxxCompat.SystemHasVersionedSymbol("_ZSt21ios_base_library_initv", "GLIBCXX_3.4.32")}");
            try
            {
                var report = TorchRuntime.EnsureLoaded();
                foreach (var fix in report.Fixes)
                    Console.WriteLine($"{fix.Outcome,-16} {fix.Path}{(fix.WeakenedVersions.Count > 0 ? $" (weak: {string.Join(", ", fix.WeakenedVersions)})" : "")}");
                if (report.LibTorchDirectory is { } dir) Console.WriteLine($"libtorch bound by absolute path from {dir}");
                using var sum = TorchSharp.torch.arange(4).sum();
                Console.WriteLine($"libtorch {report.TorchVersion} loaded; arange(4).sum() = {sum.item<long>()}");
                return 0;
            }
            catch (TorchRuntimeException e)
            {
                Console.Error.WriteLine($"rlrig doctor: {e.Message}");
                return 1;
            }
        });
        return command;
    }
}
