using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.Formatting;
using RlRig.Notebook.Charts;
using RlRig.Notebook.Formatting;
using RlRig.Torch;
using SixLabors.ImageSharp;

namespace RlRig.Notebook;

/// <summary>
/// The RlRig notebook extension. Hosts that load extensions from NuGet packages (<c>#r "nuget:RlRig.Notebook"</c>) call
/// <see cref="OnLoadAsync"/>; with <c>#r "path/RlRig.Notebook.dll"</c> a notebook calls <see cref="Load"/> itself.
/// Loading makes TorchSharp usable (see <see cref="TorchRuntime"/>) and registers the formatters, which are
/// process-wide: loading twice is harmless.
/// </summary>
public sealed class RlRigExtension : IKernelExtension
{
    /// <inheritdoc />
    public Task OnLoadAsync(Kernel kernel)
    {
        Load();
        return Task.CompletedTask;
    }

    /// <summary>Loads TorchSharp and registers RlRig's formatters; returns what was set up, for the notebook to show.</summary>
    public static ExtensionStatus Load()
    {
        var torch = TorchRuntime.EnsureLoaded();
        RegisterFormatters();
        return new ExtensionStatus(torch.TorchVersion, PlotlyNetSupport.TryRegister());
    }

    static void RegisterFormatters()
    {
        Formatter.Register<Image>((image, writer) => writer.Write(ImageFormatter.ToBase64Png(image)), "image/png");
        Formatter.SetPreferredMimeTypesFor(typeof(Image), "image/png");
        // A tensor reads best as numbers with its shape and type, the way PyTorch prints it, not as an object dump.
        Formatter.Register<TorchSharp.torch.Tensor>((tensor, writer) => writer.Write(tensor.ToString(TorchSharp.TensorStringStyle.Numpy)), PlainTextFormatter.MimeType);
        Formatter.SetPreferredMimeTypesFor(typeof(TorchSharp.torch.Tensor), PlainTextFormatter.MimeType);
        Formatter.Register<PlotlyFigure>((figure, writer) => writer.Write(figure.ToHtml()), HtmlFormatter.MimeType);
        Formatter.Register<PlotlyFigure>((figure, writer) => writer.Write(figure.ToString()), PlainTextFormatter.MimeType);
        Formatter.SetPreferredMimeTypesFor(typeof(PlotlyFigure), HtmlFormatter.MimeType, PlainTextFormatter.MimeType);
        Formatter.Register<ExtensionStatus>((status, writer) => writer.Write(status.ToString()), PlainTextFormatter.MimeType);
        Formatter.SetPreferredMimeTypesFor(typeof(ExtensionStatus), PlainTextFormatter.MimeType);
    }
}

/// <summary>What <see cref="RlRigExtension.Load"/> set up.</summary>
/// <param name="TorchVersion">The libtorch version now loaded.</param>
/// <param name="PlotlyNetUnavailable">Why Plotly.NET charts cannot render in this host, or null if they can.</param>
public sealed record ExtensionStatus(string TorchVersion, string? PlotlyNetUnavailable)
{
    /// <inheritdoc />
    public override string ToString() =>
        $"RlRig loaded: libtorch {TorchVersion}; " + (PlotlyNetUnavailable ?? "Plotly.NET charts render here too.");
}
