using RlRig.Diffusion;
using RlRig.Tests.Diffusion;
using RlRig.Tests.Support;
using RlRig.Torch;
using Xunit;
using static TorchSharp.torch;

namespace RlRig.Tests.Torch;

[Collection(ProcessMemoryCollection.Name)]
public sealed class NativeHeapTests : TorchTestBase
{
    [Fact]
    public void Trimming_gives_back_the_pages_a_fragmented_heap_keeps_after_tensors_are_freed()
    {
        // Only glibc has malloc_trim; elsewhere the heap is the platform's and there is nothing to hand back.
        if (!NativeHeap.CanTrim) { Assert.False(NativeHeap.Trim()); return; }
        // One freed 16 MiB block raises glibc's mmap threshold, so what follows comes from the heap, as a training step's
        // activations do; a small tensor after each large one keeps the heap from shrinking at its top when they are freed.
        using (zeros(4L << 20)) { }
        NativeHeap.Trim();
        var start = ProcessMemory.RssBytes();
        var small = new List<Tensor>();
        var large = new List<Tensor>();
        for (var i = 0; i < 24; i++)
        {
            large.Add(ones(2L << 20));   // 8 MiB, every page touched
            small.Add(ones(16));
        }
        var full = ProcessMemory.RssBytes();
        foreach (var t in large) t.Dispose();
        var freed = ProcessMemory.RssBytes();
        NativeHeap.Trim();
        var trimmed = ProcessMemory.RssBytes();
        foreach (var t in small) t.Dispose();
        var figures = $"RSS {start >> 20} MiB trimmed before, {full >> 20} MiB with 192 MiB of tensors, {freed >> 20} MiB with them freed, {trimmed >> 20} MiB trimmed";
        Assert.True(full - start > 150L << 20, figures);
        // Whatever the heap kept of the freed tensors (all of it in a fresh process; a process that ran other tests may
        // have placed the small ones elsewhere, so that the heap shrank by itself), trimming gives it back.
        Assert.True(trimmed - start < 32L << 20, figures);
    }
}
