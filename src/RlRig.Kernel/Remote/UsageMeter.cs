namespace RlRig.Remote;

/// <summary>
/// What HTTP backends spent, as counted by <see cref="UsageMeter"/>: replies fetched from servers and served from the
/// cache, calls that failed after every retry, replies that did not parse, tokens (as the servers report them) and cost.
/// Cached replies cost nothing, so their tokens are not counted.
/// </summary>
public sealed record Usage(long Requests, long CacheHits, long Failures, long UnparsedReplies, long InputTokens, long OutputTokens, double Cost)
{
    public static Usage None { get; } = new(0, 0, 0, 0, 0, 0, 0);

    public Usage Plus(Usage o) => new(Requests + o.Requests, CacheHits + o.CacheHits, Failures + o.Failures, UnparsedReplies + o.UnparsedReplies,
        InputTokens + o.InputTokens, OutputTokens + o.OutputTokens, Cost + o.Cost);

    public System.Text.Json.Nodes.JsonObject ToJson() => new()
    {
        ["requests"] = Requests, ["cache_hits"] = CacheHits, ["failures"] = Failures, ["unparsed_replies"] = UnparsedReplies,
        ["input_tokens"] = InputTokens, ["output_tokens"] = OutputTokens, ["cost"] = Math.Round(Cost, 6),
    };
}

/// <summary>
/// Thread-safe running totals of <see cref="Usage"/>. Every backend client has one; a caller that wants the usage of one
/// piece of work (one LAION-SG record) opens a <see cref="Scope"/> around it, and every backend call made inside that
/// async flow is also added to the scope's meter.
/// </summary>
public sealed class UsageMeter
{
    readonly object gate = new();
    Usage total = Usage.None;

    // Backends take batches, so the record a request belongs to is only known to the caller's async flow: this carries
    // it down to the HTTP handler without changing the loop's interfaces.
    static readonly AsyncLocal<UsageMeter?> Ambient = new();

    public Usage Total { get { lock (gate) return total; } }

    internal void Add(Usage usage)
    {
        lock (gate) total = total.Plus(usage);
        if (Ambient.Value is { } scope && scope != this) scope.Add(usage);
    }

    /// <summary>Counts every backend call made in this async flow, until disposed, into <paramref name="meter"/> as well.</summary>
    public static IDisposable Scope(UsageMeter meter)
    {
        var previous = Ambient.Value;
        Ambient.Value = meter;
        return new Restore(() => Ambient.Value = previous);
    }

    sealed class Restore(Action restore) : IDisposable
    {
        public void Dispose() => restore();
    }
}
