namespace RlRig.LaionSg;

/// <summary>What the reader does with a record that is not valid.</summary>
public enum LaionSgInvalidRecordPolicy
{
    /// <summary>Throw <see cref="LaionSgFormatException"/> at the first bad record.</summary>
    Stop,

    /// <summary>Report the bad record as a <see cref="LaionSgReadResult"/> with an error and go on to the next one.</summary>
    Skip,
}

/// <summary>Options of <see cref="LaionSgReader"/>. Immutable; vary with <c>with</c>.</summary>
public sealed record LaionSgReadOptions
{
    /// <summary>Default of <see cref="InitialBufferSize"/>: 64 KiB, a few dozen typical records.</summary>
    public const int DefaultInitialBufferSize = 64 * 1024;

    /// <summary>Default of <see cref="MaxRecordBytes"/>: 64 MiB, far above any real record (a few KiB).</summary>
    public const int DefaultMaxRecordBytes = 64 * 1024 * 1024;

    /// <summary>Stop at the first bad record, or skip it and report it. Defaults to <see cref="LaionSgInvalidRecordPolicy.Stop"/>.</summary>
    public LaionSgInvalidRecordPolicy OnInvalid { get; init; } = LaionSgInvalidRecordPolicy.Stop;

    /// <summary>
    /// Keeps a valid record when it returns true; others are read, checked and dropped without being returned.
    /// Defaults to null (keep all).
    /// </summary>
    public Func<LaionSgRecord, bool>? Filter { get; init; }

    /// <summary>
    /// Drop valid records whose <c>relations</c> is empty, as the official LAION-SG loader does. Defaults to false
    /// (every record is returned, so that validation and round trips see the whole file).
    /// </summary>
    public bool DropRecordsWithoutRelations { get; init; }

    /// <summary>
    /// A record whose img_id an earlier record of the file already has is invalid (field img_id, naming the earlier
    /// record): records are matched by img_id, so a second one is either a mistake or silently ignored. Defaults to
    /// false (reading for training keeps every record); validation and evaluation turn it on. Holds every img_id.
    /// </summary>
    public bool RejectDuplicateImgIds { get; init; }

    /// <summary>Bytes read from the stream at a time. Defaults to 65536; at least 1.</summary>
    public int InitialBufferSize { get; init; } = DefaultInitialBufferSize;

    /// <summary>
    /// The buffer grows to hold one whole record and never beyond this; a larger record ends reading with an error.
    /// This is what bounds memory on hostile input. Defaults to 67108864 (64 MiB); at least <see cref="InitialBufferSize"/>.
    /// </summary>
    public int MaxRecordBytes { get; init; } = DefaultMaxRecordBytes;

    /// <summary>The CompSGen benchmark rule: records with more than 4 relations.</summary>
    public static Func<LaionSgRecord, bool> CompSGenFilter { get; } = r => r.Relations.Count > 4;

    /// <summary>Checks ranges; called by the reader.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A size out of range.</exception>
    public void Validate()
    {
        if (InitialBufferSize < 1)
            throw new ArgumentOutOfRangeException(nameof(InitialBufferSize), InitialBufferSize, "Must be at least 1 byte.");
        if (MaxRecordBytes < InitialBufferSize)
            throw new ArgumentOutOfRangeException(nameof(MaxRecordBytes), MaxRecordBytes,
                $"Must be at least InitialBufferSize ({InitialBufferSize}); raise it or lower InitialBufferSize.");
        if (!Enum.IsDefined(OnInvalid))
            throw new ArgumentOutOfRangeException(nameof(OnInvalid), OnInvalid, "Use Stop or Skip.");
    }
}

/// <summary>One element of the file: a valid record, or (with <see cref="LaionSgInvalidRecordPolicy.Skip"/>) why it is not.</summary>
/// <param name="RecordIndex">0-based index in the top-level array; -1 for a fault outside any record.</param>
/// <param name="Record">The record when valid, else null.</param>
/// <param name="Error">The error when not valid, else null.</param>
public sealed record LaionSgReadResult(int RecordIndex, LaionSgRecord? Record, LaionSgError? Error)
{
    /// <summary>True when <see cref="Record"/> is set.</summary>
    public bool IsValid => Record is not null;

    /// <summary>
    /// True for a fault that leaves the JSON unreadable from there on (truncated or malformed JSON, a record over
    /// <see cref="LaionSgReadOptions.MaxRecordBytes"/>, a top level that is not an array): it is the last result.
    /// </summary>
    public bool EndsReading { get; init; }
}

/// <summary>
/// Outcome of <see cref="LaionSgReader.Validate(string, LaionSgReadOptions?)"/>: one error per invalid record.
/// Serialises to JSON as is.
/// </summary>
/// <param name="Source">The file as named by the caller.</param>
/// <param name="RecordsRead">Records met in the file, valid or not.</param>
/// <param name="Valid">Records that passed every check.</param>
/// <param name="Invalid">Records that failed, each with one entry in <paramref name="Errors"/>.</param>
/// <param name="Complete">False when reading had to end early (truncated or malformed JSON, oversized record).</param>
/// <param name="Errors">Every error, in file order.</param>
public sealed record LaionSgValidationReport(
    string Source, int RecordsRead, int Valid, int Invalid, bool Complete, IReadOnlyList<LaionSgError> Errors)
{
    /// <summary>True when the whole file was read and every record is valid.</summary>
    public bool IsValid => Complete && Errors.Count == 0;
}
