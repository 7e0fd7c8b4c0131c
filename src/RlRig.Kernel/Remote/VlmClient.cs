using System.ClientModel;
using System.ClientModel.Primitives;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.AI;
using OpenAI;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace RlRig.Remote;

/// <summary>How a VLM is asked for JSON: a JSON schema (<c>response_format: json_schema</c>, the widest supported:
/// OpenAI, vLLM, SGLang, Ollama, LM Studio, llama.cpp server), any JSON object (<c>json_object</c>), or only by the prompt.</summary>
public enum JsonReplyFormat { JsonSchema, JsonObject, PromptOnly }

/// <summary>How a VLM backend samples. Immutable; vary with <c>with</c>.</summary>
public sealed record VlmOptions
{
    /// <summary>Sampling temperature. Defaults to 0 (the Checker and the Actor should not vary between reruns).</summary>
    public float Temperature { get; init; }

    /// <summary>The sampling seed sent to the server (servers that honour it repeat themselves). Defaults to 0.</summary>
    public long? Seed { get; init; } = 0;

    /// <summary>Longest reply in tokens. Defaults to 1,024.</summary>
    public int MaxOutputTokens { get; init; } = 1024;

    /// <summary>How JSON is asked for. Defaults to <see cref="JsonReplyFormat.JsonSchema"/>.</summary>
    public JsonReplyFormat ReplyFormat { get; init; } = JsonReplyFormat.JsonSchema;

    /// <summary>Folder of edited prompt templates, or null for the ones RlRig ships (<see cref="PromptTemplate.DefaultFolder"/>).</summary>
    public string? PromptFolder { get; init; }

    /// <summary>The LAION-SG evaluation's sampling for the judge: temperature 0.7 with a fixed seed, as the official scorer asks GPT-4o.</summary>
    public static VlmOptions LaionSgJudge { get; } = new() { Temperature = 0.7f, Seed = 0 };

    public VlmOptions Validate()
    {
        if (!float.IsFinite(Temperature) || Temperature is < 0 or > 2) throw new ArgumentException($"Temperature must be in [0, 2], got {Temperature}");
        if (MaxOutputTokens is < 16 or > 1_000_000) throw new ArgumentException($"MaxOutputTokens must be 16 to 1,000,000, got {MaxOutputTokens}");
        return this;
    }
}

/// <summary>A VLM's reply: its text as it came, and the JSON object in it, or why there is none.</summary>
public sealed record VlmReply(string Text, JsonObject? Json, string? ParseError)
{
    /// <summary>The reply as a <see cref="Loop.ReplyFailure"/> with the given reason (or the parse error).</summary>
    public Loop.ReplyFailure Failure(string? reason = null) => new(reason ?? ParseError ?? "the reply is not as asked", Text);
}

/// <summary>
/// One OpenAI-compatible chat-completions endpoint with image input, through Microsoft.Extensions.AI's
/// <see cref="IChatClient"/> over <see cref="RemoteHttp"/> (cache, retries, timeouts, concurrency limit, usage).
/// Images go as PNG data URIs in <c>image_url</c> parts. The Checker, the Actor and the judges share this.
/// </summary>
public sealed class VlmClient : IDisposable
{
    readonly HttpClient http;
    readonly IChatClient chat;

    public VlmClient(ModelEndpoint endpoint, VlmOptions? options = null, HttpBackendOptions? httpOptions = null, HttpMessageHandler? transport = null)
    {
        Endpoint = endpoint;
        Options = (options ?? new VlmOptions()).Validate();
        http = RemoteHttp.Create(endpoint, httpOptions ?? new HttpBackendOptions(), Usage, transport);
        // The SDK's own retries are off: RemoteHttp's Polly pipeline retries, below the cache. Its key is a placeholder:
        // RemoteHttp sets the real one (or none) inside each attempt, so the SDK never holds it.
        var client = new OpenAIClient(new ApiKeyCredential("set-by-rlrig"), new OpenAIClientOptions
        {
            Endpoint = new Uri(endpoint.BaseUrl.AbsoluteUri.TrimEnd('/')),
            Transport = new HttpClientPipelineTransport(http),
            RetryPolicy = new ClientRetryPolicy(0),
            NetworkTimeout = TimeSpan.FromDays(1),
        });
        chat = client.GetChatClient(endpoint.Model).AsIChatClient();
    }

    public ModelEndpoint Endpoint { get; }
    public VlmOptions Options { get; }

    /// <summary>Requests, cache hits, failures, unparsed replies, tokens and cost of every call through this client.</summary>
    public UsageMeter Usage { get; } = new();

    /// <summary>Loads a prompt template from <see cref="VlmOptions.PromptFolder"/>.</summary>
    public PromptTemplate Template(string name, IReadOnlyCollection<string> placeholders) => PromptTemplate.Load(name, placeholders, Options.PromptFolder);

    /// <summary>
    /// Sends <paramref name="prompt"/> with <paramref name="images"/> and asks for JSON matching <paramref name="schema"/>.
    /// A reply that is not a JSON object comes back with <see cref="VlmReply.ParseError"/> set and is counted, never thrown.
    /// </summary>
    /// <exception cref="RemoteBackendException">The server could not be reached or answered with an error after every retry, or broke the wire format.</exception>
    public async Task<VlmReply> AskAsync(string prompt, IReadOnlyList<Image<Rgb24>> images, string schemaName, string schema, CancellationToken cancellationToken = default)
    {
        var contents = new List<AIContent> { new TextContent(prompt) };
        foreach (var image in images) contents.Add(new DataContent(Png(image), "image/png"));
        var options = new ChatOptions
        {
            Temperature = Options.Temperature,
            Seed = Options.Seed,
            MaxOutputTokens = Options.MaxOutputTokens,
            ResponseFormat = Options.ReplyFormat switch
            {
                JsonReplyFormat.JsonSchema => ChatResponseFormat.ForJsonSchema(JsonDocument.Parse(schema).RootElement.Clone(), schemaName),
                JsonReplyFormat.JsonObject => ChatResponseFormat.Json,
                _ => null,
            },
        };
        ChatResponse response;
        try { response = await chat.GetResponseAsync([new ChatMessage(ChatRole.User, contents)], options, cancellationToken); }
        catch (RemoteBackendException e) { throw new RemoteBackendException($"VLM {Endpoint.Describe()}: {e.Message}", e); }
        catch (ClientResultException e) { throw new RemoteBackendException($"VLM {Endpoint.Describe()}: the server answered HTTP {e.Status}{Body(e)}", e); }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        { throw new RemoteBackendException($"VLM {Endpoint.Describe()}: the reply is not a chat completion ({e.GetType().Name}: {RemoteHttp.Excerpt(e.Message)})", e); }
        var text = response.Text ?? "";
        var json = ParseObject(text, out var error);
        if (json is null) Usage.Add(RlRig.Remote.Usage.None with { UnparsedReplies = 1 });
        return new VlmReply(text, json, error);
    }

    /// <summary>Counts a reply whose JSON parsed but does not say what was asked (the schema's shape is wrong).</summary>
    public void CountUnparsed() => Usage.Add(RlRig.Remote.Usage.None with { UnparsedReplies = 1 });

    static string Body(ClientResultException e)
    {
        var text = e.GetRawResponse()?.Content?.ToString();
        return string.IsNullOrWhiteSpace(text) ? "" : ": " + RemoteHttp.Excerpt(text);
    }

    internal static byte[] Png(Image<Rgb24> image)
    {
        using var stream = new MemoryStream();
        image.SaveAsPng(stream);
        return stream.ToArray();
    }

    /// <summary>The JSON object in a reply: the whole text, or the first fenced block (models often wrap JSON in ```json fences).</summary>
    public static JsonObject? ParseObject(string text, out string? error)
    {
        var body = text.Trim();
        var fence = body.IndexOf("```", StringComparison.Ordinal);
        if (fence >= 0)
        {
            var start = body.IndexOf('\n', fence);
            var end = start < 0 ? -1 : body.IndexOf("```", start, StringComparison.Ordinal);
            if (start >= 0 && end > start) body = body[(start + 1)..end].Trim();
        }
        try
        {
            if (JsonNode.Parse(body) is JsonObject o) { error = null; return o; }
            error = "the reply is JSON but not an object";
        }
        catch (JsonException e) { error = $"the reply is not JSON ({e.Message})"; }
        return null;
    }

    public void Dispose()
    {
        (chat as IDisposable)?.Dispose();
        http.Dispose();
    }
}
