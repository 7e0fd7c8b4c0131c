using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using RlRig.Loop;
using RlRig.SceneGraphs;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace RlRig.Remote;

/// <summary>Options of the image backends (OpenAI images API). Immutable; vary with <c>with</c>.</summary>
public sealed record ImageApiOptions
{
    /// <summary>The <c>size</c> field ("1024x1024"), or null to leave it to the server. Defaults to "1024x1024".</summary>
    public string? Size { get; init; } = "1024x1024";

    /// <summary>
    /// The <c>response_format</c> field. Defaults to "b64_json" (DALL-E 2/3 and most local servers need it to return the
    /// image inline); null leaves it out, for gpt-image-1, which always answers in base64 and refuses the field.
    /// </summary>
    public string? ResponseFormat { get; init; } = "b64_json";

    /// <summary>Send the request's seed as a <c>seed</c> field (not in OpenAI's API; local servers such as LocalAI accept it). Defaults to false.</summary>
    public bool SendSeed { get; init; }

    /// <summary>
    /// Denoiser evaluations one image costs on the server (steps, times 2 with classifier-free guidance), for NFE
    /// accounting: the API does not report it. Defaults to 0, "unknown".
    /// </summary>
    public int NfePerImage { get; init; }

    public ImageApiOptions Validate()
    {
        if (Size is not null && !System.Text.RegularExpressions.Regex.IsMatch(Size, @"^(\d{1,5}x\d{1,5}|auto)$"))
            throw new ArgumentException($"Size must be WIDTHxHEIGHT (e.g. 1024x1024) or auto, got '{IO.TerminalText.Escape(Size)}'");
        if (NfePerImage is < 0 or > 100_000) throw new ArgumentException($"NfePerImage must be 0 to 100,000, got {NfePerImage}");
        return this;
    }
}

/// <summary>
/// The client both image backends share: one OpenAI images-API endpoint through <see cref="RemoteHttp"/>, and the
/// decoding of its <c>data[0].b64_json</c> replies.
/// </summary>
public sealed class ImageApiClient : IDisposable
{
    readonly HttpClient http;

    public ImageApiClient(ModelEndpoint endpoint, ImageApiOptions? options = null, HttpBackendOptions? httpOptions = null, HttpMessageHandler? transport = null)
    {
        Endpoint = endpoint;
        Options = (options ?? new ImageApiOptions()).Validate();
        http = RemoteHttp.Create(endpoint, httpOptions ?? new HttpBackendOptions(), Usage, transport);
    }

    public ModelEndpoint Endpoint { get; }
    public ImageApiOptions Options { get; }
    public UsageMeter Usage { get; } = new();

    /// <summary>Posts <paramref name="content"/> to <paramref name="path"/> ("images/generations", "images/edits") and decodes the image.</summary>
    /// <exception cref="RemoteBackendException">An HTTP error after every retry, a reply that is not the images API's JSON, or a payload that is not an image.</exception>
    public async Task<Image<Rgb24>> PostAsync(string path, HttpContent content, CancellationToken cancellationToken)
    {
        var where = $"image server {Endpoint.Describe()} ({path})";
        using var response = await Send(path, content, where, cancellationToken);
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        if (!response.IsSuccessStatusCode) throw new RemoteBackendException($"{where}: HTTP {(int)response.StatusCode} {response.ReasonPhrase}: {RemoteHttp.Excerpt(body)}");
        string? base64;
        try
        {
            var data = (JsonNode.Parse(body) as JsonObject)?["data"] as JsonArray;
            var first = data is { Count: > 0 } ? data[0] as JsonObject : null;
            base64 = first?["b64_json"]?.GetValue<string>();
            if (base64 is null)
            {
                RemoteHttp.Forget(response);
                throw new RemoteBackendException(first?["url"] is not null
                    ? $"{where}: the reply gives a URL, not the image; ask for response_format b64_json"
                    : $"{where}: the reply has no data[0].b64_json ({RemoteHttp.Excerpt(body)})");
            }
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            RemoteHttp.Forget(response);
            throw new RemoteBackendException($"{where}: the reply is not the images API's JSON ({RemoteHttp.Excerpt(e.Message)})", e);
        }
        try { return Image.Load<Rgb24>(Convert.FromBase64String(base64)); }
        catch (Exception e) when (e is FormatException or UnknownImageFormatException or InvalidImageContentException or NotSupportedException)
        {
            RemoteHttp.Forget(response);
            throw new RemoteBackendException($"{where}: data[0].b64_json is not an image ({RemoteHttp.Excerpt(e.Message)})", e);
        }
    }

    async Task<HttpResponseMessage> Send(string path, HttpContent content, string where, CancellationToken cancellationToken)
    {
        try { return await http.PostAsync(path, content, cancellationToken); }
        catch (RemoteBackendException e) { throw new RemoteBackendException($"image server {Endpoint.Describe()}: {e.Message}", e); }
    }

    public void Dispose() => http.Dispose();
}

/// <summary>
/// The Diffuser as an image server: <c>POST {endpoint}/images/generations</c> with the target's prompt text (RL-RIG's
/// "attrs label relation attrs label; ..." form unless <paramref name="promptText"/> says otherwise), one image per
/// request, decoded from <c>b64_json</c>.
/// </summary>
public sealed class HttpImageGenerator(ImageApiClient client, Func<SceneGraph, string>? promptText = null) : IDiffuser
{
    public ImageApiClient Client => client;

    public async Task<IReadOnlyList<GeneratedImage>> GenerateAsync(IReadOnlyList<GenerationRequest> requests, CancellationToken cancellationToken = default)
    {
        var images = await Task.WhenAll(requests.Select(r => client.PostAsync("images/generations", Body(r), cancellationToken)));
        return images.Select(i => new GeneratedImage(i, client.Options.NfePerImage)).ToList();
    }

    /// <summary>The request body, exactly as sent.</summary>
    public JsonBody Body(GenerationRequest request)
    {
        var body = new JsonObject { ["model"] = client.Endpoint.Model, ["prompt"] = (promptText ?? (g => g.ToPromptText()))(request.Target), ["n"] = 1 };
        if (client.Options.Size is { } size) body["size"] = size;
        if (client.Options.ResponseFormat is { } format) body["response_format"] = format;
        if (client.Options.SendSeed) body["seed"] = request.Seed;
        return new JsonBody(body);
    }
}

/// <summary>A JSON request body (UTF-8, <c>application/json</c>) that keeps its node, so tests read what was sent.</summary>
public sealed class JsonBody : ByteArrayContent
{
    public JsonBody(JsonObject json) : base(Encoding.UTF8.GetBytes(json.ToJsonString()))
    {
        Json = json;
        Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
    }

    public JsonObject Json { get; }
}

/// <summary>
/// The Inverse Diffuser as an image server: <c>POST {endpoint}/images/edits</c>, multipart with the image (PNG), the
/// instruction as the prompt and, when the instruction changes one object in place (recolour, resize, remove), a mask
/// (PNG, transparent where the model may paint: the object's box from the Checker's reading, doubled for a resize);
/// moves, additions and open instructions send no mask, so the whole image may change. The edited image is brought back
/// to the input's size. A server error or an unusable
/// reply is an <see cref="EditOutcome"/> failure (the image unchanged), counted by the loop, never an exception.
/// </summary>
public sealed class HttpImageEditor(ImageApiClient client) : IInverseDiffuser
{
    public ImageApiClient Client => client;

    public async Task<IReadOnlyList<EditOutcome>> EditAsync(IReadOnlyList<EditRequest> requests, CancellationToken cancellationToken = default) =>
        await Task.WhenAll(requests.Select(r => EditOne(r, cancellationToken)));

    async Task<EditOutcome> EditOne(EditRequest request, CancellationToken cancellationToken)
    {
        if (request.Instruction is NoEdit or InvalidEdit) return new EditOutcome(request.Image.Clone(), 0, "no edit to make");
        try
        {
            var image = await client.PostAsync("images/edits", Body(request), cancellationToken);
            // An edit keeps the image's size (servers answer at their own sizes), so the loop's next Checker reads what it read before.
            if (image.Size != request.Image.Size) image.Mutate(x => x.Resize(request.Image.Width, request.Image.Height));
            return new EditOutcome(image, client.Options.NfePerImage);
        }
        catch (RemoteBackendException e) { return new EditOutcome(request.Image.Clone(), 0, e.Message); }
    }

    /// <summary>The multipart body, exactly as sent. Its boundary is fixed so that equal requests are equal bytes (the cache's key).</summary>
    public MultipartFormDataContent Body(EditRequest request)
    {
        var form = new MultipartFormDataContent("rlrig-form-boundary-7d1c5e");
        Part(form, new StringContent(client.Endpoint.Model), "model");
        Part(form, File(VlmClient.Png(request.Image)), "image", "image.png");
        if (Mask(request) is { } mask)
            using (mask)
            {
                using var stream = new MemoryStream();
                mask.SaveAsPng(stream);
                Part(form, File(stream.ToArray()), "mask", "mask.png");
            }
        Part(form, new StringContent(request.Instruction.ToText()), "prompt");
        Part(form, new StringContent("1"), "n");
        if (client.Options.Size is { } size) Part(form, new StringContent(size), "size");
        if (client.Options.ResponseFormat is { } format) Part(form, new StringContent(format), "response_format");
        if (client.Options.SendSeed) Part(form, new StringContent(request.Seed.ToString(CultureInfo.InvariantCulture)), "seed");
        return form;
    }

    // Quoted names, as browsers and curl send them (.NET leaves simple names bare, which some servers' parsers refuse).
    static void Part(MultipartFormDataContent form, HttpContent content, string name, string? fileName = null)
    {
        content.Headers.ContentDisposition = new ContentDispositionHeaderValue("form-data") { Name = $"\"{name}\"", FileName = fileName is null ? null : $"\"{fileName}\"" };
        form.Add(content);
    }

    static ByteArrayContent File(byte[] png)
    {
        var content = new ByteArrayContent(png);
        content.Headers.ContentType = new MediaTypeHeaderValue("image/png");
        return content;
    }

    /// <summary>The mask for an in-place edit (opaque everywhere but the region, which is transparent), or null for none.</summary>
    public static Image<Rgba32>? Mask(EditRequest request)
    {
        var (target, grow) = request.Instruction switch
        {
            RecolourEdit e => (e.Object, 1.0),
            RemoveEdit e => (e.Object, 1.0),
            ResizeEdit e => (e.Object, 2.0),
            _ => (null, 0.0),
        };
        if (target is null) return null;
        // Shapes-world references name size and colour by position; an item read with fewer words cannot be the one meant.
        var candidates = request.Reflection.Detected.Items.Where(i => i.Box is not null && i.Attributes.Count >= 2 && target.Matches(i)).ToList();
        if (candidates.Count == 0) return null;
        var (w, h) = (request.Image.Width, request.Image.Height);
        var item = target.At is { } at
            ? candidates.MinBy(i => Math.Pow(i.Box!.X + i.Box.Width / 2 - at.X * w, 2) + Math.Pow(i.Box.Y + i.Box.Height / 2 - at.Y * h, 2))!
            : candidates[0];
        var box = item.Box!;
        var (cx, cy, bw, bh) = (box.X + box.Width / 2, box.Y + box.Height / 2, box.Width * grow + 2, box.Height * grow + 2);
        var (x0, y0) = ((int)Math.Max(0, Math.Floor(cx - bw / 2)), (int)Math.Max(0, Math.Floor(cy - bh / 2)));
        var (x1, y1) = ((int)Math.Min(w, Math.Ceiling(cx + bw / 2)), (int)Math.Min(h, Math.Ceiling(cy + bh / 2)));
        var mask = new Image<Rgba32>(w, h, new Rgba32(255, 255, 255, 255));
        mask.ProcessPixelRows(rows =>
        {
            for (var y = y0; y < y1; y++)
            {
                var row = rows.GetRowSpan(y);
                for (var x = x0; x < x1; x++) row[x] = new Rgba32(0, 0, 0, 0);
            }
        });
        return mask;
    }
}
