using System.Text.Json;
using Json.Schema;
using RlRig.LaionSg;

namespace RlRig.Tests.LaionSg;

/// <summary>
/// The published LAION-SG schema written out as JSON Schema, checked independently of our reader: the sample files
/// and whatever the writer produces must conform to it.
/// </summary>
public sealed class LaionSgSchemaTests
{
    private static readonly JsonSchema Schema = JsonSchema.FromText("""
        {
          "type": "array",
          "items": {
            "type": "object",
            "additionalProperties": false,
            "required": ["img_id", "name", "caption_ori", "score", "url", "items", "relations"],
            "properties": {
              "img_id": { "type": "string", "minLength": 1 },
              "name": { "type": "string" },
              "caption_ori": { "type": "string" },
              "score": { "type": "string" },
              "url": { "type": "string" },
              "items": {
                "type": "array",
                "items": {
                  "type": "object",
                  "additionalProperties": false,
                  "required": ["item_id", "label", "attributes"],
                  "properties": {
                    "item_id": { "type": "integer" },
                    "label": { "type": "string", "minLength": 1 },
                    "attributes": { "type": "array", "items": { "type": "string", "minLength": 1 } },
                    "global_item_id": { "type": "integer" }
                  }
                }
              },
              "relations": {
                "type": "array",
                "items": {
                  "type": "object",
                  "additionalProperties": false,
                  "required": ["triple_id", "item1", "relation", "item2"],
                  "properties": {
                    "triple_id": { "type": "integer" },
                    "item1": { "type": "integer" },
                    "relation": { "type": "string", "minLength": 1 },
                    "item2": { "type": "integer" },
                    "global_relation_id": { "type": "integer" }
                  }
                }
              }
            }
          }
        }
        """);

    private static bool Conforms(string json)
    {
        using JsonDocument doc = JsonDocument.Parse(json);
        return Schema.Evaluate(doc.RootElement).IsValid;
    }

    [Theory]
    [InlineData("sample.json")]
    [InlineData("sample-pred.json")]
    public void Sample_files_follow_the_schema(string name)
    {
        Assert.True(Conforms(File.ReadAllText(TestFiles.LaionSg(name))));
    }

    [Fact]
    public void Written_files_follow_the_schema()
    {
        using var stream = new MemoryStream();
        LaionSgWriter.Write(stream, LaionSgSynthetic.Generate(50, seed: 9));
        Assert.True(Conforms(System.Text.Encoding.UTF8.GetString(stream.ToArray())));
    }

    [Fact]
    public void The_schema_rejects_what_the_reader_rejects()
    {
        string numericId = "[" + LaionSgReaderTests.ValidRecord.Replace("\"img_id\": \"1\"", "\"img_id\": 1") + "]";
        Assert.False(Conforms(numericId));
        Assert.False(LaionSgReader.Validate(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(numericId)), "t.json").IsValid);
        Assert.True(Conforms("[" + LaionSgReaderTests.ValidRecord + "]"));
    }
}
