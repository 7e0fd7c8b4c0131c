using System.Text.RegularExpressions;
using Microsoft.DotNet.Interactive.Formatting;
using RlRig.LaionSg;
using RlRig.Notebook;
using RlRig.Notebook.Formatting;
using RlRig.Notebook.Rendering;
using RlRig.SceneGraphs;
using RlRig.Tests.Notebooks;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace RlRig.Tests.Notebook;

/// <summary>The views themselves, called directly: no process-wide formatter state is touched.</summary>
public sealed class SceneGraphFormatterTests
{
    internal const string Script = "<script>alert(1)</script>";

    internal static SceneGraph HostileGraph() => new(
        [new SceneItem(0, Script, ["red"]), new SceneItem(1, "mat", []), new SceneItem(2, "lamp", ["tall"])],
        [new SceneRelation(0, "on", 1)]);

    internal static LaionSgRecord Record(string caption) => new(
        "img-1", "img-1.jpg", caption, "6.5", "https://example.invalid/1.jpg",
        [new LaionSgItem(0, "cat", ["black"]), new LaionSgItem(1, "mat", [])],
        [new LaionSgRelation(0, 0, "on", 1)]);

    [Fact]
    public void A_graph_shows_the_drawing_and_the_table_with_its_text_escaped()
    {
        string html = SceneGraphFormatter.ToHtml(HostileGraph(), title: "title " + Script);
        Assert.DoesNotContain("<script", html);
        Assert.Contains("&lt;script&gt;alert(1)&lt;/script&gt;", html);
        Assert.Single(Regex.Matches(html, "<svg "));
        Assert.Contains("class=\"rlrig-triples\"", html);
        // One table row per relation and one for the isolated lamp.
        Assert.Equal(2, Regex.Matches(html, "<tr><td").Count);
        Assert.Equal("red " + Script + " on mat; tall lamp", SceneGraphFormatter.ToPlainText(HostileGraph()));
        Assert.Equal("(empty scene graph)", SceneGraphFormatter.ToPlainText(SceneGraph.Empty));
    }

    [Fact]
    public void A_record_shows_its_img_id_caption_and_graph()
    {
        LaionSgRecord record = Record("a cat " + Script);
        string html = SceneGraphFormatter.ToHtml(record);
        Assert.Contains("<b>img_id img-1</b>", html);
        Assert.Contains("<q>a cat &lt;script&gt;alert(1)&lt;/script&gt;</q>", html);
        Assert.DoesNotContain("<script", html);
        Assert.Contains("<svg ", html);
        Assert.Equal("img_id img-1: a cat " + Script + "\nblack cat on mat", SceneGraphFormatter.ToPlainText(record));
    }

    [Fact]
    public void An_invalid_record_says_what_is_wrong_instead_of_throwing()
    {
        LaionSgRecord record = Record("c") with { Relations = [new LaionSgRelation(0, 0, "on", 7)] };
        string html = SceneGraphFormatter.ToHtml(record);
        Assert.Contains("Not a valid record: relations[0].item2 refers to item_id 7, which is not in items", html);
        Assert.DoesNotContain("<svg", html);
        Assert.EndsWith("not a valid record: relations[0].item2 refers to item_id 7, which is not in items", SceneGraphFormatter.ToPlainText(record));
    }

    internal static AnnotatedImage SmallAnnotated()
    {
        // 32x32 (a shapes-world image) is enlarged 4x for display, like any small image.
        var image = new Image<Rgb24>(32, 32, new Rgb24(255, 255, 255));
        return AnnotatedImage.FromBoxes(image, [("red " + Script, new Box(2, 3, 10, 8)), ("blue square", new Box(20, 4, 6, 6))], caption: "two <boxes>");
    }

    [Fact]
    public void An_annotated_image_overlays_boxes_scaled_with_the_image_and_escapes_labels()
    {
        AnnotatedImage value = SmallAnnotated();
        string html = AnnotatedImageFormatter.ToHtml(value);
        Assert.Contains("width=\"128\" height=\"128\"", html);
        Assert.Contains("<rect x=\"8\" y=\"12\" width=\"40\" height=\"32\"", html);
        Assert.Contains("<rect x=\"80\" y=\"16\" width=\"24\" height=\"24\"", html);
        Assert.DoesNotContain("<script", html);
        Assert.Contains("red &lt;script&gt;alert(1)&lt;/script&gt;", html);
        Assert.Contains("<figcaption>two &lt;boxes&gt;</figcaption>", html);
        Assert.Equal(
            "two <boxes>\n32x32 image, 2 items\n  red " + Script + ": x 2, y 3, 10x8\n  blue square: x 20, y 4, 6x6",
            AnnotatedImageFormatter.ToPlainText(value).Replace("\r", ""));
    }

    [Fact]
    public void The_png_fallback_has_the_outlines_in_its_pixels()
    {
        AnnotatedImage value = SmallAnnotated();
        using var png = Image.Load<Rgb24>(Convert.FromBase64String(AnnotatedImageFormatter.ToBase64Png(value)));
        Assert.Equal((128, 128), (png.Width, png.Height));
        var white = new Rgb24(255, 255, 255);
        var first = Color.ParseHex(BoxOverlay.Palette[0]).ToPixel<Rgb24>();
        var second = Color.ParseHex(BoxOverlay.Palette[1]).ToPixel<Rgb24>();
        // The first box spans x 8..47, y 12..43 after 4x enlargement; 2-pixel outlines inside that.
        Assert.Equal(first, png[8, 20]);
        Assert.Equal(first, png[9, 20]);
        Assert.Equal(white, png[10, 20]);
        Assert.Equal(first, png[30, 43]);
        Assert.Equal(white, png[30, 30]);
        Assert.Equal(white, png[7, 20]);
        Assert.Equal(second, png[80, 30]);
        // The input is not drawn on.
        Assert.Equal(white, value.Image[2, 5]);
    }

    [Fact]
    public void Outlines_are_clipped_to_the_image()
    {
        using var image = new Image<Rgb24>(10, 10);
        using Image<Rgb24> drawn = BoxPixels.Draw(image, [new Box(-5, -5, 8, 30)], thickness: 1);
        var color = Color.ParseHex(BoxOverlay.Palette[0]).ToPixel<Rgb24>();
        Assert.Equal(color, drawn[2, 5]); // the right edge, x = 2
        Assert.Equal(new Rgb24(0, 0, 0), drawn[1, 5]);
        Assert.Equal(new Rgb24(0, 0, 0), drawn[3, 5]);
    }
}

/// <summary>The formatters as registered by the extension; registration is process-wide, hence the collection.</summary>
[Collection(KernelCollection.Name)]
public sealed class RegisteredFormatterTests
{
    public RegisteredFormatterTests() => RlRigExtension.Load();

    [Fact]
    public void Scene_graphs_and_records_display_as_html_with_a_plain_text_prompt()
    {
        Assert.Equal(["text/html", "text/plain"], Formatter.GetPreferredMimeTypesFor(typeof(SceneGraph)));
        Assert.Equal(["text/html", "text/plain"], Formatter.GetPreferredMimeTypesFor(typeof(LaionSgRecord)));
        SceneGraph graph = SceneGraphFormatterTests.HostileGraph();
        string html = graph.ToDisplayString("text/html");
        Assert.Contains("<svg ", html);
        Assert.Contains("rlrig-triples", html);
        Assert.DoesNotContain("<script", html);
        Assert.Equal(SceneGraphFormatter.ToPlainText(graph), graph.ToDisplayString("text/plain"));

        LaionSgRecord record = SceneGraphFormatterTests.Record(SceneGraphFormatterTests.Script);
        Assert.DoesNotContain("<script", record.ToDisplayString("text/html"));
        Assert.Contains("img_id img-1", record.ToDisplayString("text/html"));
        Assert.Equal(SceneGraphFormatter.ToPlainText(record), record.ToDisplayString("text/plain"));
    }

    [Fact]
    public void Annotated_images_display_as_an_overlay_a_png_and_text()
    {
        Assert.Equal(["text/html", "image/png", "text/plain"], Formatter.GetPreferredMimeTypesFor(typeof(AnnotatedImage)));
        AnnotatedImage value = SceneGraphFormatterTests.SmallAnnotated();
        string html = value.ToDisplayString("text/html");
        Assert.Contains("class=\"rlrig-boxes\"", html);
        Assert.DoesNotContain("<script", html);
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], Convert.FromBase64String(value.ToDisplayString("image/png"))[..4]);
        Assert.StartsWith("two <boxes>\n32x32 image", value.ToDisplayString("text/plain").Replace("\r", ""));
    }
}
