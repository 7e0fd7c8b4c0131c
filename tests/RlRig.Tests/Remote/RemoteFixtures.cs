using RlRig.Remote;
using RlRig.Remote.Loopback;
using RlRig.SceneGraphs;
using RlRig.Tests.Support;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace RlRig.Tests.Remote;

/// <summary>A loopback server, a cache folder, and backend clients pointed at them with tiny retry delays and a secret key.</summary>
sealed class RemoteRig : IDisposable
{
    public const string Key = "sk-test-DO-NOT-LEAK-4f9a1c";
    public LoopbackServer Server { get; } = new();
    public TempDir Cache { get; } = new();

    // 2 s per attempt: under a loaded test run a loopback reply took more than 0.8 s, was retried, and a test counting
    // requests saw one too many. The fault tests that want a timeout inject 3 s delays or set their own limit.
    public HttpBackendOptions Http => new()
    {
        AttemptTimeout = TimeSpan.FromSeconds(2), MaxRetries = 3, RetryDelay = TimeSpan.FromMilliseconds(5), MaxRetryDelay = TimeSpan.FromMilliseconds(20),
        MaxConcurrency = 4, CacheFolder = Cache.Path, InputPricePerMillion = 2.5, OutputPricePerMillion = 10,
    };

    public ModelEndpoint Endpoint(string model = "test-vlm") => new(Server.BaseUrl, model, new ApiKey(Key));

    public VlmClient Vlm(VlmOptions? options = null, HttpBackendOptions? http = null) => new(Endpoint(), options, http ?? Http);

    public ImageApiClient Images(ImageApiOptions? options = null, HttpBackendOptions? http = null) => new(Endpoint("test-image"), options, http ?? Http);

    public static SceneGraph Scene => new(
        [new SceneItem(0, "tower", ["stone", "tall"]), new SceneItem(1, "bridge", ["stone", "arched"]), new SceneItem(2, "river", ["calm"])],
        [new SceneRelation(0, "attached to", 1), new SceneRelation(1, "above", 2)]);

    public static Image<Rgb24> Picture(byte shade = 90) => new(16, 16, new Rgb24(shade, 120, 200));

    /// <summary>Every file under the cache, as text, to check what reached disk.</summary>
    public string CacheText() => string.Concat(Directory.EnumerateFiles(Cache.Path, "*", SearchOption.AllDirectories).Select(File.ReadAllText));

    public void Dispose()
    {
        Server.Dispose();
        Cache.Dispose();
    }
}
