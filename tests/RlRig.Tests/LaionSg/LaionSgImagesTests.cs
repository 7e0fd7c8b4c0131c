using RlRig.LaionSg;

namespace RlRig.Tests.LaionSg;

public sealed class LaionSgImagesTests : IDisposable
{
    private readonly TempFolder _temp = new();
    private readonly string _root;
    private readonly string _outside;

    public LaionSgImagesTests()
    {
        _root = Path.Combine(_temp.Path, "images");
        _outside = Path.Combine(_temp.Path, "secret");
        Directory.CreateDirectory(Path.Combine(_root, "sub"));
        Directory.CreateDirectory(_outside);
        File.WriteAllText(Path.Combine(_root, "a.jpg"), "A");
        File.WriteAllText(Path.Combine(_root, "sub", "b.jpg"), "B");
        File.WriteAllText(Path.Combine(_outside, "key.txt"), "K");
    }

    public void Dispose() => _temp.Dispose();

    private static LaionSgRecord Named(string name) => new("42", name, "c", "1", "https://example.invalid/x.jpg", [], []);

    [Fact]
    public void Plain_names_and_sub_folders_resolve_inside_the_root()
    {
        Assert.Equal(Path.Combine(_root, "a.jpg"), LaionSgImages.ResolveImagePath(_root, Named("a.jpg")));
        Assert.Equal(Path.Combine(_root, "sub", "b.jpg"), LaionSgImages.ResolveImagePath(_root, Named("sub/b.jpg")));
        Assert.Equal("B"u8.ToArray(), LaionSgImages.ReadImage(_root, Named("sub\\b.jpg")));
        // A missing file is not unsafe: the caller decides what to do.
        Assert.Equal(Path.Combine(_root, "none.jpg"), LaionSgImages.ResolveImagePath(_root, Named("none.jpg")));
    }

    [Theory]
    [InlineData("../secret/key.txt", "\"..\" segment")]
    [InlineData("sub/../../secret/key.txt", "\"..\" segment")]
    [InlineData("..\\secret\\key.txt", "\"..\" segment")]
    [InlineData("/etc/passwd", "absolute path")]
    [InlineData("\\\\server\\share\\x.jpg", "absolute path")]
    [InlineData("C:\\Windows\\x.jpg", "':'")]
    [InlineData("", "empty")]
    [InlineData("a.jpg\0.png", "control characters")]
    [InlineData("sub//b.jpg", "empty path segment")]
    [InlineData("./a.jpg", "\".\" segment")]
    public void Unsafe_names_are_refused(string name, string reason)
    {
        var ex = Assert.Throws<UnsafeImageNameException>(() => LaionSgImages.ResolveImagePath(_root, Named(name)));
        Assert.Contains(reason, ex.Message);
        Assert.Contains("img_id \"42\"", ex.Message);
    }

    [Fact]
    public void Links_out_of_the_root_are_refused_and_links_within_it_allowed()
    {
        File.CreateSymbolicLink(Path.Combine(_root, "escape.jpg"), Path.Combine(_outside, "key.txt"));
        Directory.CreateSymbolicLink(Path.Combine(_root, "door"), _outside);
        File.CreateSymbolicLink(Path.Combine(_root, "alias.jpg"), Path.Combine(_root, "sub", "b.jpg"));
        File.CreateSymbolicLink(Path.Combine(_root, "dangling.jpg"), Path.Combine(_outside, "missing.txt"));

        Assert.Contains("outside the image root",
            Assert.Throws<UnsafeImageNameException>(() => LaionSgImages.ResolveImagePath(_root, Named("escape.jpg"))).Message);
        Assert.Throws<UnsafeImageNameException>(() => LaionSgImages.ResolveImagePath(_root, Named("door/key.txt")));
        Assert.Throws<UnsafeImageNameException>(() => LaionSgImages.ResolveImagePath(_root, Named("dangling.jpg")));
        Assert.Equal(Path.Combine(_root, "sub", "b.jpg"), LaionSgImages.ResolveImagePath(_root, Named("alias.jpg")));
    }

    [Fact]
    public void A_root_that_is_itself_a_link_is_followed()
    {
        string link = Path.Combine(_temp.Path, "images-link");
        Directory.CreateSymbolicLink(link, _root);
        Assert.Equal(Path.Combine(_root, "a.jpg"), LaionSgImages.ResolveImagePath(link, Named("a.jpg")));
    }

    [Fact]
    public void Missing_root_is_reported()
    {
        Assert.Throws<DirectoryNotFoundException>(() => LaionSgImages.ResolveImagePath(Path.Combine(_temp.Path, "nope"), Named("a.jpg")));
    }
}
