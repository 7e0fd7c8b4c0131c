using System.Diagnostics;

namespace RlRig.LaionSg;

/// <summary>Figures of one <see cref="LaionSgBenchmark.Run"/>; serialises to JSON as is.</summary>
/// <param name="Path">The file read.</param>
/// <param name="Records">Records read and validated.</param>
/// <param name="Invalid">Records that failed validation (0 for the synthetic file).</param>
/// <param name="FileBytes">File size.</param>
/// <param name="GenerateSeconds">Time to write the synthetic file; 0 when an existing file was read.</param>
/// <param name="ReadSeconds">Time to read and validate every record (one thread).</param>
/// <param name="ReadCpuSeconds">
/// Process CPU time spent reading (all threads, GC included): on a shared machine this is the figure to trust, since
/// wall time also counts time the reading thread waited for a core.
/// </param>
/// <param name="RecordsPerSecond">Records / ReadSeconds.</param>
/// <param name="RecordsPerCpuSecond">Records / ReadCpuSeconds.</param>
/// <param name="MegabytesPerSecond">FileBytes / 2^20 / ReadSeconds.</param>
/// <param name="AllocatedBytesPerRecord">Managed bytes allocated by the reading thread per record.</param>
/// <param name="PeakGcHeapBytes">Largest GC heap seen while reading (sampled every 1,000 records).</param>
/// <param name="PeakWorkingSetBytes">Largest process working set seen while reading (same samples).</param>
/// <param name="ReaderBufferBytes">The reader's buffer at the end: the memory that depends on record size.</param>
public sealed record LaionSgBenchmarkResult(
    string Path,
    int Records,
    int Invalid,
    long FileBytes,
    double GenerateSeconds,
    double ReadSeconds,
    double ReadCpuSeconds,
    double RecordsPerSecond,
    double RecordsPerCpuSecond,
    double MegabytesPerSecond,
    double AllocatedBytesPerRecord,
    long PeakGcHeapBytes,
    long PeakWorkingSetBytes,
    int ReaderBufferBytes);

/// <summary>
/// Measures the LAION-SG reader: writes a synthetic file (<see cref="LaionSgSynthetic"/>) unless one is given, then
/// reads and validates it on the calling thread, sampling memory. Nothing is kept per record, so the peaks show
/// whether memory depends on file size (it should not).
/// </summary>
public static class LaionSgBenchmark
{
    /// <summary>Default record count: 200,000.</summary>
    public const int DefaultRecords = 200_000;

    /// <summary>Default seed of the synthetic file.</summary>
    public const int DefaultSeed = 20260225;

    /// <summary>Runs the benchmark.</summary>
    /// <param name="path">
    /// File to read. When null a synthetic file of <paramref name="records"/> records is written to a temporary
    /// path and deleted afterwards; when the file does not exist it is generated there and kept.
    /// </param>
    /// <param name="records">Records to generate. Defaults to 200,000.</param>
    /// <param name="seed">Seed of the generated records.</param>
    public static LaionSgBenchmarkResult Run(string? path = null, int records = DefaultRecords, int seed = DefaultSeed)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(records);
        bool temporary = path is null;
        path ??= System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"rlrig-bench-{Guid.NewGuid():N}.json");
        try
        {
            double generateSeconds = 0;
            if (!File.Exists(path))
            {
                var g = Stopwatch.StartNew();
                LaionSgSynthetic.Write(path, records, seed);
                generateSeconds = g.Elapsed.TotalSeconds;
            }
            return Measure(path, generateSeconds);
        }
        finally
        {
            if (temporary && File.Exists(path)) File.Delete(path);
        }
    }

    private static LaionSgBenchmarkResult Measure(string path, double generateSeconds)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        long peakHeap = GC.GetTotalMemory(false), peakWorkingSet = Environment.WorkingSet;
        long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        int count = 0, invalid = 0, bufferBytes;
        using var process = Process.GetCurrentProcess();
        TimeSpan cpuBefore = process.TotalProcessorTime;
        var watch = Stopwatch.StartNew();
        using (FileStream stream = LaionSgReader.OpenRead(path))
        {
            var parser = new LaionSgStreamParser(stream, new LaionSgReadOptions { OnInvalid = LaionSgInvalidRecordPolicy.Skip }, path);
            while (parser.TryNext(out LaionSgReadResult result))
            {
                count++;
                if (!result.IsValid) invalid++;
                if (count % 1000 == 0)
                {
                    peakHeap = Math.Max(peakHeap, GC.GetTotalMemory(false));
                    peakWorkingSet = Math.Max(peakWorkingSet, Environment.WorkingSet);
                }
            }
            bufferBytes = parser.BufferSize;
        }
        watch.Stop();
        process.Refresh();
        double cpuSeconds = (process.TotalProcessorTime - cpuBefore).TotalSeconds;
        long allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
        double seconds = watch.Elapsed.TotalSeconds;
        long bytes = new FileInfo(path).Length;
        return new LaionSgBenchmarkResult(
            path, count, invalid, bytes, generateSeconds, seconds, cpuSeconds,
            count / Math.Max(seconds, 1e-9), count / Math.Max(cpuSeconds, 1e-9), bytes / 1048576.0 / Math.Max(seconds, 1e-9),
            count == 0 ? 0 : (double)allocated / count,
            peakHeap, Math.Max(peakWorkingSet, Environment.WorkingSet), bufferBytes);
    }
}
