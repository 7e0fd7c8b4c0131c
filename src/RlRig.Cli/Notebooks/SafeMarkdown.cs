using Markdig;
using Markdig.Renderers;
using Markdig.Renderers.Html;
using Markdig.Syntax;
using Markdig.Syntax.Inlines;

namespace RlRig.Cli.Notebooks;

/// <summary>
/// Renders a notebook's markdown prose as HTML that cannot run script, by construction rather than by filtering the
/// output text: raw HTML is escaped, no extension that writes attributes from the text (generic attributes
/// <c>{onclick=...}</c>, media links' iframes) is enabled, every attribute other than an id or class is dropped from the
/// parsed document, and every link and image URL must pass <see cref="IsAllowedUrl"/> or the link is rendered as its
/// plain text. Markdown is prose someone else may have written; cell outputs are not rendered through here (see
/// <see cref="NotebookHtml"/>).
/// </summary>
public static class SafeMarkdown
{
    // UseAdvancedExtensions minus UseGenericAttributes and UseMediaLinks: the two that turn text into attributes or embeds.
    static readonly MarkdownPipeline Pipeline = new MarkdownPipelineBuilder()
        .UseAbbreviations().UseAutoIdentifiers().UseCitations().UseCustomContainers().UseDefinitionLists()
        .UseEmphasisExtras().UseFigures().UseFooters().UseFootnotes().UseGridTables().UseMathematics()
        .UsePipeTables().UseListExtras().UseTaskLists().UseDiagrams().UseAutoLinks()
        .DisableHtml().Build();

    // Raster formats only: an SVG can carry script, a PNG cannot.
    static readonly string[] ImageDataPrefixes = ["data:image/png;base64,", "data:image/jpeg;base64,", "data:image/gif;base64,", "data:image/webp;base64,"];

    /// <summary>The markdown as an HTML fragment.</summary>
    public static string ToHtml(string markdown)
    {
        var document = Markdown.Parse(markdown, Pipeline);
        Sanitize(document);
        using var writer = new StringWriter();
        var renderer = new HtmlRenderer(writer);
        Pipeline.Setup(renderer);
        renderer.Render(document);
        writer.Flush();
        return writer.ToString();
    }

    /// <summary>
    /// Whether a link (or, with <paramref name="image"/>, an image source) may point at <paramref name="url"/>: a URL
    /// without a scheme (relative, a fragment), http, https, mailto for links, and for images also a base64 PNG, JPEG,
    /// GIF or WebP data URL. The scheme is read the way a browser reads it: control characters and whitespace are
    /// ignored and case does not matter, so <c>JaVa&#9;Script:</c> is <c>javascript:</c>. Anything unrecognised is refused.
    /// </summary>
    public static bool IsAllowedUrl(string? url, bool image)
    {
        if (string.IsNullOrEmpty(url)) return true;
        // Browsers strip leading/trailing C0 controls and spaces and drop tabs and newlines anywhere; dropping every
        // control, whitespace and invisible formatting character is stricter still.
        var compact = new string(url.Where(c => !char.IsControl(c) && !char.IsWhiteSpace(c) && char.GetUnicodeCategory(c) != System.Globalization.UnicodeCategory.Format).ToArray());
        var colon = compact.IndexOf(':');
        var firstPathChar = compact.IndexOfAny(['/', '?', '#']);
        if (colon < 0 || (firstPathChar >= 0 && firstPathChar < colon)) return true;
        var scheme = compact[..colon].ToLowerInvariant();
        if (scheme is "http" or "https") return true;
        if (scheme == "mailto") return !image;
        if (scheme == "data" && image) return ImageDataPrefixes.Any(p => compact.StartsWith(p, StringComparison.OrdinalIgnoreCase));
        return false;
    }

    static void Sanitize(MarkdownDocument document)
    {
        // Collected first: unwrapping a link changes the tree being walked.
        foreach (var node in document.Descendants().ToList())
        {
            if (node.TryGetAttributes() is { } attributes) attributes.Properties = null;
            switch (node)
            {
                case LinkInline link:
                    // Links to headings compute their URL at render time; fix it now so the check sees what is written.
                    if (link.GetDynamicUrl is { } dynamicUrl) { link.Url = dynamicUrl() ?? link.Url; link.GetDynamicUrl = null; }
                    if (!IsAllowedUrl(link.Url, link.IsImage)) Unwrap(link);
                    break;
                case AutolinkInline autolink when !IsAllowedUrl(autolink.Url, image: false):
                    autolink.ReplaceBy(new LiteralInline(autolink.Url));
                    break;
            }
        }
    }

    // The link's text (an image's alt text) stays, as plain inlines in the link's place.
    static void Unwrap(LinkInline link)
    {
        var child = link.FirstChild;
        while (child is not null)
        {
            var next = child.NextSibling;
            child.Remove();
            link.InsertBefore(child);
            child = next;
        }
        link.Remove();
    }
}
