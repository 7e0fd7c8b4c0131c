namespace RlRig.Remote;

/// <summary>A setting that is missing or malformed; the message names the variable (or flag) and what is wrong, never a key.</summary>
public sealed class RemoteSettingsException(string message) : ArgumentException(message);

/// <summary>
/// An API key. It is kept out of every text RlRig writes: <see cref="ToString"/> is a placeholder, records that hold one
/// print the placeholder, and only the HTTP layer reads the value (as the Authorization header, which is never cached
/// or logged).
/// </summary>
public sealed class ApiKey(string value)
{
    internal string Value { get; } = value;

    public override string ToString() => "(key hidden)";
}

/// <summary>
/// Where a model is served: an OpenAI-compatible base URL (e.g. <c>http://127.0.0.1:8000/v1</c>), the model's name, and
/// the key if the server wants one. Printing it never shows the key.
/// </summary>
public sealed record ModelEndpoint(Uri BaseUrl, string Model, ApiKey? Key = null)
{
    /// <summary>"model at url": how messages, traces and summaries name the endpoint.</summary>
    public string Describe() => $"{Model} at {BaseUrl}";

    public override string ToString() => Describe();
}

/// <summary>
/// The HTTP backends' configuration from environment variables (flags with the same meaning override them):
/// <c>RLRIG_VLM_ENDPOINT</c>, <c>RLRIG_VLM_MODEL</c>, <c>RLRIG_VLM_API_KEY</c> (Checker, Actor and Judge);
/// <c>RLRIG_JUDGE_ENDPOINT</c>, <c>RLRIG_JUDGE_MODEL</c>, <c>RLRIG_JUDGE_API_KEY</c> (a separate judge, each falling back to
/// the VLM's); <c>RLRIG_IMAGE_ENDPOINT</c>, <c>RLRIG_IMAGE_MODEL</c>, <c>RLRIG_IMAGE_API_KEY</c> (generation and
/// editing); <c>RLRIG_CACHE</c> (the response cache's folder).
/// </summary>
public static class RemoteSettings
{
    public const string VlmPrefix = "RLRIG_VLM", JudgePrefix = "RLRIG_JUDGE", ImagePrefix = "RLRIG_IMAGE", CacheVariable = "RLRIG_CACHE";

    /// <summary>The process's environment, as the lookups below take it.</summary>
    public static Func<string, string?> ProcessEnvironment => Environment.GetEnvironmentVariable;

    /// <summary>Whether <c>{prefix}_ENDPOINT</c> is set (e.g. a notebook then uses the configured server, else the loopback one).</summary>
    public static bool IsConfigured(string prefix, Func<string, string?>? environment = null) =>
        !string.IsNullOrWhiteSpace((environment ?? ProcessEnvironment)(prefix + "_ENDPOINT"));

    /// <summary>
    /// The endpoint named by <c>{prefix}_ENDPOINT</c>, <c>{prefix}_MODEL</c> and <c>{prefix}_API_KEY</c>; a flag's value,
    /// when given, replaces the variable's (<paramref name="endpointFlag"/>, <paramref name="modelFlag"/>).
    /// <paramref name="fallback"/> supplies what is not set (the judge falls back to the VLM).
    /// </summary>
    /// <exception cref="RemoteSettingsException">A missing or malformed setting, naming the variable.</exception>
    public static ModelEndpoint Endpoint(string prefix, Func<string, string?>? environment = null, string? endpointFlag = null, string? modelFlag = null,
        ModelEndpoint? fallback = null)
    {
        environment ??= ProcessEnvironment;
        var urlText = Nonblank(endpointFlag) ?? Nonblank(environment(prefix + "_ENDPOINT"));
        var model = Nonblank(modelFlag) ?? Nonblank(environment(prefix + "_MODEL"));
        var key = Nonblank(environment(prefix + "_API_KEY"));
        if (urlText is null && fallback is not null) return fallback with { Model = model ?? fallback.Model, Key = key is null ? fallback.Key : new ApiKey(key) };
        if (urlText is null) throw new RemoteSettingsException($"{prefix}_ENDPOINT is not set: give the server's OpenAI-compatible base URL, e.g. http://127.0.0.1:8000/v1");
        var url = ParseUrl(urlText, prefix + "_ENDPOINT");
        if (model is null) throw new RemoteSettingsException($"{prefix}_MODEL is not set: give the model's name as the server knows it");
        if (model.Any(char.IsControl)) throw new RemoteSettingsException($"{prefix}_MODEL contains control characters");
        if (key is not null && key.Any(c => char.IsControl(c) || c > '~')) throw new RemoteSettingsException($"{prefix}_API_KEY contains characters an HTTP header cannot carry");
        return new ModelEndpoint(url, model, key is null ? null : new ApiKey(key));
    }

    /// <summary>An absolute http(s) URL, ending in '/' so relative paths ("chat/completions") append to it.</summary>
    /// <exception cref="RemoteSettingsException">Not an absolute http or https URL; the message names <paramref name="name"/>.</exception>
    public static Uri ParseUrl(string text, string name)
    {
        // A URL with user information may hold a key: it is refused without being echoed.
        if (text.Contains('@')) throw new RemoteSettingsException($"{name}: the URL holds '@' (user or key information); put the key in the _API_KEY variable");
        if (!Uri.TryCreate(text.Trim(), UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https") || !string.IsNullOrEmpty(url.Query) || !string.IsNullOrEmpty(url.Fragment))
            throw new RemoteSettingsException($"{name}: '{RlRig.IO.TerminalText.Escape(Shorten(text))}' is not an http(s) base URL such as http://127.0.0.1:8000/v1");
        return url.AbsoluteUri.EndsWith('/') ? url : new Uri(url.AbsoluteUri + "/");
    }

    /// <summary>
    /// The response cache's folder: <c>RLRIG_CACHE</c>, else <c>rlrig/http</c> under the user's cache directory
    /// (<c>$XDG_CACHE_HOME</c> or <c>~/.cache</c> on Linux and macOS, the local application data folder on Windows).
    /// </summary>
    /// <exception cref="RemoteSettingsException">RLRIG_CACHE is set but is not a usable path.</exception>
    public static string CacheFolder(Func<string, string?>? environment = null)
    {
        environment ??= ProcessEnvironment;
        if (Nonblank(environment(CacheVariable)) is { } set)
        {
            if (set.IndexOfAny(Path.GetInvalidPathChars()) >= 0 || set.Contains('\0')) throw new RemoteSettingsException($"{CacheVariable}: not a path");
            return Path.GetFullPath(set);
        }
        string root;
        if (OperatingSystem.IsWindows()) root = Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData);
        else root = Nonblank(environment("XDG_CACHE_HOME")) ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
        return Path.Combine(root, "rlrig", "http");
    }

    static string? Nonblank(string? s) => string.IsNullOrWhiteSpace(s) ? null : s.Trim();

    static string Shorten(string s) => s.Length <= 80 ? s : s[..80] + "...";
}
