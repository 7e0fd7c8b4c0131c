using RlRig.Loop.Evaluation;
using RlRig.SceneGraphs;

namespace RlRig.Remote;

/// <summary>Where the HTTP backends are served: the VLM (Checker and Actor), the judge (may be another server and model), the image server.</summary>
public sealed record RemoteEndpoints(ModelEndpoint Vlm, ModelEndpoint Judge, ModelEndpoint Image)
{
    /// <summary>
    /// From the environment (<see cref="RemoteSettings"/>), flags overriding variables; the judge falls back to the VLM.
    /// <paramref name="needImages"/> false leaves the image server unconfigured (the images come from elsewhere and no
    /// edit is made): it is then the VLM's address, never called.
    /// </summary>
    /// <exception cref="RemoteSettingsException">A missing or malformed setting, naming the variable.</exception>
    public static RemoteEndpoints FromEnvironment(Func<string, string?>? environment = null, string? vlmUrl = null, string? vlmModel = null, string? judgeUrl = null,
        string? judgeModel = null, string? imageUrl = null, string? imageModel = null, bool needImages = true)
    {
        var vlm = RemoteSettings.Endpoint(RemoteSettings.VlmPrefix, environment, vlmUrl, vlmModel);
        var judge = RemoteSettings.Endpoint(RemoteSettings.JudgePrefix, environment, judgeUrl, judgeModel, fallback: vlm);
        var image = needImages || imageUrl is not null || RemoteSettings.IsConfigured(RemoteSettings.ImagePrefix, environment)
            ? RemoteSettings.Endpoint(RemoteSettings.ImagePrefix, environment, imageUrl, imageModel)
            : vlm;
        return new RemoteEndpoints(vlm, judge, image);
    }

    /// <summary>All three at one server (the loopback server, or one that serves chat and images), with one key.</summary>
    public static RemoteEndpoints At(Uri baseUrl, string vlmModel, string judgeModel, string imageModel, ApiKey? key = null) =>
        new(new ModelEndpoint(baseUrl, vlmModel, key), new ModelEndpoint(baseUrl, judgeModel, key), new ModelEndpoint(baseUrl, imageModel, key));
}

/// <summary>
/// Every HTTP backend of one configuration, built once: the VLM Checker and Actor, the two judges (their own client,
/// with the LAION-SG judge's fixed sampling), and the image generator and editor. Dispose to close the connections.
/// </summary>
public sealed class RemoteBackends : IDisposable
{
    public RemoteBackends(RemoteEndpoints endpoints, HttpBackendOptions? http = null, VlmOptions? vlm = null, VlmOptions? judge = null, ImageApiOptions? images = null,
        ActorLanguage language = ActorLanguage.Open, Func<SceneGraph, string>? promptText = null)
    {
        http ??= new HttpBackendOptions();
        Endpoints = endpoints;
        Vlm = new VlmClient(endpoints.Vlm, vlm, http);
        JudgeVlm = new VlmClient(endpoints.Judge, judge ?? VlmOptions.LaionSgJudge with { PromptFolder = vlm?.PromptFolder }, http);
        Images = new ImageApiClient(endpoints.Image, images, http);
        Checker = new VlmChecker(Vlm);
        Actor = new VlmActor(Vlm, language);
        SceneGraphJudge = new SceneGraphJudge(JudgeVlm);
        SpatialJudge = new SpatialJudge(JudgeVlm);
        Generator = new HttpImageGenerator(Images, promptText);
        Editor = new HttpImageEditor(Images);
    }

    public RemoteEndpoints Endpoints { get; }
    public VlmClient Vlm { get; }
    public VlmClient JudgeVlm { get; }
    public ImageApiClient Images { get; }
    public VlmChecker Checker { get; }
    public VlmActor Actor { get; }
    public SceneGraphJudge SceneGraphJudge { get; }
    public SpatialJudge SpatialJudge { get; }
    public HttpImageGenerator Generator { get; }
    public HttpImageEditor Editor { get; }

    /// <summary>The loop's four components.</summary>
    public SystemComponents Components => new(Generator, Checker, Actor, Editor);

    /// <summary>Everything spent so far, all servers together.</summary>
    public Usage Usage => Vlm.Usage.Total.Plus(JudgeVlm.Usage.Total).Plus(Images.Usage.Total);

    /// <summary>The LAION-SG evaluation with these backends.</summary>
    public LaionSgEvaluation Evaluation(LaionSgEvaluationOptions? options = null) => new(Components, SceneGraphJudge, SpatialJudge, options);

    public void Dispose()
    {
        Vlm.Dispose();
        JudgeVlm.Dispose();
        Images.Dispose();
    }
}
