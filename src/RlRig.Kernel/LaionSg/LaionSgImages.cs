namespace RlRig.LaionSg;

/// <summary>
/// Finds a record's image on disk. <see cref="LaionSgRecord.Name"/> comes from the data set, so it is treated as an
/// untrusted file name: it may name a file in the image root or in a sub-folder of it, and nothing else. Rejected:
/// empty names, absolute or drive-qualified paths, "." and ".." segments, control characters, ':' (a Windows
/// drive or stream), and symbolic links (or junctions) anywhere on the way whose target lies outside the root.
/// "/" and "\" both count as separators so a name means the same thing on every OS. URLs are never fetched.
/// </summary>
public static class LaionSgImages
{
    /// <summary>The full path of the record's image inside <paramref name="root"/>; the file need not exist.</summary>
    /// <exception cref="UnsafeImageNameException">The name would leave the root, or is not a plain relative name.</exception>
    /// <exception cref="DirectoryNotFoundException">The root folder does not exist.</exception>
    public static string ResolveImagePath(string root, LaionSgRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        return ResolveImagePath(root, record.Name, record.ImgId);
    }

    /// <summary>As <see cref="ResolveImagePath(string, LaionSgRecord)"/> for a bare name.</summary>
    public static string ResolveImagePath(string root, string name, string? imgId = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(root);
        string[] segments = CheckName(name, imgId);
        string realRoot = RealRoot(root);
        string current = realRoot;
        foreach (string segment in segments)
        {
            current = Path.Combine(current, segment);
            FileSystemInfo? target = LinkTarget(current);
            if (target is null) continue;
            string resolved = Path.GetFullPath(target.FullName);
            if (!IsInside(realRoot, resolved))
                throw new UnsafeImageNameException(name, imgId,
                    $"\"{segment}\" is a link to \"{resolved}\", outside the image root \"{realRoot}\"");
            current = resolved;
        }
        return current;
    }

    /// <summary>The bytes of the record's image, after <see cref="ResolveImagePath(string, LaionSgRecord)"/>.</summary>
    /// <exception cref="FileNotFoundException">The image is not in the root.</exception>
    public static byte[] ReadImage(string root, LaionSgRecord record) => File.ReadAllBytes(ResolveImagePath(root, record));

    private static string[] CheckName(string name, string? imgId)
    {
        if (string.IsNullOrWhiteSpace(name)) throw new UnsafeImageNameException(name ?? "", imgId, "the name is empty");
        if (name.Any(char.IsControl)) throw new UnsafeImageNameException(name, imgId, "the name holds control characters");
        if (name.Contains(':')) throw new UnsafeImageNameException(name, imgId, "the name holds ':' (drive or stream syntax)");
        if (name[0] is '/' or '\\' || Path.IsPathRooted(name))
            throw new UnsafeImageNameException(name, imgId, "the name is an absolute path");
        string[] segments = name.Split('/', '\\');
        foreach (string segment in segments)
        {
            if (segment.Length == 0) throw new UnsafeImageNameException(name, imgId, "the name holds an empty path segment");
            if (segment.Trim() is "." or "..")
                throw new UnsafeImageNameException(name, imgId, $"the name holds a \"{segment}\" segment");
        }
        return segments;
    }

    private static string RealRoot(string root)
    {
        string full = Path.GetFullPath(root);
        if (!Directory.Exists(full)) throw new DirectoryNotFoundException($"The image root \"{full}\" does not exist.");
        // The root itself may be a link (e.g. to a data disk); what it points at is the real boundary.
        FileSystemInfo? target = new DirectoryInfo(full).ResolveLinkTarget(returnFinalTarget: true);
        return Path.TrimEndingDirectorySeparator(target is null ? full : Path.GetFullPath(target.FullName));
    }

    private static FileSystemInfo? LinkTarget(string path)
    {
        // FileInfo reads the link itself (lstat), whether it points at a file, a folder or nothing.
        var info = new FileInfo(path);
        if (info.LinkTarget is null) return null;
        return info.ResolveLinkTarget(returnFinalTarget: true)
               ?? new FileInfo(Path.GetFullPath(info.LinkTarget, Path.GetDirectoryName(path)!));
    }

    private static bool IsInside(string root, string path)
    {
        StringComparison cmp = OperatingSystem.IsWindows() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;
        return path.StartsWith(root + Path.DirectorySeparatorChar, cmp) || string.Equals(path, root, cmp);
    }
}

/// <summary>A LAION-SG image name that does not name a file inside the image root.</summary>
public sealed class UnsafeImageNameException : IOException
{
    /// <summary>Creates the exception.</summary>
    public UnsafeImageNameException(string name, string? imgId, string reason)
        : base($"Image name \"{name}\"{(imgId is null ? "" : $" of img_id \"{imgId}\"")} is refused: {reason}.")
    {
        Name = name;
        ImgId = imgId;
        Reason = reason;
    }

    /// <summary>The refused name.</summary>
    public string Name { get; }

    /// <summary>The record's img_id, when known.</summary>
    public string? ImgId { get; }

    /// <summary>Why it is refused.</summary>
    public string Reason { get; }
}
