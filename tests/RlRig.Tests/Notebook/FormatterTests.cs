using RlRig.Notebook.Charts;
using RlRig.Notebook.Formatting;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace RlRig.Tests.Notebook;

public sealed class FormatterTests
{
    [Fact]
    public void Small_images_are_enlarged_with_sharp_pixels()
    {
        using var image = new Image<Rgb24>(32, 16);
        image[3, 2] = new Rgb24(255, 0, 0);
        using var shown = Image.Load<Rgb24>(ImageFormatter.DisplayPng(image));
        Assert.Equal((128, 64), (shown.Width, shown.Height));
        Assert.Equal(new Rgb24(255, 0, 0), shown[3 * 4 + 3, 2 * 4]);
        Assert.Equal(new Rgb24(0, 0, 0), shown[4 * 4, 2 * 4]);
    }

    [Fact]
    public void Chart_text_cannot_break_out_of_the_script_element()
    {
        var figure = Chart.Line([Series.Of("</script><script>alert('x')</script>", [1, 2, double.NaN])], title: "<img src=x onerror=alert(1)>");
        var html = figure.ToHtml();
        Assert.DoesNotContain("</script><script>", html);
        Assert.DoesNotContain("<img src=x", html);
        Assert.Equal(2, html.Split("</script>").Length); // only the element's own closing tag
        Assert.Contains("null", html); // NaN is a gap, not invalid JSON
    }

    [Fact]
    public void Bar_chart_checks_its_shape()
    {
        var error = Assert.Throws<ArgumentException>(() => Chart.Bar(["a", "b"], new Dictionary<string, IReadOnlyList<double>> { ["iou"] = [1.0] }));
        Assert.Contains("\"iou\" has 1 values for 2 categories", error.Message);
    }

    [Fact]
    public void Figures_from_plotly_net_json_are_checked()
    {
        Assert.Equal(1, PlotlyFigure.FromJson("""{"data":[{"type":"bar","y":[1]}],"layout":{}}""").TraceCount);
        Assert.Throws<ArgumentException>(() => PlotlyFigure.FromJson("""{"layout":{}}"""));
        Assert.Throws<ArgumentException>(() => PlotlyFigure.FromJson("{"));
    }
}
