using RlRig.IO;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace RlRig.LaionSg;

/// <summary>Options of <see cref="LaionSgWriter"/>.</summary>
public sealed record LaionSgWriteOptions
{
    /// <summary>Indent the JSON for people to read. Defaults to false (compact, as the released files).</summary>
    public bool Indented { get; init; }
}

/// <summary>
/// Writes LAION-SG files in the published schema, streaming with <see cref="Utf8JsonWriter"/>. Only valid records
/// are written (<see cref="LaionSgValidation"/>), so whatever this writes reads back equal. Optional global ids are
/// written only when present.
/// </summary>
public static class LaionSgWriter
{
    // Output is data, not HTML: keep non-ASCII text readable instead of \u-escaping it. Still valid JSON.
    private static readonly JavaScriptEncoder Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping;

    /// <summary>
    /// Writes the records to <paramref name="path"/> atomically: into a temporary file in the same folder, flushed to
    /// disk, then renamed over the target, so readers see the old file or the whole new one, never a part.
    /// </summary>
    /// <returns>The number of records written.</returns>
    /// <exception cref="ArgumentException">A record is not valid; nothing is written.</exception>
    public static int Write(string path, IEnumerable<LaionSgRecord> records, LaionSgWriteOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(records);
        var count = 0;
        AtomicFile.Write(path, stream => count = Write(stream, records, options));
        return count;
    }

    /// <summary>Writes the records to a stream, which is left open.</summary>
    /// <returns>The number of records written.</returns>
    /// <exception cref="ArgumentException">A record is not valid (the stream then holds a partial array).</exception>
    public static int Write(Stream stream, IEnumerable<LaionSgRecord> records, LaionSgWriteOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(records);
        using var writer = new Utf8JsonWriter(stream, new JsonWriterOptions
        {
            Indented = options?.Indented ?? false,
            Encoder = Encoder,
            SkipValidation = true, // the structure below is fixed; validation would only cost time
        });
        writer.WriteStartArray();
        int index = 0;
        foreach (LaionSgRecord record in records)
        {
            if (record is null) throw new ArgumentException($"Record {index} is null.", nameof(records));
            if (LaionSgValidation.Check(record, index) is LaionSgError error)
                throw new ArgumentException($"Cannot write an invalid record: {error}", nameof(records));
            WriteRecord(writer, record);
            index++;
            // Keep the writer's pending bytes small: this is what makes writing stream.
            if (writer.BytesPending > 32 * 1024) writer.Flush();
        }
        writer.WriteEndArray();
        writer.Flush();
        return index;
    }

    private static void WriteRecord(Utf8JsonWriter w, LaionSgRecord r)
    {
        w.WriteStartObject();
        w.WriteString("img_id"u8, r.ImgId);
        w.WriteString("name"u8, r.Name);
        w.WriteString("caption_ori"u8, r.CaptionOri);
        w.WriteString("score"u8, r.Score);
        w.WriteString("url"u8, r.Url);
        w.WriteStartArray("items"u8);
        foreach (LaionSgItem item in r.Items)
        {
            w.WriteStartObject();
            w.WriteNumber("item_id"u8, item.ItemId);
            w.WriteString("label"u8, item.Label);
            w.WriteStartArray("attributes"u8);
            foreach (string attribute in item.Attributes) w.WriteStringValue(attribute);
            w.WriteEndArray();
            if (item.GlobalItemId is int globalItemId) w.WriteNumber("global_item_id"u8, globalItemId);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteStartArray("relations"u8);
        foreach (LaionSgRelation rel in r.Relations)
        {
            w.WriteStartObject();
            w.WriteNumber("triple_id"u8, rel.TripleId);
            w.WriteNumber("item1"u8, rel.Item1);
            w.WriteString("relation"u8, rel.Relation);
            w.WriteNumber("item2"u8, rel.Item2);
            if (rel.GlobalRelationId is int globalRelationId) w.WriteNumber("global_relation_id"u8, globalRelationId);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }
}
