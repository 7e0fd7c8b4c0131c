using System.Text;
using RlRig.LaionSg;

namespace RlRig.Tests.LaionSg;

public sealed class LaionSgReaderTests
{
    private static List<LaionSgRecord> ReadAll(string path, LaionSgReadOptions? options = null) =>
        LaionSgReader.ReadRecords(path, options).ToList();

    private static List<LaionSgReadResult> ReadText(string json, LaionSgReadOptions? options = null) =>
        LaionSgReader.Read(new MemoryStream(Encoding.UTF8.GetBytes(json)),
            options ?? new LaionSgReadOptions { OnInvalid = LaionSgInvalidRecordPolicy.Skip }, "test.json").ToList();

    internal const string ValidRecord =
        """{"img_id": "1", "name": "1.jpg", "caption_ori": "c", "score": "6.5", "url": "https://example.invalid/1.jpg", "items": [{"item_id": 0, "label": "cat", "attributes": ["black"]}], "relations": []}""";

    [Fact]
    public void Sample_file_reads_every_field()
    {
        List<LaionSgRecord> records = ReadAll(TestFiles.LaionSg("sample.json"));
        Assert.Equal(15, records.Count);
        LaionSgRecord first = records[0];
        Assert.Equal("invented-0001", first.ImgId);
        Assert.Equal("invented-0001.jpg", first.Name);
        Assert.Equal("A tall stone tower next to an arched stone bridge over a river", first.CaptionOri);
        Assert.Equal("6.669650077819824", first.Score);
        Assert.Equal("https://example.invalid/laion-sg/invented-0001.jpg", first.Url);
        Assert.Equal(new LaionSgItem(0, "tower", ["stone", "tall"], 5037), first.Items[0]);
        Assert.Equal(new LaionSgRelation(0, 0, "attached to", 1, 9053), first.Relations[0]);
        Assert.Equal("stone tall tower attached to stone arched bridge; stone arched bridge above calm river",
            first.ToSceneGraph().ToPromptText());

        LaionSgRecord noGlobals = records.Single(r => r.ImgId == "invented-0009");
        Assert.All(noGlobals.Items, i => Assert.Null(i.GlobalItemId));
        Assert.All(noGlobals.Relations, r => Assert.Null(r.GlobalRelationId));
    }

    [Fact]
    public void CompSGen_filter_keeps_records_with_more_than_four_relations()
    {
        var options = new LaionSgReadOptions { Filter = LaionSgReadOptions.CompSGenFilter };
        List<LaionSgReadResult> kept = LaionSgReader.Read(TestFiles.LaionSg("sample.json"), options).ToList();
        Assert.Equal(
            ["invented-0004", "invented-0005", "invented-0008", "invented-0010", "invented-0012", "invented-0015"],
            kept.Select(r => r.Record!.ImgId));
        // Indices stay those of the file, filtered records in between included.
        Assert.Equal([3, 4, 7, 9, 11, 14], kept.Select(r => r.RecordIndex));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(64)]
    [InlineData(1000)]
    public void Tiny_buffers_read_the_same_records(int bufferSize)
    {
        List<LaionSgRecord> expected = ReadAll(TestFiles.LaionSg("sample.json"));
        Assert.Equal(expected, ReadAll(TestFiles.LaionSg("sample.json"), new LaionSgReadOptions { InitialBufferSize = bufferSize }));
        // The bad file exercises the error paths across buffer boundaries too.
        var skip = new LaionSgReadOptions { OnInvalid = LaionSgInvalidRecordPolicy.Skip };
        Assert.Equal(
            LaionSgReader.Read(TestFiles.LaionSg("bad.json"), skip).Select(r => r.Error?.ToString() ?? r.Record!.ImgId),
            LaionSgReader.Read(TestFiles.LaionSg("bad.json"), skip with { InitialBufferSize = bufferSize })
                .Select(r => r.Error?.ToString() ?? r.Record!.ImgId));
    }

    [Fact]
    public void Official_loader_rule_drops_records_without_relations()
    {
        string json = "[" + ValidRecord + "," + ValidRecord.Replace("\"relations\": []",
            "\"relations\": [{\"triple_id\": 0, \"item1\": 0, \"relation\": \"near\", \"item2\": 0}]") + "]";
        List<LaionSgReadResult> results = ReadText(json, new LaionSgReadOptions { DropRecordsWithoutRelations = true });
        Assert.Equal([1], results.Select(r => r.RecordIndex));
    }

    [Fact]
    public void Unknown_fields_null_global_ids_escapes_and_a_byte_order_mark_are_accepted()
    {
        string record = ValidRecord
            .Replace("\"img_id\"", "\"img\\u005fid\"")
            .Replace("\"attributes\": [\"black\"]", "\"attributes\": [\"black\"], \"global_item_id\": null, \"extra\": {\"a\": [1, 2]}");
        byte[] bytes = [0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes("[" + record + "]")];
        LaionSgReadResult result = Assert.Single(LaionSgReader.Read(new MemoryStream(bytes)));
        Assert.Equal("1", result.Record!.ImgId);
        Assert.Null(result.Record.Items[0].GlobalItemId);
    }

    [Fact]
    public void Empty_array_is_no_records()
    {
        Assert.Empty(ReadText("[ ]"));
    }

    [Fact]
    public void Stop_mode_yields_the_records_before_the_first_bad_one_then_throws()
    {
        var seen = new List<string>();
        var ex = Assert.Throws<LaionSgFormatException>(() =>
        {
            foreach (LaionSgReadResult r in LaionSgReader.Read(TestFiles.LaionSg("bad.json"))) seen.Add(r.Record!.ImgId);
        });
        Assert.Equal(["bad-00"], seen);
        Assert.Equal(1, ex.Error.RecordIndex);
        Assert.Equal("bad-01", ex.Error.ImgId);
        Assert.Equal("relations[1].item2", ex.Error.Field);
        Assert.Equal(TestFiles.LaionSg("bad.json"), ex.FileName);
        Assert.EndsWith("bad.json: record 1 (img_id \"bad-01\"), field relations[1].item2: refers to item_id 9, which is not in items", ex.Message);
    }

    [Fact]
    public void ReadRecords_collects_errors_instead_of_throwing()
    {
        var errors = new List<LaionSgError>();
        List<LaionSgRecord> records = LaionSgReader.ReadRecords(TestFiles.LaionSg("bad.json"), errors: errors).ToList();
        Assert.Equal(["bad-00", "bad-11"], records.Select(r => r.ImgId));
        Assert.Equal(11, errors.Count);
    }

    [Fact]
    public void Missing_file_throws_on_enumeration_with_its_path()
    {
        IEnumerable<LaionSgReadResult> lazy = LaionSgReader.Read("/nonexistent/rlrig/none.json");
        Assert.Throws<DirectoryNotFoundException>(() => lazy.ToList());
    }

    [Fact]
    public void Options_are_checked()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => LaionSgReader.Read("x.json", new LaionSgReadOptions { InitialBufferSize = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() =>
            LaionSgReader.Read("x.json", new LaionSgReadOptions { InitialBufferSize = 100, MaxRecordBytes = 50 }));
    }
}
