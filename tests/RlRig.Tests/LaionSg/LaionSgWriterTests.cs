using RlRig.LaionSg;

namespace RlRig.Tests.LaionSg;

public sealed class LaionSgWriterTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Read_write_read_gives_equal_records(bool indented)
    {
        using var temp = new TempFolder();
        List<LaionSgRecord> original = LaionSgReader.ReadRecords(TestFiles.LaionSg("sample.json")).ToList();
        string path = temp.File("copy.json");
        Assert.Equal(15, LaionSgWriter.Write(path, original, new LaionSgWriteOptions { Indented = indented }));
        Assert.Equal(original, LaionSgReader.ReadRecords(path).ToList());
    }

    [Fact]
    public void Awkward_text_and_absent_global_ids_round_trip()
    {
        using var temp = new TempFolder();
        var record = new LaionSgRecord(
            "x\"1", "a\\b.jpg", "line\nbreak, tab\t, quote \", <tag> & ünïcödé 🐱", "6.669650077819824", "https://example.invalid/?q=1&r=2",
            [new LaionSgItem(0, "cat", ["fluffy \"soft\""]), new LaionSgItem(-3, "mat", [], int.MaxValue)],
            [new LaionSgRelation(7, 0, "on", -3)]);
        string path = temp.File("odd.json");
        LaionSgWriter.Write(path, [record]);
        Assert.Equal(record, Assert.Single(LaionSgReader.ReadRecords(path)));
        Assert.DoesNotContain("global_relation_id", File.ReadAllText(path));
    }

    [Fact]
    public void An_invalid_record_leaves_the_old_file_and_no_temp_file()
    {
        using var temp = new TempFolder();
        string path = temp.Write("out.json", "old content");
        var bad = new LaionSgRecord("9", "n", "c", "1", "u", [new LaionSgItem(0, "cat", [])], [new LaionSgRelation(0, 0, "on", 4)]);
        var ex = Assert.Throws<ArgumentException>(() => LaionSgWriter.Write(path, [bad]));
        Assert.Contains("record 0 (img_id \"9\"), field relations[0].item2: refers to item_id 4", ex.Message);
        Assert.Equal("old content", File.ReadAllText(path));
        Assert.Equal([path], Directory.GetFiles(temp.Path));
    }

    [Fact]
    public void Writing_replaces_an_existing_file()
    {
        using var temp = new TempFolder();
        string path = temp.Write("out.json", "old content");
        LaionSgWriter.Write(path, []);
        Assert.Equal("[]", File.ReadAllText(path));
        Assert.Empty(LaionSgReader.ReadRecords(path));
    }
}
