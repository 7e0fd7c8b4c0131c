using RlRig.Notebook.Charts;
using RlRig.Notebook.Formatting;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace RlRig.Tests.Notebook;

public sealed class FormatterTests
{
    [Theory]
    [InlineData(32, 16, 8)]      // short side 16 -> 128
    [InlineData(32, 32, 4)]      // a shapes-world image
    [InlineData(692, 32, 4)]     // a grid or trajectory strip of 32-px images: its height decides
    [InlineData(32, 692, 4)]
    [InlineData(290, 32, 4)]
    [InlineData(2000, 32, 2)]    // as much as the long side allows
    [InlineData(5000, 20, 1)]
    [InlineData(100, 100, 2)]
    [InlineData(128, 500, 1)]    // large enough already
    [InlineData(2, 1, 128)]
    public void Small_images_are_enlarged_with_sharp_pixels(int width, int height, int factor)
    {
        Assert.Equal(factor, ImageFormatter.DisplayFactor(width, height));
        using var image = new Image<Rgb24>(width, height);
        image[0, 0] = new Rgb24(255, 0, 0);
        image[width - 1, height - 1] = new Rgb24(0, 0, 255);
        using var shown = Image.Load<Rgb24>(ImageFormatter.DisplayPng(image));
        Assert.Equal((width * factor, height * factor), (shown.Width, shown.Height));
        // Nearest neighbour: each pixel becomes a factor x factor block of the same colour, no blending at its edge.
        Assert.Equal(new Rgb24(255, 0, 0), shown[factor - 1, factor - 1]);
        Assert.Equal(new Rgb24(0, 0, 255), shown[shown.Width - factor, shown.Height - factor]);
        if (width > 2) Assert.Equal(new Rgb24(0, 0, 0), shown[factor, 0]);
        Assert.Equal((width, height), (image.Width, image.Height)); // the data keeps its size
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
