namespace RlRig.Cli.Commands;

/// <summary>
/// Exit codes shared by every command, so that scripts can tell bad data from a bad command line (README, "The rlrig
/// command").
/// </summary>
public static class ExitCodes
{
    /// <summary>The command did what was asked.</summary>
    public const int Ok = 0;

    /// <summary>The input was read but is not valid (invalid LAION-SG records, a failing notebook cell), or a benchmark's run failed its check (memory that is not flat).</summary>
    public const int InvalidData = 1;

    /// <summary>The command line is wrong, or a file could not be opened, read or written.</summary>
    public const int UsageOrIo = 2;

    /// <summary>An unexpected error, i.e. a bug in RlRig: one line names the command and the cause; --verbose shows the trace.</summary>
    public const int Unexpected = 3;

    /// <summary>Stopped by Ctrl+C or SIGTERM before finishing (128 + SIGINT, as shells report it); nothing half-written is left.</summary>
    public const int Interrupted = 130;
}
