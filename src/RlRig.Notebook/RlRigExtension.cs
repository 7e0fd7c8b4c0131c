using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.Formatting;
using RlRig.LaionSg;
using RlRig.Loop;
using RlRig.Notebook.Charts;
using RlRig.Notebook.Formatting;
using RlRig.Notebook.Rendering;
using RlRig.SceneGraphs;
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
        // Scene graphs read best drawn and as a table; the plain-text fallback is the prompt a model would be given.
        Formatter.Register<SceneGraph>((graph, writer) => writer.Write(SceneGraphFormatter.ToHtml(graph)), HtmlFormatter.MimeType);
        Formatter.Register<SceneGraph>((graph, writer) => writer.Write(SceneGraphFormatter.ToPlainText(graph)), PlainTextFormatter.MimeType);
        Formatter.SetPreferredMimeTypesFor(typeof(SceneGraph), HtmlFormatter.MimeType, PlainTextFormatter.MimeType);
        Formatter.Register<LaionSgRecord>((record, writer) => writer.Write(SceneGraphFormatter.ToHtml(record)), HtmlFormatter.MimeType);
        Formatter.Register<LaionSgRecord>((record, writer) => writer.Write(SceneGraphFormatter.ToPlainText(record)), PlainTextFormatter.MimeType);
        Formatter.SetPreferredMimeTypesFor(typeof(LaionSgRecord), HtmlFormatter.MimeType, PlainTextFormatter.MimeType);
        // Labels need the HTML overlay; the PNG (outlines only) is for front ends that drop or sanitise HTML.
        Formatter.Register<AnnotatedImage>((value, writer) => writer.Write(AnnotatedImageFormatter.ToHtml(value)), HtmlFormatter.MimeType);
        Formatter.Register<AnnotatedImage>((value, writer) => writer.Write(AnnotatedImageFormatter.ToBase64Png(value)), "image/png");
        Formatter.Register<AnnotatedImage>((value, writer) => writer.Write(AnnotatedImageFormatter.ToPlainText(value)), PlainTextFormatter.MimeType);
        Formatter.SetPreferredMimeTypesFor(typeof(AnnotatedImage), HtmlFormatter.MimeType, "image/png", PlainTextFormatter.MimeType);
        // A trace reads as the strip of its rounds; a reflection as its sentences.
        Formatter.Register<LoopTrace>((trace, writer) => writer.Write(TraceHtml.Fragment(trace)), HtmlFormatter.MimeType);
        Formatter.Register<LoopTrace>((trace, writer) => writer.Write(TraceHtml.PlainText(trace)), PlainTextFormatter.MimeType);
        Formatter.SetPreferredMimeTypesFor(typeof(LoopTrace), HtmlFormatter.MimeType, PlainTextFormatter.MimeType);
        Formatter.Register<Reflection>((reflection, writer) => writer.Write(
            $"{reflection.Text} (score {reflection.Score.ToString("0.00", System.Globalization.CultureInfo.InvariantCulture)})"), PlainTextFormatter.MimeType);
        Formatter.SetPreferredMimeTypesFor(typeof(Reflection), PlainTextFormatter.MimeType);
        Formatter.Register<EditInstruction>((instruction, writer) => writer.Write(instruction.ToText()), PlainTextFormatter.MimeType);
        Formatter.SetPreferredMimeTypesFor(typeof(EditInstruction), PlainTextFormatter.MimeType);
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
