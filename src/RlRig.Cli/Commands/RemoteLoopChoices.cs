using RlRig.Loop;
using RlRig.Remote;

namespace RlRig.Cli.Commands;

/// <summary>
/// The loop's HTTP choices in <c>rlrig loop</c> and <c>rlrig eval system</c>: <c>--actor vlm</c> (a VLM behind
/// <c>RLRIG_VLM_*</c> writing the shapes world's edit language) and <c>--editor http</c> (an images-API server behind
/// <c>RLRIG_IMAGE_*</c>). Kept apart from <see cref="LoopSetup"/>'s own models so that each side changes alone.
/// Their clients live as long as the command's process.
/// </summary>
static class RemoteLoopChoices
{
    public const string VlmActor = "vlm", HttpEditor = "http";

    static HttpBackendOptions Http => new() { CacheFolder = RemoteSettings.CacheFolder() };

    /// <summary>The VLM Actor, or null when <paramref name="choice"/> is not <see cref="VlmActor"/>.</summary>
    /// <exception cref="RemoteSettingsException">A missing or malformed RLRIG_VLM_* setting.</exception>
    public static IActor? Actor(string choice) => choice == VlmActor
        ? new Remote.VlmActor(new VlmClient(RemoteSettings.Endpoint(RemoteSettings.VlmPrefix), null, Http), ActorLanguage.Shapes)
        : null;

    /// <summary>The images-API editor, or null when <paramref name="choice"/> is not <see cref="HttpEditor"/>.</summary>
    /// <exception cref="RemoteSettingsException">A missing or malformed RLRIG_IMAGE_* setting.</exception>
    public static IInverseDiffuser? Editor(string choice) => choice == HttpEditor
        ? new HttpImageEditor(new ImageApiClient(RemoteSettings.Endpoint(RemoteSettings.ImagePrefix), new ImageApiOptions { Size = null }, Http))
        : null;

    /// <summary>Which servers and models the choices use, for run.json (never a key); checks the settings before any work.</summary>
    /// <exception cref="RemoteSettingsException">A missing or malformed setting.</exception>
    public static IEnumerable<KeyValuePair<string, string>> Describe(string actor, string editor)
    {
        if (actor == VlmActor) yield return new("actor_endpoint", RemoteSettings.Endpoint(RemoteSettings.VlmPrefix).Describe());
        if (editor == HttpEditor) yield return new("editor_endpoint", RemoteSettings.Endpoint(RemoteSettings.ImagePrefix).Describe());
    }
}
