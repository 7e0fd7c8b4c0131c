namespace RlRig.LaionSg;

/// <summary>
/// Why one record (or the file) could not be read. Renders as
/// <c>sample.json: record 3 (img_id "482027"), field relations[1].item2: refers to item_id 9, which is not in items</c>.
/// </summary>
/// <param name="RecordIndex">0-based index of the record in the top-level array; -1 when the fault is outside any record.</param>
/// <param name="ImgId">The record's <c>img_id</c> when it could be read, else null.</param>
/// <param name="Field">JSON path of the faulty field inside the record, e.g. <c>relations[1].item2</c>; empty for the record as a whole.</param>
/// <param name="Message">What is wrong, in words.</param>
/// <param name="Source">The file (as the caller named it) or stream name; null when unknown.</param>
public sealed record LaionSgError(int RecordIndex, string? ImgId, string Field, string Message, string? Source = null)
{
    /// <summary>The error as one line; what came from the file (img_id, values) is escaped (<see cref="RlRig.IO.TerminalText"/>), so printing it cannot forge terminal output.</summary>
    public override string ToString() => RlRig.IO.TerminalText.Escape(Unescaped());

    string Unescaped()
    {
        string source = Source is null ? "" : Source + ": ";
        string where = RecordIndex < 0
            ? "file"
            : ImgId is null ? $"record {RecordIndex} (img_id unknown)" : $"record {RecordIndex} (img_id \"{ImgId}\")";
        string field = Field.Length == 0 ? "" : $", field {Field}";
        return $"{source}{where}{field}: {Message}";
    }
}

/// <summary>A LAION-SG file that cannot be read, or a bad record when reading with <see cref="LaionSgInvalidRecordPolicy.Stop"/>.</summary>
public sealed class LaionSgFormatException : FormatException
{
    /// <summary>Creates the exception from the error it reports.</summary>
    public LaionSgFormatException(LaionSgError error, Exception? inner = null)
        : base(error.ToString(), inner)
    {
        Error = error;
    }

    /// <summary>The error, with record index, img_id and field.</summary>
    public LaionSgError Error { get; }

    /// <summary>The file or stream name, when known.</summary>
    public string? FileName => Error.Source;
}
