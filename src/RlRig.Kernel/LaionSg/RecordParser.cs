using System.Text.Json;

namespace RlRig.LaionSg;

/// <summary>
/// Reads one record object straight from <see cref="Utf8JsonReader"/> tokens into <see cref="LaionSgRecord"/>,
/// checking JSON types. A type fault ends the record with one error and the rest of the object is skipped, so the
/// next record reads normally. Scratch lists are reused across records; only the record's own arrays are allocated.
/// </summary>
internal sealed class RecordParser
{
    private const int ImgIdBit = 1, NameBit = 2, CaptionBit = 4, ScoreBit = 8, UrlBit = 16, ItemsBit = 32, RelationsBit = 64;

    private readonly List<LaionSgItem> _items = [];
    private readonly List<LaionSgRelation> _relations = [];
    private readonly List<string> _attributes = [];

    /// <summary>img_id of the record being read, for errors raised before it completes; null between records.</summary>
    public string? LastImgId { get; private set; }

    /// <summary>
    /// Parses the object at the reader (token StartObject). On a type fault returns null with the field and message,
    /// the reader left on the record's closing brace. Throws <see cref="NeedMoreDataException"/> and
    /// <see cref="JsonException"/> from the reader.
    /// </summary>
    public LaionSgRecord? Parse(ref Utf8JsonReader reader, out string? imgId, out string field, out string message)
    {
        LastImgId = null;
        int depth = reader.CurrentDepth;
        try
        {
            LaionSgRecord record = ReadRecord(ref reader);
            imgId = record.ImgId;
            field = message = "";
            LastImgId = null;
            return record;
        }
        catch (FieldException fault)
        {
            field = fault.Field;
            message = fault.Message;
            SkipRestOfRecord(ref reader, depth);
            imgId = LastImgId;
            LastImgId = null;
            return null;
        }
    }

    private LaionSgRecord ReadRecord(ref Utf8JsonReader reader)
    {
        string? imgId = null, name = null, caption = null, score = null, url = null;
        LaionSgItem[]? items = null;
        LaionSgRelation[]? relations = null;
        int seen = 0;
        while (true)
        {
            Json.Next(ref reader);
            if (reader.TokenType == JsonTokenType.EndObject) break;
            if (reader.ValueTextEquals("img_id"u8))
            {
                Once(ref seen, ImgIdBit, new FieldPath("img_id"));
                imgId = ReadString(ref reader, new FieldPath("img_id"));
                LastImgId = imgId;
            }
            else if (reader.ValueTextEquals("name"u8))
            {
                Once(ref seen, NameBit, new FieldPath("name"));
                name = ReadString(ref reader, new FieldPath("name"));
            }
            else if (reader.ValueTextEquals("caption_ori"u8))
            {
                Once(ref seen, CaptionBit, new FieldPath("caption_ori"));
                caption = ReadString(ref reader, new FieldPath("caption_ori"));
            }
            else if (reader.ValueTextEquals("score"u8))
            {
                Once(ref seen, ScoreBit, new FieldPath("score"));
                score = ReadString(ref reader, new FieldPath("score"));
            }
            else if (reader.ValueTextEquals("url"u8))
            {
                Once(ref seen, UrlBit, new FieldPath("url"));
                url = ReadString(ref reader, new FieldPath("url"));
            }
            else if (reader.ValueTextEquals("items"u8))
            {
                Once(ref seen, ItemsBit, new FieldPath("items"));
                items = ReadItems(ref reader);
            }
            else if (reader.ValueTextEquals("relations"u8))
            {
                Once(ref seen, RelationsBit, new FieldPath("relations"));
                relations = ReadRelations(ref reader);
            }
            else
            {
                SkipValue(ref reader); // fields beyond the schema are tolerated and dropped
            }
        }
        return new LaionSgRecord(
            imgId ?? throw Missing(new FieldPath("img_id")),
            name ?? throw Missing(new FieldPath("name")),
            caption ?? throw Missing(new FieldPath("caption_ori")),
            score ?? throw Missing(new FieldPath("score")),
            url ?? throw Missing(new FieldPath("url")),
            items ?? throw Missing(new FieldPath("items")),
            relations ?? throw Missing(new FieldPath("relations")));
    }

    private LaionSgItem[] ReadItems(ref Utf8JsonReader reader)
    {
        StartArray(ref reader, new FieldPath("items"));
        _items.Clear();
        while (true)
        {
            Json.Next(ref reader);
            if (reader.TokenType == JsonTokenType.EndArray) break;
            int i = _items.Count;
            if (reader.TokenType != JsonTokenType.StartObject)
                throw new FieldException($"items[{i}]", $"is {Json.Describe(reader.TokenType)}, expected an object");
            _items.Add(ReadItem(ref reader, i));
        }
        return _items.Count == 0 ? [] : _items.ToArray();
    }

    private LaionSgItem ReadItem(ref Utf8JsonReader reader, int i)
    {
        int? itemId = null, globalId = null;
        string? label = null;
        string[]? attributes = null;
        int seen = 0;
        while (true)
        {
            Json.Next(ref reader);
            if (reader.TokenType == JsonTokenType.EndObject) break;
            if (reader.ValueTextEquals("item_id"u8))
            {
                Once(ref seen, 1, new FieldPath("item_id", "items", i));
                itemId = ReadInt(ref reader, new FieldPath("item_id", "items", i));
            }
            else if (reader.ValueTextEquals("label"u8))
            {
                Once(ref seen, 2, new FieldPath("label", "items", i));
                Json.Next(ref reader);
                label = StringValue(ref reader, new FieldPath("label", "items", i));
            }
            else if (reader.ValueTextEquals("attributes"u8))
            {
                Once(ref seen, 4, new FieldPath("attributes", "items", i));
                attributes = ReadAttributes(ref reader, i);
            }
            else if (reader.ValueTextEquals("global_item_id"u8))
            {
                Once(ref seen, 8, new FieldPath("global_item_id", "items", i));
                globalId = ReadOptionalInt(ref reader, new FieldPath("global_item_id", "items", i));
            }
            else
            {
                SkipValue(ref reader);
            }
        }
        return new LaionSgItem(
            itemId ?? throw Missing(new FieldPath("item_id", "items", i)),
            label ?? throw Missing(new FieldPath("label", "items", i)),
            attributes ?? throw Missing(new FieldPath("attributes", "items", i)),
            globalId);
    }

    private string[] ReadAttributes(ref Utf8JsonReader reader, int i)
    {
        Json.Next(ref reader);
        if (reader.TokenType != JsonTokenType.StartArray)
            throw new FieldException(new FieldPath("attributes", "items", i), $"is {Json.Describe(reader.TokenType)}, expected an array of strings");
        _attributes.Clear();
        while (true)
        {
            Json.Next(ref reader);
            if (reader.TokenType == JsonTokenType.EndArray) break;
            _attributes.Add(StringValue(ref reader, new FieldPath("attributes", "items", i, _attributes.Count)));
        }
        return _attributes.Count == 0 ? [] : _attributes.ToArray();
    }

    private LaionSgRelation[] ReadRelations(ref Utf8JsonReader reader)
    {
        StartArray(ref reader, new FieldPath("relations"));
        _relations.Clear();
        while (true)
        {
            Json.Next(ref reader);
            if (reader.TokenType == JsonTokenType.EndArray) break;
            int j = _relations.Count;
            if (reader.TokenType != JsonTokenType.StartObject)
                throw new FieldException($"relations[{j}]", $"is {Json.Describe(reader.TokenType)}, expected an object");
            _relations.Add(ReadRelation(ref reader, j));
        }
        return _relations.Count == 0 ? [] : _relations.ToArray();
    }

    private static LaionSgRelation ReadRelation(ref Utf8JsonReader reader, int j)
    {
        int? tripleId = null, item1 = null, item2 = null, globalId = null;
        string? relation = null;
        int seen = 0;
        while (true)
        {
            Json.Next(ref reader);
            if (reader.TokenType == JsonTokenType.EndObject) break;
            if (reader.ValueTextEquals("triple_id"u8))
            {
                Once(ref seen, 1, new FieldPath("triple_id", "relations", j));
                tripleId = ReadInt(ref reader, new FieldPath("triple_id", "relations", j));
            }
            else if (reader.ValueTextEquals("item1"u8))
            {
                Once(ref seen, 2, new FieldPath("item1", "relations", j));
                item1 = ReadInt(ref reader, new FieldPath("item1", "relations", j));
            }
            else if (reader.ValueTextEquals("relation"u8))
            {
                Once(ref seen, 4, new FieldPath("relation", "relations", j));
                Json.Next(ref reader);
                relation = StringValue(ref reader, new FieldPath("relation", "relations", j));
            }
            else if (reader.ValueTextEquals("item2"u8))
            {
                Once(ref seen, 8, new FieldPath("item2", "relations", j));
                item2 = ReadInt(ref reader, new FieldPath("item2", "relations", j));
            }
            else if (reader.ValueTextEquals("global_relation_id"u8))
            {
                Once(ref seen, 16, new FieldPath("global_relation_id", "relations", j));
                globalId = ReadOptionalInt(ref reader, new FieldPath("global_relation_id", "relations", j));
            }
            else
            {
                SkipValue(ref reader);
            }
        }
        return new LaionSgRelation(
            tripleId ?? throw Missing(new FieldPath("triple_id", "relations", j)),
            item1 ?? throw Missing(new FieldPath("item1", "relations", j)),
            relation ?? throw Missing(new FieldPath("relation", "relations", j)),
            item2 ?? throw Missing(new FieldPath("item2", "relations", j)),
            globalId);
    }

    private static void StartArray(ref Utf8JsonReader reader, FieldPath field)
    {
        Json.Next(ref reader);
        if (reader.TokenType != JsonTokenType.StartArray)
            throw new FieldException(field, $"is {Json.Describe(reader.TokenType)}, expected an array");
    }

    private static string ReadString(ref Utf8JsonReader reader, FieldPath field)
    {
        Json.Next(ref reader);
        return StringValue(ref reader, field);
    }

    private static string StringValue(ref Utf8JsonReader reader, FieldPath field) =>
        reader.TokenType == JsonTokenType.String
            ? reader.GetString()!
            : throw new FieldException(field, $"is {Json.Describe(reader.TokenType)}{Raw(ref reader)}, expected a string");

    private static int ReadInt(ref Utf8JsonReader reader, FieldPath field)
    {
        Json.Next(ref reader);
        return IntValue(ref reader, field);
    }

    private static int? ReadOptionalInt(ref Utf8JsonReader reader, FieldPath field)
    {
        Json.Next(ref reader);
        return reader.TokenType == JsonTokenType.Null ? null : IntValue(ref reader, field);
    }

    private static int IntValue(ref Utf8JsonReader reader, FieldPath field)
    {
        if (reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out int value)) return value;
        string what = reader.TokenType == JsonTokenType.Number
            ? $"is {Raw(ref reader).TrimStart()}"
            : $"is {Json.Describe(reader.TokenType)}{Raw(ref reader)}";
        throw new FieldException(field, $"{what}, expected a 32-bit integer");
    }

    /// <summary>The scalar's JSON text, shortened, for error messages.</summary>
    private static string Raw(ref Utf8JsonReader reader)
    {
        if (reader.TokenType is not (JsonTokenType.String or JsonTokenType.Number)) return "";
        string text = reader.TokenType == JsonTokenType.String ? "\"" + reader.GetString() + "\"" : System.Text.Encoding.UTF8.GetString(reader.ValueSpan);
        return " " + (text.Length > 40 ? text[..40] + "..." : text);
    }

    private static void SkipValue(ref Utf8JsonReader reader)
    {
        Json.Next(ref reader);
        if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray && !reader.TrySkip())
            throw NeedMoreDataException.Instance;
    }

    private static void Once(ref int seen, int bit, FieldPath field)
    {
        if ((seen & bit) != 0) throw new FieldException(field, "appears twice in the same object");
        seen |= bit;
    }

    private static FieldException Missing(FieldPath field) => new(field, "is missing");

    /// <summary>Reads to the record's closing brace, picking up img_id on the way when it comes after the fault.</summary>
    private void SkipRestOfRecord(ref Utf8JsonReader reader, int depth)
    {
        while (!(reader.TokenType == JsonTokenType.EndObject && reader.CurrentDepth == depth))
        {
            Json.Next(ref reader);
            if (LastImgId is null && reader.TokenType == JsonTokenType.PropertyName
                && reader.CurrentDepth == depth + 1 && reader.ValueTextEquals("img_id"u8))
            {
                Json.Next(ref reader);
                if (reader.TokenType == JsonTokenType.String) LastImgId = reader.GetString();
                else if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray && !reader.TrySkip())
                    throw NeedMoreDataException.Instance;
            }
        }
    }

    /// <summary>
    /// Where a value sits, e.g. items[2].attributes[1]; formatted only when an error is raised, because formatting it
    /// for every value would allocate more than the record itself.
    /// </summary>
    private readonly record struct FieldPath(string Name, string? List = null, int Index = -1, int Sub = -1)
    {
        public override string ToString() =>
            (List is null ? Name : $"{List}[{Index}].{Name}") + (Sub >= 0 ? $"[{Sub}]" : "");
    }

    private sealed class FieldException(string field, string message) : Exception(message)
    {
        public FieldException(FieldPath field, string message)
            : this(field.ToString(), message)
        {
        }

        public string Field { get; } = field;
    }
}
