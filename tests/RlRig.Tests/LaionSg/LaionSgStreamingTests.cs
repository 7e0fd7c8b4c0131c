using RlRig.LaionSg;
using RlRig.Tests.Support;

namespace RlRig.Tests.LaionSg;

/// <summary>Memory must not grow with the file: nothing but the current record may stay alive while reading.</summary>
[Collection(ProcessMemoryCollection.Name)]
public sealed class LaionSgStreamingTests
{
    [Fact]
    public void Heap_after_50k_records_is_no_larger_than_after_10k()
    {
        using var temp = new TempFolder();
        string path = temp.File("synthetic.json");
        LaionSgSynthetic.Write(path, 50_000, seed: 7);
        Assert.True(new FileInfo(path).Length > 30_000_000, "the file should be far larger than the bound checked below");

        long heapAt10k = 0, heapAt50k = 0;
        int count = 0, bufferSize;
        long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        using (FileStream stream = LaionSgReader.OpenRead(path))
        {
            var parser = new LaionSgStreamParser(stream, new LaionSgReadOptions(), path);
            while (parser.TryNext(out LaionSgReadResult result))
            {
                Assert.True(result.IsValid);
                count++;
                if (count == 10_000) heapAt10k = GC.GetTotalMemory(forceFullCollection: true);
            }
            heapAt50k = GC.GetTotalMemory(forceFullCollection: true);
            bufferSize = parser.BufferSize;
        }
        double allocatedPerRecord = (double)(GC.GetAllocatedBytesForCurrentThread() - allocatedBefore) / count;

        Assert.Equal(50_000, count);
        // 40,000 more records (~54 MB of JSON) read in between: a leak of even 25 bytes a record would show.
        Assert.True(heapAt50k - heapAt10k < 1_000_000, $"heap grew from {heapAt10k} to {heapAt50k} bytes");
        Assert.Equal(LaionSgReadOptions.DefaultInitialBufferSize, bufferSize);
        // A record is ~1.35 KB of JSON; its own objects and strings take ~2.5 KB. Far more would mean per-value
        // garbage (formatted field paths, copies of the buffer).
        Assert.True(allocatedPerRecord < 4_000, $"{allocatedPerRecord:F0} bytes allocated per record");
    }

    [Fact]
    public void Synthetic_records_are_deterministic_and_valid()
    {
        List<LaionSgRecord> a = LaionSgSynthetic.Generate(50, seed: 3).ToList();
        Assert.Equal(a, LaionSgSynthetic.Generate(50, seed: 3).ToList());
        Assert.NotEqual(a, LaionSgSynthetic.Generate(50, seed: 4).ToList());
        Assert.All(a, r => Assert.Null(LaionSgValidation.Check(r)));
    }

    [Fact]
    public void Benchmark_reports_consistent_figures()
    {
        LaionSgBenchmarkResult result = LaionSgBenchmark.Run(records: 2_000, seed: 5);
        Assert.Equal(2_000, result.Records);
        Assert.Equal(0, result.Invalid);
        Assert.True(result.FileBytes > 0 && result.RecordsPerSecond > 0 && result.PeakWorkingSetBytes > 0);
        Assert.False(File.Exists(result.Path), "the temporary file should be deleted");
    }
}
