using System.Runtime.InteropServices;

namespace RlRig.Torch;

/// <summary>
/// Hands the C heap's free pages back to the operating system (glibc's <c>malloc_trim</c>); a no-op where the C library
/// has none (Windows, macOS, musl).
/// </summary>
/// <remarks>
/// libtorch takes tensor memory from malloc. After the first large free, glibc raises its mmap threshold (up to 32 MiB),
/// so a training step's activations come from the main heap, and what the step frees stays resident there. Two things
/// keep that free space from being reused in place: batches of new shapes (a longer padded batch), and the native objects
/// TorchSharp leaves to the finalizer (the Scalars of implicit conversions among them), freed at random times between a
/// step's blocks.
/// The heap fragments and RSS climbs in steps although live memory is flat: the learned Actor's training went from 686
/// to 884 MiB over 2,000 steps with a constant number of live tensors, and padding every batch to one length did not stop
/// it (data/shapes-world/README.md, "Speed and memory"). Trimming after each step returns those pages; the next step
/// faults them in again, which is its cost.
/// </remarks>
public static unsafe class NativeHeap
{
    static readonly delegate* unmanaged<nuint, int> MallocTrim = Find();

    /// <summary>Whether this process's C library can give free heap pages back (glibc).</summary>
    public static bool CanTrim => MallocTrim is not null;

    /// <summary>Gives every whole free page of the C heap back to the OS. Returns whether any memory was released.</summary>
    public static bool Trim() => MallocTrim is not null && MallocTrim(0) != 0;

    static delegate* unmanaged<nuint, int> Find() =>
        OperatingSystem.IsLinux() && NativeLibrary.TryLoad("libc.so.6", out var libc) && NativeLibrary.TryGetExport(libc, "malloc_trim", out var trim)
            ? (delegate* unmanaged<nuint, int>)trim
            : null;
}
