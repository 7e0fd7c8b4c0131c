using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Http.Resilience;
using Polly;
using Polly.Timeout;
using RlRig.IO;

namespace RlRig.Remote;

/// <summary>A call to a model server failed after every retry, or its reply broke the wire format; the message names the server and the cause, never the key.</summary>
public sealed class RemoteBackendException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// The HTTP client every backend uses. From the caller inwards: the response cache and usage accounting, then Polly
/// (retries with exponential backoff and jitter that honour <c>Retry-After</c>, then the concurrency limit, then the
/// per-attempt timeout), then a handler that reads the whole reply inside the attempt, so that a reply cut short or
/// too slow is retried like a dropped connection.
/// </summary>
public static class RemoteHttp
{
    /// <summary>The reply header a cache hit carries (for tests and traces; servers never send it).</summary>
    public const string CacheHeader = "X-RlRig-Cache";

    /// <param name="transport">The innermost handler; null for a real socket handler (tests pass their own only to inject faults below the cache).</param>
    public static HttpClient Create(ModelEndpoint endpoint, HttpBackendOptions options, UsageMeter meter, HttpMessageHandler? transport = null)
    {
        options.Validate();
        var retry = new HttpRetryStrategyOptions
        {
            MaxRetryAttempts = Math.Max(options.MaxRetries, 1),
            Delay = options.RetryDelay,
            MaxDelay = options.MaxRetryDelay,
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
            ShouldRetryAfterHeader = true,
        };
        var builder = new ResiliencePipelineBuilder<HttpResponseMessage>();
        if (options.MaxRetries > 0) builder.AddRetry(retry);
        var pipeline = builder
            .AddConcurrencyLimiter(new ConcurrencyLimiterOptions { PermitLimit = options.MaxConcurrency, QueueLimit = int.MaxValue })
            .AddTimeout(options.AttemptTimeout)
            .Build();
        var inner = new BufferingHandler(endpoint.Key) { InnerHandler = transport ?? new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) } };
        var resilience = new ResilienceHandler(pipeline) { InnerHandler = inner };
        var outer = new CacheAndUsageHandler(options, meter, Math.Max(options.MaxRetries, 0)) { InnerHandler = resilience };
        // Polly times each attempt; HttpClient's own 100 s limit would cut across retries.
        return new HttpClient(outer) { BaseAddress = endpoint.BaseUrl, Timeout = Timeout.InfiniteTimeSpan };
    }

    static readonly HttpRequestOptionsKey<string> CachePath = new("rlrig.cache-path");

    /// <summary>
    /// Drops a reply from the cache: a backend calls it when a reply that was valid JSON turns out to be unusable (an
    /// image payload that does not decode), so that a rerun asks the server again instead of reading the bad copy.
    /// </summary>
    public static void Forget(HttpResponseMessage response)
    {
        if (response.RequestMessage?.Options.TryGetValue(CachePath, out var path) == true)
            try { File.Delete(path); } catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }

    /// <summary>The cache key of a request: its method, URL and body (which holds the model and every image), never a header, so never the key.</summary>
    public static string CacheKey(HttpMethod method, Uri url, ReadOnlySpan<byte> body)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(Encoding.UTF8.GetBytes($"{method.Method}\n{url.AbsoluteUri}\n"));
        hash.AppendData(body);
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>Tokens a reply reports: chat completions' <c>usage.prompt_tokens</c>/<c>completion_tokens</c>, the images API's <c>usage.input_tokens</c>/<c>output_tokens</c>.</summary>
    public static (long Input, long Output) Tokens(ReadOnlySpan<byte> json)
    {
        try
        {
            using var doc = JsonDocument.Parse(json.ToArray());
            if (doc.RootElement.ValueKind != JsonValueKind.Object || !doc.RootElement.TryGetProperty("usage", out var usage) || usage.ValueKind != JsonValueKind.Object) return (0, 0);
            long Get(params string[] names)
            {
                foreach (var n in names)
                    if (usage.TryGetProperty(n, out var v) && v.TryGetInt64(out var x) && x >= 0) return x;
                return 0;
            }
            return (Get("prompt_tokens", "input_tokens"), Get("completion_tokens", "output_tokens"));
        }
        catch (JsonException) { return (0, 0); }
    }

    /// <summary>A short, escaped excerpt of a reply body for messages.</summary>
    internal static string Excerpt(string text) => TerminalText.Escape(text.Length <= 200 ? text : text[..200] + "...");

    // Inside each attempt: sets the key (or removes the placeholder an SDK sends when there is none) and reads the whole
    // reply, so a truncated or stalled body fails the attempt and is retried.
    sealed class BufferingHandler(ApiKey? key) : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            request.Headers.Authorization = key is null ? null : new AuthenticationHeaderValue("Bearer", key.Value);
            var response = await base.SendAsync(request, cancellationToken);
            try { await response.Content.LoadIntoBufferAsync(cancellationToken); }
            catch (Exception e) when (e is IOException or HttpRequestException)
            {
                response.Dispose();
                throw new HttpRequestException($"the reply was cut short ({e.Message})", e);
            }
            return response;
        }
    }

    sealed class CacheAndUsageHandler(HttpBackendOptions options, UsageMeter meter, int retries) : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            // The body is read once and resent as bytes, so every retry sends the same request and the key is its hash.
            var body = request.Content is null ? [] : await request.Content.ReadAsByteArrayAsync(cancellationToken);
            if (request.Content is not null)
            {
                var copy = new ByteArrayContent(body);
                foreach (var h in request.Content.Headers) copy.Headers.TryAddWithoutValidation(h.Key, h.Value);
                request.Content = copy;
            }
            var key = CacheKey(request.Method, request.RequestUri!, body);
            var path = options.CacheFolder is { } folder ? Path.Combine(folder, key[..2], key + ".json") : null;
            if (path is not null) request.Options.Set(CachePath, path);
            if (path is not null && TryRead(path) is { } cached)
            {
                meter.Add(Usage.None with { CacheHits = 1 });
                var hit = new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent(cached), RequestMessage = request };
                hit.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                hit.Headers.Add(CacheHeader, "hit");
                return hit;
            }
            HttpResponseMessage response;
            try { response = await base.SendAsync(request, cancellationToken); }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                meter.Add(Usage.None with { Failures = 1 });
                throw new RemoteBackendException(Describe(request, e, retries), e);
            }
            if (!response.IsSuccessStatusCode)
            {
                meter.Add(Usage.None with { Failures = 1 });
                return response;
            }
            var bytes = await response.Content.ReadAsByteArrayAsync(cancellationToken);
            var (input, output) = Tokens(bytes);
            meter.Add(new Usage(1, 0, 0, 0, input, output, (input * options.InputPricePerMillion + output * options.OutputPricePerMillion) / 1e6));
            // Only whole JSON replies are kept: a malformed one is not worth keeping and a rerun asks again.
            if (path is not null && IsJson(bytes))
            {
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                AtomicFile.WriteAllBytes(path, bytes);
            }
            return response;
        }

        static byte[]? TryRead(string path)
        {
            try { var bytes = File.ReadAllBytes(path); return IsJson(bytes) ? bytes : null; }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
        }

        static bool IsJson(byte[] bytes)
        {
            try { using var _ = JsonDocument.Parse(bytes); return true; }
            catch (JsonException) { return false; }
        }

        static string Describe(HttpRequestMessage request, Exception e, int retries)
        {
            var where = $"{request.Method} {request.RequestUri}";
            var tries = retries == 0 ? "" : $" after {retries + 1} tries";
            return e switch
            {
                TimeoutRejectedException t => $"{where}: no complete reply within {t.Timeout.TotalSeconds:0.###} s{tries}",
                HttpRequestException h => $"{where}: {TerminalText.Escape(h.Message)}{tries}",
                _ => $"{where}: {e.GetType().Name}: {TerminalText.Escape(e.Message)}{tries}",
            };
        }
    }
}
