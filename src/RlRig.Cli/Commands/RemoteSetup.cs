using System.CommandLine;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using RlRig.Remote;

namespace RlRig.Cli.Commands;

/// <summary>
/// The options of commands that use models behind HTTP, and the backends they build. Endpoints and models come from the
/// environment (<see cref="RemoteSettings"/>); these flags override them. Keys are read from the environment only, so
/// they never appear in a command line, a process list or run.json.
/// </summary>
sealed class RemoteSetup
{
    public Option<string?> VlmEndpoint { get; } = new("--vlm-endpoint") { Description = "VLM base URL (Checker, Actor, judge); overrides RLRIG_VLM_ENDPOINT." };
    public Option<string?> VlmModel { get; } = new("--vlm-model") { Description = "VLM model name; overrides RLRIG_VLM_MODEL." };
    public Option<string?> JudgeEndpoint { get; } = new("--judge-endpoint") { Description = "Judge base URL; overrides RLRIG_JUDGE_ENDPOINT (default: the VLM's)." };
    public Option<string?> JudgeModel { get; } = new("--judge-model") { Description = "Judge model name; overrides RLRIG_JUDGE_MODEL (default: the VLM's)." };
    public Option<string?> ImageEndpoint { get; } = new("--image-endpoint") { Description = "Image server base URL (generation, editing); overrides RLRIG_IMAGE_ENDPOINT." };
    public Option<string?> ImageModel { get; } = new("--image-model") { Description = "Image model name; overrides RLRIG_IMAGE_MODEL." };
    public Option<string> ImageSize { get; } = new Option<string>("--image-size") { Description = "The images API's size field (WIDTHxHEIGHT, auto, or none to leave it out).", DefaultValueFactory = _ => "1024x1024" }
        .Check(s => s == "none" || System.Text.RegularExpressions.Regex.IsMatch(s, @"^(\d{1,5}x\d{1,5}|auto)$"), "WIDTHxHEIGHT, auto or none");
    public Option<string> ImageFormat { get; } = new Option<string>("--image-response-format") { Description = "The images API's response_format: b64_json, or none to leave it out (gpt-image-1).", DefaultValueFactory = _ => "b64_json" }
        .Check(s => s is "b64_json" or "none", "b64_json or none");
    public Option<int> ImageNfe { get; } = new Option<int>("--image-nfe") { Description = "Denoiser evaluations one image costs on the image server, for NFE accounting (0: unknown).", DefaultValueFactory = _ => 0 }.InRange(0, 100_000);
    public Option<string> ReplyFormat { get; } = new Option<string>("--reply-format") { Description = "How JSON is asked of the VLM: json_schema, json_object or prompt.", DefaultValueFactory = _ => "json_schema" }
        .Check(s => s is "json_schema" or "json_object" or "prompt", "json_schema, json_object or prompt");
    public Option<DirectoryInfo?> PromptDir { get; } = new("--prompt-dir") { Description = "Folder of edited prompt templates (checker.txt, actor.txt, judge-scene-graph.txt, judge-spatial.txt)." };
    public Option<double> Timeout { get; } = new Option<double>("--timeout") { Description = "Seconds one attempt may take.", DefaultValueFactory = _ => new HttpBackendOptions().AttemptTimeout.TotalSeconds }.Finite(0, 3600, minExclusive: true);
    public Option<int> Retries { get; } = new Option<int>("--retries") { Description = "Retries after a timeout, 408, 429 or 5xx (backoff honours Retry-After).", DefaultValueFactory = _ => new HttpBackendOptions().MaxRetries }.InRange(0, 20);
    public Option<int> Concurrency { get; } = new Option<int>("--concurrency") { Description = "Requests in flight at once per server.", DefaultValueFactory = _ => new HttpBackendOptions().MaxConcurrency }.InRange(1, 256);
    public Option<DirectoryInfo?> Cache { get; } = new("--cache") { Description = "Response cache folder; overrides RLRIG_CACHE (default: rlrig/http under the user's cache folder)." };
    public Option<bool> NoCache { get; } = new("--no-cache") { Description = "Ask the servers again for everything (nothing is read from or written to the cache)." };
    public Option<double> PriceIn { get; } = new Option<double>("--price-in") { Description = "Dollars per million input tokens, for the cost in the summary.", DefaultValueFactory = _ => 0 }.Finite(min: 0);
    public Option<double> PriceOut { get; } = new Option<double>("--price-out") { Description = "Dollars per million output tokens.", DefaultValueFactory = _ => 0 }.Finite(min: 0);

    public IEnumerable<Option> All => [VlmEndpoint, VlmModel, JudgeEndpoint, JudgeModel, ImageEndpoint, ImageModel, ImageSize, ImageFormat, ImageNfe, ReplyFormat, PromptDir,
        Timeout, Retries, Concurrency, Cache, NoCache, PriceIn, PriceOut];

    /// <summary>The endpoints, from the environment and the flags.</summary>
    /// <exception cref="RemoteSettingsException">A setting is missing or malformed (the message names the variable).</exception>
    public RemoteEndpoints Endpoints(ParseResult result, bool needImages) => RemoteEndpoints.FromEnvironment(null,
        result.GetValue(VlmEndpoint), result.GetValue(VlmModel), result.GetValue(JudgeEndpoint), result.GetValue(JudgeModel),
        result.GetValue(ImageEndpoint), result.GetValue(ImageModel), needImages);

    public HttpBackendOptions Http(ParseResult result) => new HttpBackendOptions
    {
        AttemptTimeout = TimeSpan.FromSeconds(result.GetValue(Timeout)),
        MaxRetries = result.GetValue(Retries),
        MaxConcurrency = result.GetValue(Concurrency),
        CacheFolder = result.GetValue(NoCache) ? null : result.GetValue(Cache)?.FullName ?? RemoteSettings.CacheFolder(),
        InputPricePerMillion = result.GetValue(PriceIn),
        OutputPricePerMillion = result.GetValue(PriceOut),
    }.Validate();

    public VlmOptions Vlm(ParseResult result) => new VlmOptions
    {
        ReplyFormat = result.GetValue(ReplyFormat) switch { "json_object" => JsonReplyFormat.JsonObject, "prompt" => JsonReplyFormat.PromptOnly, _ => JsonReplyFormat.JsonSchema },
        PromptFolder = result.GetValue(PromptDir)?.FullName,
    }.Validate();

    public ImageApiOptions Images(ParseResult result) => new ImageApiOptions
    {
        Size = result.GetValue(ImageSize) is "none" ? null : result.GetValue(ImageSize),
        ResponseFormat = result.GetValue(ImageFormat) is "none" ? null : "b64_json",
        NfePerImage = result.GetValue(ImageNfe),
    }.Validate();

    /// <summary>The settings that decide results, for run.json: servers and models (never keys), formats, and the prompt templates' hash.</summary>
    public Dictionary<string, string> Describe(ParseResult result, RemoteEndpoints endpoints, bool images)
    {
        var folder = result.GetValue(PromptDir)?.FullName ?? PromptTemplate.DefaultFolder;
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var name in new[] { PromptTemplate.Checker, PromptTemplate.Actor, PromptTemplate.SceneGraphJudge, PromptTemplate.SpatialJudge })
        {
            var path = Path.Combine(folder, name + ".txt");
            if (CommandFiles.ProblemWithInput(path, $"prompt template {name}.txt") is { } problem) throw new CommandLineException(problem);
            hash.AppendData(Encoding.UTF8.GetBytes(name + "\n" + File.ReadAllText(path) + "\n"));
        }
        var described = new Dictionary<string, string>
        {
            ["vlm"] = endpoints.Vlm.Describe(), ["judge"] = endpoints.Judge.Describe(),
            ["reply_format"] = result.GetValue(ReplyFormat)!, ["prompts_sha256"] = Convert.ToHexStringLower(hash.GetHashAndReset()),
        };
        if (images)
        {
            described["image"] = endpoints.Image.Describe();
            described["image_size"] = result.GetValue(ImageSize)!;
            described["image_response_format"] = result.GetValue(ImageFormat)!;
            described["image_nfe"] = result.GetValue(ImageNfe).ToString(CultureInfo.InvariantCulture);
        }
        return described;
    }
}
