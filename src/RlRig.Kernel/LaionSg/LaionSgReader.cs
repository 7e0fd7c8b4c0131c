namespace RlRig.LaionSg;

/// <summary>
/// Streams LAION-SG files (a top-level JSON array of records) record by record, with memory bounded by the
/// largest record (see <see cref="LaionSgReadOptions.MaxRecordBytes"/>), never by the file. Every record is
/// checked for JSON types and for <see cref="LaionSgValidation"/>; each bad record gives exactly one
/// <see cref="LaionSgError"/> naming the file, record index, img_id and field.
/// </summary>
public static class LaionSgReader
{
    /// <summary>
    /// Reads the file lazily. With <see cref="LaionSgInvalidRecordPolicy.Stop"/> (the default) the first bad record
    /// throws <see cref="LaionSgFormatException"/>; with <see cref="LaionSgInvalidRecordPolicy.Skip"/> it comes back as
    /// a result with <see cref="LaionSgReadResult.Error"/> set, and reading goes on (JSON that cannot be read further,
    /// such as a truncated file, gives a last error result and ends the sequence).
    /// </summary>
    /// <param name="path">The file; errors name it as given.</param>
    /// <param name="options">Policy, filter and buffer limits; defaults when null.</param>
    public static IEnumerable<LaionSgReadResult> Read(string path, LaionSgReadOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        options ??= new LaionSgReadOptions();
        options.Validate();
        return ReadFile(path, options);
    }

    /// <summary>As <see cref="Read(string, LaionSgReadOptions?)"/> from a stream, which is left open.</summary>
    /// <param name="stream">Readable stream positioned at the start of the JSON.</param>
    /// <param name="options">Policy, filter and buffer limits; defaults when null.</param>
    /// <param name="sourceName">Name used in errors, e.g. the file name; null for none.</param>
    public static IEnumerable<LaionSgReadResult> Read(Stream stream, LaionSgReadOptions? options = null, string? sourceName = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (!stream.CanRead) throw new ArgumentException("The stream is not readable.", nameof(stream));
        options ??= new LaionSgReadOptions();
        options.Validate();
        return ReadStream(stream, options, sourceName);
    }

    /// <summary>
    /// The valid records only. Bad records are skipped and, when <paramref name="errors"/> is given, added to it;
    /// with a null collector they throw as under <see cref="LaionSgInvalidRecordPolicy.Stop"/>.
    /// <see cref="LaionSgReadOptions.OnInvalid"/> is ignored.
    /// </summary>
    public static IEnumerable<LaionSgRecord> ReadRecords(
        string path, LaionSgReadOptions? options = null, ICollection<LaionSgError>? errors = null)
    {
        options = (options ?? new LaionSgReadOptions()) with
        {
            OnInvalid = errors is null ? LaionSgInvalidRecordPolicy.Stop : LaionSgInvalidRecordPolicy.Skip,
        };
        return Valid(Read(path, options), errors);
    }

    /// <summary>
    /// Reads the whole file, checking every record, and reports every invalid one. Only the errors are kept, so
    /// memory stays bounded for valid files of any size.
    /// </summary>
    public static LaionSgValidationReport Validate(string path, LaionSgReadOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using FileStream stream = OpenRead(path);
        return Validate(stream, path, options);
    }

    /// <summary>As <see cref="Validate(string, LaionSgReadOptions?)"/> from a stream, which is left open.</summary>
    public static LaionSgValidationReport Validate(Stream stream, string sourceName, LaionSgReadOptions? options = null)
    {
        options = (options ?? new LaionSgReadOptions()) with { OnInvalid = LaionSgInvalidRecordPolicy.Skip, Filter = null, RejectDuplicateImgIds = true };
        var errors = new List<LaionSgError>();
        int read = 0, valid = 0;
        bool complete = true;
        foreach (LaionSgReadResult result in Read(stream, options, sourceName))
        {
            if (result.RecordIndex >= 0) read++;
            if (result.Error is null)
            {
                valid++;
                continue;
            }
            errors.Add(result.Error);
            if (result.EndsReading) complete = false;
        }
        return new LaionSgValidationReport(sourceName, read, valid, errors.Count(e => e.RecordIndex >= 0), complete, errors);
    }

    internal static FileStream OpenRead(string path) =>
        // The parser buffers itself; a second FileStream buffer would only copy.
        new(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.SequentialScan);

    private static IEnumerable<LaionSgReadResult> ReadFile(string path, LaionSgReadOptions options)
    {
        using FileStream stream = OpenRead(path);
        foreach (LaionSgReadResult result in ReadStream(stream, options, path)) yield return result;
    }

    private static IEnumerable<LaionSgReadResult> ReadStream(Stream stream, LaionSgReadOptions options, string? source)
    {
        var parser = new LaionSgStreamParser(stream, options, source);
        Dictionary<string, int>? firstWithImgId = options.RejectDuplicateImgIds ? new(StringComparer.Ordinal) : null;
        while (parser.TryNext(out LaionSgReadResult result))
        {
            if (firstWithImgId is not null && result.Record is { } record && !firstWithImgId.TryAdd(record.ImgId, result.RecordIndex))
                result = new LaionSgReadResult(result.RecordIndex, null, new LaionSgError(result.RecordIndex, record.ImgId, "img_id",
                    $"duplicate img_id: record {firstWithImgId[record.ImgId]} has it too (records are matched by img_id)", source));
            if (result.Error is not null && options.OnInvalid == LaionSgInvalidRecordPolicy.Stop)
                throw new LaionSgFormatException(result.Error);
            yield return result;
        }
    }

    private static IEnumerable<LaionSgRecord> Valid(IEnumerable<LaionSgReadResult> results, ICollection<LaionSgError>? errors)
    {
        foreach (LaionSgReadResult result in results)
        {
            if (result.Record is not null) yield return result.Record;
            else if (result.Error is not null) errors?.Add(result.Error);
        }
    }
}
