using System.Text;
using RlRig.LaionSg;

namespace RlRig.Tests.LaionSg;

/// <summary>Each defect kind gives exactly one clear error for its record, and Skip mode never throws.</summary>
public sealed class LaionSgDefectTests
{
    private static List<LaionSgReadResult> Skip(string json) =>
        LaionSgReader.Read(new MemoryStream(Encoding.UTF8.GetBytes(json)),
            new LaionSgReadOptions { OnInvalid = LaionSgInvalidRecordPolicy.Skip }, "t.json").ToList();

    private static LaionSgError OnlyError(string json)
    {
        List<LaionSgReadResult> results = Skip(json);
        return Assert.Single(results, r => r.Error is not null).Error!;
    }

    private static string Record(string replace, string with) =>
        "[" + LaionSgReaderTests.ValidRecord.Replace(replace, with) + "]";

    [Fact]
    public void Bad_file_gives_one_error_per_bad_record()
    {
        LaionSgValidationReport report = LaionSgReader.Validate(TestFiles.LaionSg("bad.json"));
        Assert.Equal(13, report.RecordsRead);
        Assert.Equal(2, report.Valid);
        Assert.Equal(11, report.Invalid);
        Assert.False(report.Complete);
        Assert.False(report.IsValid);
        string file = TestFiles.LaionSg("bad.json");
        string[] expected =
            [
                $"{file}: record 1 (img_id \"bad-01\"), field relations[1].item2: refers to item_id 9, which is not in items",
                $"{file}: record 2 (img_id \"bad-02\"), field relations[0].item1: refers to item_id 7, which is not in items",
                $"{file}: record 3 (img_id \"bad-03\"), field items[1].item_id: duplicate item_id 0 (also at items[0])",
                $"{file}: record 4 (img_id \"bad-04\"), field relations[1].triple_id: duplicate triple_id 3 (also at relations[0])",
                $"{file}: record 5 (img_id unknown), field img_id: is a number 482027, expected a string",
                $"{file}: record 6 (img_id \"bad-06\"), field score: is a number 6.5, expected a string",
                $"{file}: record 7 (img_id \"bad-07\"), field items[0].item_id: is a string \"0\", expected a 32-bit integer",
                $"{file}: record 8 (img_id \"bad-08\"), field items[0].attributes: is a string, expected an array of strings",
                $"{file}: record 9 (img_id \"bad-09\"), field items[1].label: is empty",
                $"{file}: record 10 (img_id \"bad-10\"), field url: is missing",
                $"{file}: record 12 (img_id \"bad-12\"): truncated JSON: the file ends inside this record",
            ];
        Assert.Equal(expected.Length, report.Errors.Count);
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], report.Errors[i].ToString());
    }

    [Fact]
    public void Img_id_after_the_faulty_field_is_still_named()
    {
        LaionSgError e = OnlyError("""[{"items": 5, "img_id": "late", "name": "n", "caption_ori": "c", "score": "1", "url": "u", "relations": []}]""");
        Assert.Equal("late", e.ImgId);
        Assert.Equal("items", e.Field);
        Assert.Equal("is a number, expected an array", e.Message);
    }

    [Theory]
    [InlineData("\"item_id\": 0", "\"item_id\": 1.5", "items[0].item_id", "is 1.5, expected a 32-bit integer")]
    [InlineData("\"item_id\": 0", "\"item_id\": 99999999999", "items[0].item_id", "is 99999999999, expected a 32-bit integer")]
    [InlineData("\"label\": \"cat\"", "\"label\": null", "items[0].label", "is null, expected a string")]
    [InlineData("\"label\": \"cat\"", "\"label\": \"\"", "items[0].label", "is empty")]
    [InlineData("[\"black\"]", "[\"black\", 3]", "items[0].attributes[1]", "is a number 3, expected a string")]
    [InlineData("[\"black\"]", "[\"black\", \"\"]", "items[0].attributes[1]", "is empty")]
    [InlineData("\"name\": \"1.jpg\"", "\"name\": [\"1.jpg\"]", "name", "is an array, expected a string")]
    [InlineData("\"relations\": []", "\"relations\": {}", "relations", "is an object, expected an array")]
    [InlineData("\"relations\": []", "\"relations\": [7]", "relations[0]", "is a number, expected an object")]
    [InlineData("\"relations\": []", "\"relations\": [{\"triple_id\": 0, \"item1\": 0, \"item2\": 0}]", "relations[0].relation", "is missing")]
    [InlineData("\"relations\": []", "\"relations\": [{\"triple_id\": 0, \"item1\": 0, \"relation\": \" \", \"item2\": 0}]", "relations[0].relation", "is empty")]
    [InlineData("\"relations\": []", "\"relations\": [{\"triple_id\": 0, \"item1\": 0, \"relation\": \"on\", \"item2\": 0, \"global_relation_id\": \"4\"}]", "relations[0].global_relation_id", "is a string \"4\", expected a 32-bit integer")]
    [InlineData("\"score\": \"6.5\"", "\"score\": \"6.5\", \"score\": \"7\"", "score", "appears twice in the same object")]
    [InlineData("\"img_id\": \"1\"", "\"img_id\": \"\"", "img_id", "is empty; records are matched by img_id")]
    [InlineData("\"caption_ori\": \"c\", ", "", "caption_ori", "is missing")]
    public void Each_field_defect_names_its_field(string replace, string with, string field, string message)
    {
        LaionSgError e = OnlyError(Record(replace, with));
        Assert.Equal(0, e.RecordIndex);
        Assert.Equal(field, e.Field);
        Assert.Equal(message, e.Message);
    }

    [Fact]
    public void A_bad_record_does_not_disturb_the_next_one()
    {
        string bad = LaionSgReaderTests.ValidRecord.Replace("\"items\": [", "\"items\": [{\"deep\": [[{}]]}, ");
        List<LaionSgReadResult> results = Skip("[" + bad + "," + LaionSgReaderTests.ValidRecord + "]");
        Assert.Equal(2, results.Count);
        Assert.Equal("items[0].item_id", results[0].Error!.Field);
        Assert.Equal("1", results[1].Record!.ImgId);
        Assert.Equal(1, results[1].RecordIndex);
    }

    [Fact]
    public void Non_object_elements_are_bad_records()
    {
        List<LaionSgReadResult> results = Skip("[1, [2, [3]], " + LaionSgReaderTests.ValidRecord + "]");
        Assert.Equal("t.json: record 0 (img_id unknown): is a number, expected an object", results[0].Error!.ToString());
        Assert.Equal("is an array, expected an object", results[1].Error!.Message);
        Assert.True(results[2].IsValid);
    }

    [Theory]
    [InlineData("", -1, "the file is empty; expected a JSON array of records")]
    [InlineData("[", -1, "truncated JSON: the file ends before the closing ']' of the top-level array")]
    [InlineData("{\"img_id\": \"1\"}", -1, "the top level must be a JSON array of records, not an object")]
    public void File_level_faults_end_reading_with_one_error(string json, int index, string message)
    {
        LaionSgReadResult result = Assert.Single(Skip(json));
        Assert.True(result.EndsReading);
        Assert.Equal(index, result.Error!.RecordIndex);
        Assert.Equal(message, result.Error.Message);
    }

    [Fact]
    public void Truncation_between_records_and_after_the_array()
    {
        List<LaionSgReadResult> cut = Skip("[" + LaionSgReaderTests.ValidRecord + ",");
        Assert.True(cut[0].IsValid);
        Assert.Equal("truncated JSON: the file ends before the closing ']' of the top-level array", cut[1].Error!.Message);

        List<LaionSgReadResult> trailing = Skip("[" + LaionSgReaderTests.ValidRecord + "] x");
        Assert.True(trailing[0].IsValid);
        Assert.True(trailing[1].EndsReading);
        Assert.StartsWith("invalid JSON at line 1", trailing[1].Error!.Message);
    }

    [Fact]
    public void Malformed_json_inside_a_record_names_line_and_record()
    {
        string json = "[\n" + LaionSgReaderTests.ValidRecord + ",\n{\"img_id\": \"2\", \"name\": nope}\n]";
        List<LaionSgReadResult> results = Skip(json);
        Assert.Equal(2, results.Count);
        LaionSgError e = results[1].Error!;
        Assert.Equal(1, e.RecordIndex);
        Assert.Equal("2", e.ImgId);
        // Line 3 is {"img_id": "2", "name": nope}: "nope" starts at byte 25 and the reader stops at the 'o', byte 26.
        Assert.StartsWith("invalid JSON at line 3, byte 26:", e.Message);
        Assert.True(results[1].EndsReading);
    }

    [Fact]
    public void A_record_over_the_size_limit_ends_reading()
    {
        string big = LaionSgReaderTests.ValidRecord.Replace("\"caption_ori\": \"c\"", "\"caption_ori\": \"" + new string('x', 5000) + "\"");
        var options = new LaionSgReadOptions { OnInvalid = LaionSgInvalidRecordPolicy.Skip, InitialBufferSize = 256, MaxRecordBytes = 1024 };
        List<LaionSgReadResult> results = LaionSgReader.Read(
            new MemoryStream(Encoding.UTF8.GetBytes("[" + LaionSgReaderTests.ValidRecord + "," + big + "]")), options, "big.json").ToList();
        Assert.True(results[0].IsValid);
        Assert.Equal("big.json: record 1 (img_id \"1\"): is larger than MaxRecordBytes (1024 bytes); raise the limit if the file is trusted",
            results[1].Error!.ToString());
    }
}
