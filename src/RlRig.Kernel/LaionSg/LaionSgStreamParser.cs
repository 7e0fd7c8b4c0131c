using System.Text.Json;

namespace RlRig.LaionSg;

/// <summary>
/// Pulls LAION-SG records one at a time from a stream with <see cref="Utf8JsonReader"/>. Only whole records are
/// committed: when the buffer ends inside a record, the unread tail moves to the front, more bytes are read (the
/// buffer doubles only when one record does not fit) and the record is parsed again from its start. Memory is
/// therefore the largest record, not the file.
/// </summary>
internal sealed class LaionSgStreamParser
{
    private enum Phase { BeforeArray, InArray, AfterArray, Finished }

    private readonly Stream _stream;
    private readonly LaionSgReadOptions _options;
    private readonly string? _source;
    private readonly RecordParser _records = new();
    private byte[] _buffer;
    private int _pos;
    private int _end;
    private bool _eof;
    private JsonReaderState _state;
    private Phase _phase = Phase.BeforeArray;
    private int _nextIndex;

    public LaionSgStreamParser(Stream stream, LaionSgReadOptions options, string? source)
    {
        _stream = stream;
        _options = options;
        _source = source;
        _buffer = new byte[options.InitialBufferSize];
    }

    /// <summary>Largest buffer used so far, for tests and the benchmark.</summary>
    public int BufferSize => _buffer.Length;

    /// <summary>
    /// Next valid record or error. False at the end. After an error that leaves the JSON unreadable the next call
    /// returns false.
    /// </summary>
    public bool TryNext(out LaionSgReadResult result)
    {
        while (_phase != Phase.Finished)
        {
            if (_phase == Phase.BeforeArray && !SkipByteOrderMark()) continue;
            var reader = new Utf8JsonReader(_buffer.AsSpan(_pos, _end - _pos), _eof, _state);
            LaionSgReadResult? produced;
            try
            {
                produced = Step(ref reader);
            }
            catch (NeedMoreDataException)
            {
                if (!Refill())
                {
                    result = Fatal(_phase == Phase.InArray ? _nextIndex : -1,
                        $"is larger than MaxRecordBytes ({_options.MaxRecordBytes} bytes); raise the limit if the file is trusted");
                    return true;
                }
                continue;
            }
            catch (FileStructureException ex)
            {
                result = Fatal(-1, ex.Message);
                return true;
            }
            catch (JsonException ex)
            {
                (string message, bool inRecord) = DescribeJsonFault(ex);
                result = Fatal(inRecord ? _nextIndex : -1, message);
                return true;
            }
            _pos += (int)reader.BytesConsumed;
            _state = reader.CurrentState;
            if (produced is not null)
            {
                _nextIndex++;
                result = produced;
                return true;
            }
        }
        result = null!;
        return false;
    }

    /// <summary>Reads one token or element; returns a result when a record was completed.</summary>
    private LaionSgReadResult? Step(ref Utf8JsonReader reader)
    {
        switch (_phase)
        {
            case Phase.BeforeArray:
                Json.Next(ref reader);
                if (reader.TokenType != JsonTokenType.StartArray)
                    throw new FileStructureException($"the top level must be a JSON array of records, not {Json.Describe(reader.TokenType)}");
                _phase = Phase.InArray;
                return null;
            case Phase.InArray:
                Json.Next(ref reader);
                if (reader.TokenType == JsonTokenType.EndArray)
                {
                    _phase = Phase.AfterArray;
                    return null;
                }
                return ReadElement(ref reader);
            case Phase.AfterArray:
                if (reader.Read())
                    throw new FileStructureException("there is content after the closing ']' of the top-level array");
                if (!_eof) throw NeedMoreDataException.Instance;
                _phase = Phase.Finished;
                return null;
            default:
                return null;
        }
    }

    private LaionSgReadResult? ReadElement(ref Utf8JsonReader reader)
    {
        int index = _nextIndex;
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            string found = Json.Describe(reader.TokenType);
            if (reader.TokenType is JsonTokenType.StartArray && !reader.TrySkip()) throw NeedMoreDataException.Instance;
            return Invalid(index, null, "", $"is {found}, expected an object");
        }
        LaionSgRecord? record = _records.Parse(ref reader, out string? imgId, out string field, out string message);
        if (record is null) return Invalid(index, imgId, field, message);
        if (LaionSgValidation.FirstProblem(record) is (string badField, string problem))
            return Invalid(index, record.ImgId.Length == 0 ? null : record.ImgId, badField, problem);
        bool keep = (!_options.DropRecordsWithoutRelations || record.Relations.Count > 0)
                    && (_options.Filter?.Invoke(record) ?? true);
        if (keep) return new LaionSgReadResult(index, record, null);
        _nextIndex++; // the element is consumed though nothing is returned
        return null;
    }

    private LaionSgReadResult Invalid(int index, string? imgId, string field, string message) =>
        new(index, null, new LaionSgError(index, imgId, field, message, _source));

    private LaionSgReadResult Fatal(int index, string message)
    {
        _phase = Phase.Finished;
        string? imgId = index >= 0 ? _records.LastImgId : null;
        return new LaionSgReadResult(index, null, new LaionSgError(index, imgId, "", message, _source)) { EndsReading = true };
    }

    /// <summary>The message for a JSON fault, and whether it lies inside the record being read.</summary>
    private (string Message, bool InRecord) DescribeJsonFault(JsonException ex)
    {
        if (_eof && IsPrefixOfValidJson())
        {
            if (_phase == Phase.BeforeArray)
                return (_end == _pos ? "the file is empty; expected a JSON array of records"
                    : "the file holds no complete JSON value; expected a JSON array of records", false);
            return _phase == Phase.InArray && HasContentBeforeNextRecordEnd()
                ? ("truncated JSON: the file ends inside this record", true)
                : ("truncated JSON: the file ends before the closing ']' of the top-level array", false);
        }
        string text = ex.Message;
        int cut = text.IndexOf(" LineNumber:", StringComparison.Ordinal);
        if (cut >= 0) text = text[..cut];
        string message = ex.LineNumber is long line
            ? $"invalid JSON at line {line + 1}, byte {ex.BytePositionInLine + 1}: {text}"
            : $"invalid JSON: {text}";
        return (message, _phase == Phase.InArray);
    }

    /// <summary>True when the unread bytes are a valid beginning of JSON that merely stops too early.</summary>
    private bool IsPrefixOfValidJson()
    {
        var probe = new Utf8JsonReader(_buffer.AsSpan(_pos, _end - _pos), isFinalBlock: false, _state);
        try
        {
            while (probe.Read()) { }
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private bool HasContentBeforeNextRecordEnd()
    {
        var probe = new Utf8JsonReader(_buffer.AsSpan(_pos, _end - _pos), isFinalBlock: false, _state);
        try
        {
            return probe.Read() && probe.TokenType != JsonTokenType.EndArray;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private bool SkipByteOrderMark()
    {
        if (_end - _pos < 3 && !_eof)
        {
            if (!Refill()) return true;
            return false;
        }
        if (_end - _pos >= 3 && _buffer[_pos] == 0xEF && _buffer[_pos + 1] == 0xBB && _buffer[_pos + 2] == 0xBF) _pos += 3;
        return true;
    }

    /// <summary>Moves the unread tail to the front and reads more; false when one record would exceed the limit.</summary>
    private bool Refill()
    {
        if (_eof) throw new InvalidOperationException("The JSON reader asked for data past the end of the stream.");
        int unread = _end - _pos;
        if (_pos > 0)
        {
            Buffer.BlockCopy(_buffer, _pos, _buffer, 0, unread);
            _pos = 0;
            _end = unread;
        }
        if (_end == _buffer.Length)
        {
            if (_buffer.Length >= _options.MaxRecordBytes) return false;
            Array.Resize(ref _buffer, (int)Math.Min((long)_buffer.Length * 2, _options.MaxRecordBytes));
        }
        int read = _stream.Read(_buffer, _end, _buffer.Length - _end);
        if (read == 0) _eof = true;
        _end += read;
        return true;
    }
}

/// <summary>The file is JSON but not an array of records.</summary>
internal sealed class FileStructureException(string message) : Exception(message);

/// <summary>Thrown (one shared instance) when the buffer ends before the current record; caught by the parser.</summary>
internal sealed class NeedMoreDataException : Exception
{
    public static readonly NeedMoreDataException Instance = new();
}

internal static class Json
{
    public static void Next(ref Utf8JsonReader reader)
    {
        if (!reader.Read()) throw NeedMoreDataException.Instance;
    }

    public static string Describe(JsonTokenType token) => token switch
    {
        JsonTokenType.String => "a string",
        JsonTokenType.Number => "a number",
        JsonTokenType.True or JsonTokenType.False => "a boolean",
        JsonTokenType.Null => "null",
        JsonTokenType.StartObject => "an object",
        JsonTokenType.StartArray => "an array",
        _ => token.ToString(),
    };
}
