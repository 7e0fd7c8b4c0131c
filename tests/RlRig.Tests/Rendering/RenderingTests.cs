using System.Xml.Linq;
using RlRig.Notebook.Rendering;
using RlRig.SceneGraphs;

namespace RlRig.Tests.Rendering;

public sealed class RenderingTests
{
    private const string Hostile = "<script>alert('x')</script> & \"q\"";

    private static readonly byte[] Png = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 1, 2, 3];

    private static SceneGraph HostileGraph() => new(
        [new SceneItem(0, Hostile, ["<b>", "a&b"]), new SceneItem(1, "mat", ["it's"]), new SceneItem(2, "lamp", [])],
        [new SceneRelation(0, "on <top> of", 1), new SceneRelation(1, "under'\"", 0), new SceneRelation(0, "near", 0)]);

    private static void AssertNoRawMarkup(string output)
    {
        Assert.DoesNotContain("<script", output);
        Assert.DoesNotContain("<b>", output);
        Assert.DoesNotContain("<top>", output);
        Assert.Contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;", output);
    }

    [Fact]
    public void Svg_escapes_every_text_and_is_well_formed_xml()
    {
        string svg = SceneGraphSvg.Render(HostileGraph(), title: "img <1> & 'x'");
        AssertNoRawMarkup(svg);
        Assert.Contains("img &lt;1&gt; &amp; &#39;x&#39;", svg);
        XDocument doc = XDocument.Parse(svg);
        XNamespace ns = "http://www.w3.org/2000/svg";
        // One arrow per relation (the self-relation included), each with the arrow-head marker.
        Assert.Equal(3, doc.Descendants(ns + "path").Count(p => p.Attribute("marker-end") is not null));
        Assert.Equal(3, doc.Descendants(ns + "rect").Count());
        Assert.Contains(doc.Descendants(ns + "text"), t => t.Value == "on <top> of");
        Assert.Contains(doc.Descendants(ns + "text"), t => t.Value == "it's");
    }

    [Fact]
    public void Control_characters_cannot_break_the_xml()
    {
        var g = new SceneGraph([new SceneItem(0, "a\u0001b\uD800", [])], []);
        XDocument.Parse(SceneGraphSvg.Render(g));
    }

    [Fact]
    public void Thirty_items_with_long_labels_do_not_overlap()
    {
        var random = new Random(2);
        SceneItem[] items = Enumerable.Range(0, 30)
            .Select(i => new SceneItem(i, new string('w', 1 + random.Next(30)), Enumerable.Repeat("attr", random.Next(6)).ToArray()))
            .ToArray();
        var graph = new SceneGraph(items, Enumerable.Range(0, 29).Select(i => new SceneRelation(i, "next to", i + 1)));
        GraphLayout layout = SceneGraphLayout.Circular(graph);
        for (int i = 0; i < layout.Nodes.Count; i++)
        {
            NodePlacement a = layout.Nodes[i];
            Assert.True(a.Left >= 0 && a.Top >= 0 && a.Left + a.Width <= layout.Width && a.Top + a.Height <= layout.Height);
            for (int j = i + 1; j < layout.Nodes.Count; j++) Assert.False(a.Overlaps(layout.Nodes[j]), $"nodes {i} and {j} overlap");
        }
        XDocument.Parse(SceneGraphSvg.Render(graph));
    }

    [Fact]
    public void Relations_do_not_run_under_other_items()
    {
        SceneItem[] items = Enumerable.Range(0, 30).Select(i => new SceneItem(i, "object" + i, i % 3 == 0 ? ["red", "big"] : [])).ToArray();
        // Every item to the items 1, 2, 3 and 7 places further round the ring: the short chords are the hard case.
        SceneRelation[] relations = Enumerable.Range(0, 30)
            .SelectMany(i => new[] { 1, 2, 3, 7 }.Select(k => new SceneRelation(i, "near", (i + k) % 30)))
            .ToArray();
        var graph = new SceneGraph(items, relations);
        GraphLayout layout = SceneGraphLayout.Circular(graph);
        IReadOnlyList<EdgeCurve?> curves = SceneGraphLayout.Edges(layout, graph);
        Assert.Equal(relations.Length, curves.Count);
        foreach (EdgeCurve? curve in curves)
        {
            Assert.NotNull(curve);
            for (double t = 0; t <= 1.0001; t += 0.02)
            {
                var (x, y) = curve.At(t);
                foreach (NodePlacement node in layout.Nodes)
                {
                    if (node.Item.Id == curve.Relation.SubjectId || node.Item.Id == curve.Relation.ObjectId) continue;
                    bool inside = x > node.Left && x < node.Left + node.Width && y > node.Top && y < node.Top + node.Height;
                    Assert.False(inside, $"{curve.Relation} passes under item {node.Item.Id} at t = {t:F2}");
                }
            }
        }
    }

    [Fact]
    public void Each_drawing_has_its_own_marker_id()
    {
        string a = SceneGraphSvg.Render(HostileGraph()), b = SceneGraphSvg.Render(HostileGraph());
        string Id(string svg) => XDocument.Parse(svg).Descendants().First(e => e.Name.LocalName == "marker").Attribute("id")!.Value;
        Assert.NotEqual(Id(a), Id(b));
    }

    [Fact]
    public void Triples_table_escapes_and_lists_relations_then_isolated_items()
    {
        string html = SceneGraphHtml.TriplesTable(HostileGraph(), caption: "<img_id>");
        AssertNoRawMarkup(html);
        Assert.Contains("&lt;img_id&gt;", html);
        XElement table = XElement.Parse(html);
        // 3 relations + the isolated lamp.
        Assert.Equal(4, table.Descendants("tbody").Single().Elements("tr").Count());
        Assert.Equal("lamp", table.Descendants("tr").Last().Elements("td").ElementAt(1).Value);
    }

    [Fact]
    public void Box_overlay_stacks_an_svg_on_the_png()
    {
        string html = BoxOverlay.Render(Png, 64, 48,
            [new LabelledBox(new Box(1, 2, 30, 20), Hostile), new LabelledBox(new Box(10, 20, 5, 5), "dog")], caption: "id <7>");
        AssertNoRawMarkup(html);
        Assert.Contains("<img src=\"data:image/png;base64," + Convert.ToBase64String(Png) + "\"", html);
        Assert.Contains("&lt;7&gt;", html);
        int start = html.IndexOf("<svg", StringComparison.Ordinal), end = html.IndexOf("</svg>", StringComparison.Ordinal) + 6;
        XDocument svg = XDocument.Parse(html[start..end]);
        Assert.Equal(2, svg.Descendants().Count(e => e.Name.LocalName == "rect"));
        Assert.Contains("viewBox=\"0 0 64 48\"", html);
    }

    [Fact]
    public void Box_overlay_from_items_labels_them_with_their_text_and_skips_items_without_boxes()
    {
        string html = BoxOverlay.Render(Png, 10, 10,
            [new SceneItem(0, "cat", ["black"], new Box(0, 0, 5, 5)), new SceneItem(1, "dog", [])]);
        Assert.Contains(">black cat</text>", html);
        Assert.DoesNotContain("dog", html);
    }

    [Fact]
    public void Box_overlay_refuses_bytes_that_are_not_png()
    {
        Assert.Throws<ArgumentException>(() => BoxOverlay.Render([0xFF, 0xD8, 0xFF], 10, 10, Array.Empty<LabelledBox>()));
        Assert.Throws<ArgumentOutOfRangeException>(() => BoxOverlay.Render(Png, 0, 10, Array.Empty<LabelledBox>()));
    }
}
