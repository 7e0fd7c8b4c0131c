namespace RlRig.Remote;

/// <summary>
/// How every HTTP backend talks to its server: timeouts, retries, the concurrency limit, the response cache and prices.
/// Immutable; vary with <c>with</c>; <see cref="Validate"/> checks it as a whole.
/// </summary>
public sealed record HttpBackendOptions
{
    /// <summary>Longest wait for one attempt's full reply. Defaults to 120 s (a VLM or an image model can be slow).</summary>
    public TimeSpan AttemptTimeout { get; init; } = TimeSpan.FromSeconds(120);

    /// <summary>Retries after a timeout, a dropped or truncated reply, 408, 429 or a 5xx. Defaults to 4.</summary>
    public int MaxRetries { get; init; } = 4;

    /// <summary>First backoff delay, doubled each retry with jitter; a <c>Retry-After</c> header replaces it. Defaults to 1 s.</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Longest single backoff, a server's <c>Retry-After</c> included. Defaults to 60 s.</summary>
    public TimeSpan MaxRetryDelay { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Requests in flight at once per server; the rest wait their turn. Defaults to 4.</summary>
    public int MaxConcurrency { get; init; } = 4;

    /// <summary>Folder of the on-disk response cache, or null for none. Defaults to null; the CLI sets <see cref="RemoteSettings.CacheFolder"/>.</summary>
    public string? CacheFolder { get; init; }

    /// <summary>Price in dollars per million input (prompt) tokens, for cost accounting. Defaults to 0 (not priced).</summary>
    public double InputPricePerMillion { get; init; }

    /// <summary>Price in dollars per million output tokens. Defaults to 0.</summary>
    public double OutputPricePerMillion { get; init; }

    /// <summary>Checks every field and their combination.</summary>
    /// <exception cref="ArgumentException">A value out of range, with how to fix it.</exception>
    public HttpBackendOptions Validate()
    {
        if (AttemptTimeout <= TimeSpan.Zero || AttemptTimeout > TimeSpan.FromHours(1))
            throw new ArgumentException($"AttemptTimeout must be in (0, 1 h], got {AttemptTimeout}");
        if (MaxRetries is < 0 or > 20) throw new ArgumentException($"MaxRetries must be 0 to 20, got {MaxRetries}");
        if (RetryDelay < TimeSpan.Zero || MaxRetryDelay < RetryDelay)
            throw new ArgumentException($"RetryDelay ({RetryDelay}) must be >= 0 and at most MaxRetryDelay ({MaxRetryDelay}); raise MaxRetryDelay or lower RetryDelay");
        if (MaxConcurrency is < 1 or > 256) throw new ArgumentException($"MaxConcurrency must be 1 to 256, got {MaxConcurrency}");
        if (!double.IsFinite(InputPricePerMillion) || InputPricePerMillion < 0 || !double.IsFinite(OutputPricePerMillion) || OutputPricePerMillion < 0)
            throw new ArgumentException("prices must be finite and >= 0 (dollars per million tokens)");
        return this;
    }
}
