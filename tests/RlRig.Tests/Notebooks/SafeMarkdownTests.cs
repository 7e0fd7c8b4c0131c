using System.Net;
using System.Text.RegularExpressions;
using RlRig.Cli.Notebooks;

namespace RlRig.Tests.Notebooks;

public sealed class SafeMarkdownTests
{
    // Hostile markdown of every kind we know: generic attributes, script URL schemes in inline, reference, autolink and
    // image form, with case, entity, percent, whitespace and control-character obfuscation, raw HTML, media embeds.
    static readonly string[] Corpus =
    [
        "![x](missing.png){onerror=alert(1)}",
        "![x](missing.png){onerror=\"alert(1)\" src=javascript:alert(2)}",
        "# H {onfocus=alert(1) tabindex=1 autofocus}",
        "## H2 {#id .cls onmouseover=alert(1)}",
        "para {onclick=alert(1)}\n{onclick=alert(2)}",
        "[x](https://ok.example){onclick=alert(1)}",
        "::: {onclick=alert(1)}\ncontainer\n:::",
        "| a | b |\n|---|---|\n| 1 | 2 |\n{onclick=alert(1)}",
        "| a {style=background:url(javascript:alert(1))} |\n|:-:|\n| <b onclick=alert(1)>x</b> |",
        "*emph*{onmouseenter=alert(1)}",
        "```js {onclick=alert(1)}\ncode\n```",
        "[x](javascript:alert(1))",
        "[x](JavaScript:alert(1))",
        "[x](JAVASCRIPT:alert(1))",
        "[x]( javascript:alert(1) )",
        "[x](<java script:alert(1)>)",
        "[x](&#106;avascript:alert(1))",
        "[x](&#x6A;&#x61;&#x76;&#x61;script:alert(1))",
        "[x](javascript&colon;alert(1))",
        "[x](java&Tab;script:alert(1))",
        "[x](java&#9;script:alert(1))",
        "[x](java&#10;script:alert(1))",
        "[x](java&#13;script:alert(1))",
        "[x](&#0000106avascript:alert(1))",
        "[x](\u0001javascript:alert(1))",
        "[x](java\u00ADscript:alert(1))",
        "[x](vbscript:msgbox(1))",
        "[x](VBScript:msgbox(1))",
        "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
        "[x](DATA:text/html,<script>alert(1)</script>)",
        "[x](data:image/png;base64,iVBORw0KGgo=)",
        "![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
        "![x](data:text/html,<script>alert(1)</script>)",
        "![x](javascript:alert(1))",
        "![x](jav&#x09;ascript:alert(1))",
        "[x][ref]\n\n[ref]: javascript:alert(1)",
        "[x][ref]\n\n[ref]: <JaVaScRiPt:alert(1)> \"title\"",
        "![x][img]\n\n[img]: vbscript:alert(1)",
        "[ref]\n\n[ref]: data:text/html,x",
        "<javascript:alert(1)>",
        "<JAVASCRIPT:alert(1)>",
        "<vbscript:alert(1)>",
        "<data:text/html,x>",
        "<a href=\"javascript:alert(1)\">x</a>",
        "<img src=x onerror=alert(1)>",
        "<script>alert(1)</script>",
        "<div onclick=\"alert(1)\">block</div>",
        "<svg onload=alert(1)>",
        "<iframe src=\"javascript:alert(1)\"></iframe>",
        "![video](https://www.youtube.com/watch?v=dQw4w9WgXcQ)",
        "![video](https://vimeo.com/1234)",
        "[x](javascript:alert(1) \"title\" onclick=alert(2))",
        "[x](https://ok.example \"a\\\" onclick=\\\"alert(1)\")",
        "[x](https://ok.example\" onclick=\"alert(1))",
        "![a\" onerror=\"alert(1)](x.png)",
        "[x](file:///etc/passwd)",
        "[x](ftp\u0000:x)",
        "- [ ] task {onclick=alert(1)}",
        "Term\n: definition {onclick=alert(1)}",
        "$$\n</span><img src=x onerror=alert(1)>\n$$",
        "Footnote[^1]\n\n[^1]: [x](javascript:alert(1))",
        "*[HTML]: <img src=x onerror=alert(1)>\nHTML",
        "```mermaid\n<img src=x onerror=alert(1)>\n```",
        "^^^ {onclick=alert(1)}\n![fig](x.png)\n^^^ caption",
    ];

    public static TheoryData<string> Hostile => new(Corpus);

    [Theory]
    [MemberData(nameof(Hostile))]
    public void Hostile_markdown_renders_without_script(string markdown)
    {
        var html = SafeMarkdown.ToHtml(markdown);
        foreach (var problem in ScriptVectors(html)) Assert.Fail($"{problem}\nmarkdown: {markdown}\nhtml: {html}");
    }

    [Fact]
    public void The_exported_page_runs_no_script_from_markdown()
    {
        var cells = Corpus.Select(markdown => new NotebookCell("m", CellKind.Markdown, markdown, [], [])).ToList();
        var html = NotebookHtml.Render(new NotebookDocument("/x/hostile.ipynb", cells, []));
        var body = html[html.IndexOf("<body>", StringComparison.Ordinal)..];
        Assert.Empty(ScriptVectors(body));
    }

    [Theory]
    [InlineData("[x](https://example.org/a?b=c#d)", "href=\"https://example.org/a?b=c#d\"")]
    [InlineData("[x](HTTP://example.org)", "href=\"HTTP://example.org\"")]
    [InlineData("[x](other.ipynb)", "href=\"other.ipynb\"")]
    [InlineData("[x](../data/README.md#top)", "href=\"../data/README.md#top\"")]
    [InlineData("[x](#section)", "href=\"#section\"")]
    [InlineData("[x](mailto:someone@example.org)", "href=\"mailto:someone@example.org\"")]
    [InlineData("<https://example.org>", "href=\"https://example.org\"")]
    [InlineData("see https://example.org/x", "href=\"https://example.org/x\"")]
    [InlineData("![i](images/a.png)", "src=\"images/a.png\"")]
    [InlineData("![i](data:image/png;base64,iVBORw0KGgo=)", "src=\"data:image/png;base64,iVBORw0KGgo=\"")]
    [InlineData("# Heading", "id=\"heading\"")]
    [InlineData("| a | b |\n|:--|--:|\n| 1 | 2 |", "style=\"text-align: right;\"")]
    [InlineData("- [x] done", "checkbox")]
    public void Ordinary_links_images_and_headings_keep_working(string markdown, string expected) =>
        Assert.Contains(expected, SafeMarkdown.ToHtml(markdown));

    [Fact]
    public void A_refused_link_keeps_its_text()
    {
        var html = SafeMarkdown.ToHtml("Click [the docs](javascript:alert(1)) or ![a chart](vbscript:x).");
        Assert.Contains("the docs", html);
        Assert.Contains("a chart", html);
        Assert.DoesNotContain("<a ", html);
        Assert.DoesNotContain("<img", html);
    }

    [Fact]
    public void Images_that_outputs_embed_are_not_affected()
    {
        var output = new DataOutput(new Dictionary<string, string> { ["image/png"] = "iVBORw0KGgo=" }, null, null);
        var html = NotebookHtml.Render(new NotebookDocument("/x/n.ipynb", [new NotebookCell("c", CellKind.Code, "x", [], []) { Outputs = [output] }], []));
        Assert.Contains("src=\"data:image/png;base64,iVBORw0KGgo=\"", html);
    }

    // An independent reading of the HTML, as a browser would: every element, every attribute, entity-decoded URLs.
    static IEnumerable<string> ScriptVectors(string html)
    {
        foreach (Match tag in Regex.Matches(html, @"<\s*([a-zA-Z][a-zA-Z0-9-]*)([^>]*)>"))
        {
            var name = tag.Groups[1].Value.ToLowerInvariant();
            if (name is "script" or "iframe" or "object" or "embed" or "svg" or "math" or "base" or "form" or "meta" or "link" or "style")
                yield return $"element <{name}>";
            foreach (Match attribute in Regex.Matches(tag.Groups[2].Value, @"([^\s=/>""']+)(?:\s*=\s*(""[^""]*""|'[^']*'|[^\s>]+))?"))
            {
                var attributeName = attribute.Groups[1].Value.ToLowerInvariant();
                var value = WebUtility.HtmlDecode(attribute.Groups[2].Value.Trim('"', '\''));
                if (attributeName.StartsWith("on", StringComparison.Ordinal)) yield return $"event attribute {attributeName} on <{name}>";
                if (attributeName is "formaction" or "srcdoc" or "action" or "xlink:href") yield return $"attribute {attributeName} on <{name}>";
                // Tables write their alignment as a style; a style that loads or computes anything is a way in.
                if (attributeName == "style" && Regex.IsMatch(value, @"url\(|expression|@import|behavior|javascript", RegexOptions.IgnoreCase)) yield return $"style=\"{value}\" on <{name}>";
                if (attributeName is "href" or "src")
                {
                    var compact = new string(value.Where(c => c > ' ' && c != '\u00AD').ToArray()).ToLowerInvariant();
                    var safeImage = attributeName == "src" && name == "img" && Regex.IsMatch(compact, "^data:image/(png|jpeg|gif|webp);base64,");
                    var scheme = Regex.Match(compact, "^([a-z][a-z0-9+.-]*):");
                    if (scheme.Success && scheme.Groups[1].Value is not ("http" or "https" or "mailto") && !safeImage)
                        yield return $"{attributeName}=\"{value}\" on <{name}>";
                }
            }
        }
    }
}
