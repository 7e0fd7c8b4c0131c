using System.Text;
using RlRig.Cli.Notebooks;
using RlRig.Tests.Support;
using static RlRig.Tests.Support.NotebookFiles;

namespace RlRig.Tests.Notebooks;

public sealed class StreamCaptureTests
{
    // (cap, chunk sizes cycled through, chunks written): one character at a time, lines, chunks larger than the cap,
    // a head that fills mid-chunk, a cap that is odd.
    public static TheoryData<int, int[], int> Writes => new()
    {
        { 100, [1], 1_000 },
        { 101, [7, 13, 1], 500 },
        { 1_000, [80], 1_000 },
        { 1_000, [5_000], 3 },
        { 1_000, [499, 2, 700], 40 },
        { 4_096, [1_024], 10_000 },
        { 64, [1, 100, 33, 64, 65], 200 },
    };

    static string Chunk(int index, int length)
    {
        var line = new StringBuilder(length);
        while (line.Length < length) line.Append(index).Append(':').Append((char)('a' + index % 26));
        return line.ToString(0, length);
    }

    [Theory]
    [MemberData(nameof(Writes))]
    public void A_capped_stream_keeps_its_first_and_last_halves_and_says_what_it_dropped(int cap, int[] sizes, int chunks)
    {
        var capture = new StreamCapture("stdout", cap);
        var full = new StringBuilder();
        for (var i = 0; i < chunks; i++)
        {
            var chunk = Chunk(i, sizes[i % sizes.Length]);
            full.Append(chunk);
            capture.Append(chunk);
        }
        var text = capture.Text();
        var expected = full.ToString();
        Assert.Equal(expected.Length, capture.TotalChars);
        var head = cap / 2;
        var tail = cap - head;
        Assert.StartsWith(expected[..head], text);
        Assert.EndsWith(expected[^tail..], text);
        var note = text[head..^tail];
        Assert.StartsWith("\n" + StreamCapture.TruncationMarker, note);
        Assert.Contains($" {expected.Length - cap:N0} of {expected.Length:N0} characters", note);
        Assert.Contains("--full-output", note);
    }

    [Theory]
    [MemberData(nameof(Writes))]
    public void An_uncapped_stream_or_one_within_its_cap_keeps_every_character(int cap, int[] sizes, int chunks)
    {
        var uncapped = new StreamCapture("stderr", null);
        var roomy = new StreamCapture("stderr", int.MaxValue);
        var full = new StringBuilder();
        for (var i = 0; i < chunks; i++)
        {
            var chunk = Chunk(i, sizes[i % sizes.Length] + cap % 3);
            full.Append(chunk);
            uncapped.Append(chunk);
            roomy.Append(chunk);
        }
        Assert.Equal(full.ToString(), uncapped.Text());
        Assert.Equal(full.ToString(), roomy.Text());
        Assert.Equal(new StreamOutput("stderr", full.ToString()), uncapped.ToOutput());
    }

    // Allocation, not time: a capture that copied what it holds on every write would allocate O(n^2) bytes (gigabytes
    // here); appending in O(1) amortised allocates a small multiple of what was written.
    [Theory]
    [InlineData(1_024, 20_000, 1 << 20)]
    [InlineData(100, 100_000, 1 << 20)]
    [InlineData(1_024, 10_000, null)]
    [InlineData(1, 200_000, null)]
    public void Appending_costs_the_same_per_write_however_much_was_written(int lineChars, int lines, int? cap)
    {
        var line = new string('x', lineChars - 1) + "\n";
        var capture = new StreamCapture("stdout", cap);
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < lines; i++) capture.Append(line);
        var text = capture.Text();
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        long written = (long)lineChars * lines * sizeof(char);
        Assert.True(allocated < 6 * written + (1 << 20), $"allocated {allocated:N0} bytes for {written:N0} bytes written");
        if (cap is null) Assert.Equal(lineChars * lines, text.Length);
        else Assert.InRange(text.Length, cap.Value, cap.Value + 200);
    }
}

[Collection(KernelCollection.Name)]
public sealed class OutputCaptureRunnerTests : IDisposable
{
    readonly TempDir temp = new();

    public void Dispose() => temp.Dispose();

    NotebookDocument Notebook(params (string, string, string[])[] cells) => Read(temp, cells);

    [Fact]
    public async Task A_cell_that_prints_a_flood_keeps_one_capped_output_with_its_first_and_last_lines()
    {
        var result = await NotebookRunner.RunAsync(
            Notebook(Code("for (var i = 0; i < 20000; i++) Console.WriteLine($\"line {i} \" + new string('x', 200));")),
            new NotebookRunOptions { MaxStreamChars = 64 * 1024 });

        Assert.True(result.Succeeded, result.Failure?.ToString());
        var stream = Assert.IsType<StreamOutput>(Assert.Single(result.Notebook.Cells[0].Outputs));
        Assert.StartsWith("line 0 x", stream.Text);
        Assert.Contains("line 19999 x", stream.Text[^300..]);
        Assert.Contains(StreamCapture.TruncationMarker, stream.Text);
        Assert.True(stream.Text.Length < 65 * 1024, $"kept {stream.Text.Length:N0} characters");
    }

    [Fact]
    public async Task Full_output_keeps_every_line_and_streams_between_displays_stay_separate()
    {
        var result = await NotebookRunner.RunAsync(
            Notebook(Code("for (var i = 0; i < 3000; i++) Console.WriteLine($\"a{i}\");\ndisplay(\"shown\");\nConsole.WriteLine(\"b\");\nConsole.Error.WriteLine(\"c\");\nConsole.WriteLine(\"d\");")),
            new NotebookRunOptions { MaxStreamChars = null });

        Assert.True(result.Succeeded, result.Failure?.ToString());
        var outputs = result.Notebook.Cells[0].Outputs;
        var first = Assert.IsType<StreamOutput>(outputs[0]);
        Assert.Equal(string.Concat(Enumerable.Range(0, 3000).Select(i => $"a{i}\n")), first.Text.Replace("\r", ""));
        Assert.IsType<DataOutput>(outputs[1]);
        // stdout and stderr arrive as separate events whose relative order is the kernel's; each keeps its own text.
        var rest = outputs.Skip(2).Cast<StreamOutput>().ToList();
        Assert.Equal("b\nd\n", string.Concat(rest.Where(s => s.Name == "stdout").Select(s => s.Text)).Replace("\r", ""));
        Assert.Equal("c\n", string.Concat(rest.Where(s => s.Name == "stderr").Select(s => s.Text)).Replace("\r", ""));
    }
}
