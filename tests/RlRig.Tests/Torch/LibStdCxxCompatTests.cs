using System.Buffers.Binary;
using RlRig.Tests.Support;
using RlRig.Torch;

namespace RlRig.Tests.Torch;

public sealed class LibStdCxxCompatTests : IDisposable
{
    const string Marker = "_ZSt21ios_base_library_initv";
    readonly TempDir temp = new();

    public void Dispose() => temp.Dispose();

    // A system like Debian 12: every libstdc++ version TorchSharp needs except GLIBCXX_3.4.32.
    static bool Debian12(string symbol, string version) => version != "GLIBCXX_3.4.32";

    /// <summary>A copy of TorchSharp's library as it ships: the GLIBCXX_3.4.32 requirement not weak (whatever the cache holds now).</summary>
    string ShippedCopy()
    {
        var source = TorchRuntime.CandidatePaths().First(File.Exists);
        var bytes = File.ReadAllBytes(source);
        var need = ElfVersionNeeds.Read(bytes).Single(n => n.Version == "GLIBCXX_3.4.32");
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan((int)need.FlagsOffset), (ushort)(need.Flags & ~ElfVersionNeeds.WeakFlag));
        var path = temp.File("libLibTorchSharp.so");
        File.WriteAllBytes(path, bytes);
        return path;
    }

    [Fact]
    public void Shipped_library_binds_only_the_unrelocated_marker_to_the_missing_version()
    {
        var need = ElfVersionNeeds.Read(File.ReadAllBytes(ShippedCopy())).Single(n => n.Version == "GLIBCXX_3.4.32");
        Assert.Equal("libstdc++.so.6", need.File);
        Assert.False(need.IsWeak);
        var symbol = Assert.Single(need.UsedBy);
        Assert.Equal(new VersionedSymbol(Marker, IsUndefined: true, IsRelocated: false), symbol);
    }

    [Fact]
    public void Fix_makes_the_requirement_weak_by_changing_two_bytes_and_nothing_else()
    {
        var path = ShippedCopy();
        var before = File.ReadAllBytes(path);
        var result = LibStdCxxCompat.Fix(path, Debian12);
        var after = File.ReadAllBytes(path);

        Assert.Equal(NativeFixOutcome.Patched, result.Outcome);
        Assert.Equal(["GLIBCXX_3.4.32"], result.WeakenedVersions);
        Assert.Equal(before.Length, after.Length);
        var changed = Enumerable.Range(0, before.Length).Where(i => before[i] != after[i]).ToList();
        var need = ElfVersionNeeds.Read(after).Single(n => n.Version == "GLIBCXX_3.4.32");
        Assert.True(need.IsWeak);
        Assert.All(changed, i => Assert.InRange(i, need.FlagsOffset, need.FlagsOffset + 1));
        Assert.Empty(Directory.GetFiles(temp.Path, "*.tmp"));
    }

    [Fact]
    public void Fix_is_idempotent_and_does_not_rewrite_a_fixed_file()
    {
        var path = ShippedCopy();
        LibStdCxxCompat.Fix(path, Debian12);
        var stamp = File.GetLastWriteTimeUtc(path);
        File.SetLastWriteTimeUtc(path, stamp.AddMinutes(-5));
        Assert.Equal(NativeFixOutcome.AlreadyPatched, LibStdCxxCompat.Fix(path, Debian12).Outcome);
        Assert.Equal(stamp.AddMinutes(-5), File.GetLastWriteTimeUtc(path));
    }

    [Fact]
    public void Fix_is_a_no_op_where_the_system_libstdcxx_is_new_enough()
    {
        var path = ShippedCopy();
        var before = File.ReadAllBytes(path);
        Assert.Equal(NativeFixOutcome.AlreadyLoadable, LibStdCxxCompat.Fix(path, (_, _) => true).Outcome);
        Assert.Equal(before, File.ReadAllBytes(path));
    }

    [Fact]
    public void Fix_refuses_a_library_whose_code_uses_the_missing_version()
    {
        var path = ShippedCopy();
        var bytes = File.ReadAllBytes(path);
        PointARelocationAt(bytes, Marker);
        File.WriteAllBytes(path, bytes);

        var error = Assert.Throws<TorchRuntimeException>(() => LibStdCxxCompat.Fix(path, Debian12));
        Assert.Contains(path, error.Message);
        Assert.Contains("GLIBCXX_3.4.32", error.Message);
        Assert.Contains(Marker, error.Message);
        Assert.Equal(bytes, File.ReadAllBytes(path));
    }

    [Fact]
    public void Fix_reports_a_truncated_file_by_name()
    {
        var path = ShippedCopy();
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
        var error = Assert.Throws<TorchRuntimeException>(() => LibStdCxxCompat.Fix(path, Debian12));
        Assert.Contains(path, error.Message);
        Assert.Contains("truncated", error.Message);
    }

    [Fact]
    public void Fix_reports_a_file_that_is_not_elf()
    {
        var path = temp.File("libLibTorchSharp.so");
        File.WriteAllText(path, "<html>a proxy's error page saved under the library's name</html>" + new string(' ', 100));
        var error = Assert.Throws<TorchRuntimeException>(() => LibStdCxxCompat.Fix(path, Debian12));
        Assert.Contains("not an ELF file", error.Message);
    }

    [Fact]
    public void Missing_file_is_reported_by_name()
    {
        var path = temp.File("libLibTorchSharp.so");
        var error = Assert.Throws<TorchRuntimeException>(() => LibStdCxxCompat.Fix(path, Debian12));
        Assert.Contains(path, error.Message);
    }

    [Fact]
    public void System_lookup_finds_an_old_libstdcxx_version_and_rejects_an_invented_one()
    {
        if (!OperatingSystem.IsLinux()) return;
        // std::ios_base::Init::Init() has been exported at GLIBCXX_3.4 since GCC 3.4.
        Assert.True(LibStdCxxCompat.SystemHasVersionedSymbol("_ZNSt8ios_base4InitC1Ev", "GLIBCXX_3.4"));
        Assert.False(LibStdCxxCompat.SystemHasVersionedSymbol("_ZNSt8ios_base4InitC1Ev", "GLIBCXX_99.0"));
    }

    [Fact]
    public void Torch_is_loaded_and_computes()
    {
        var report = TorchRuntime.EnsureLoaded();
        Assert.StartsWith("2.10", report.TorchVersion);
        using var sum = TorchSharp.torch.arange(5).sum();
        Assert.Equal(10L, sum.item<long>());
    }

    // Rewrites the symbol index of the first dynamic relocation to the given symbol: a library whose code would call it.
    static void PointARelocationAt(byte[] elf, string symbolName)
    {
        var shoff = (long)BinaryPrimitives.ReadUInt64LittleEndian(elf.AsSpan(0x28));
        int shnum = BinaryPrimitives.ReadUInt16LittleEndian(elf.AsSpan(0x3c));
        (long Off, long Size, int Link, uint Type) Section(int i)
        {
            var h = (int)(shoff + 64L * i);
            return ((long)BinaryPrimitives.ReadUInt64LittleEndian(elf.AsSpan(h + 24)), (long)BinaryPrimitives.ReadUInt64LittleEndian(elf.AsSpan(h + 32)),
                (int)BinaryPrimitives.ReadUInt32LittleEndian(elf.AsSpan(h + 40)), BinaryPrimitives.ReadUInt32LittleEndian(elf.AsSpan(h + 4)));
        }
        var dynsymIndex = Enumerable.Range(0, shnum).First(i => Section(i).Type == 11);
        var dynsym = Section(dynsymIndex);
        var strings = Section(dynsym.Link);
        var target = Enumerable.Range(0, (int)(dynsym.Size / 24)).First(i =>
        {
            var name = (int)strings.Off + (int)BinaryPrimitives.ReadUInt32LittleEndian(elf.AsSpan((int)dynsym.Off + 24 * i));
            var end = Array.IndexOf(elf, (byte)0, name);
            return System.Text.Encoding.ASCII.GetString(elf, name, end - name) == symbolName;
        });
        var rela = Section(Enumerable.Range(0, shnum).First(i => Section(i).Type == 4 && Section(i).Link == dynsymIndex && Section(i).Size > 0));
        var info = rela.Off + 8;
        var type = BinaryPrimitives.ReadUInt64LittleEndian(elf.AsSpan((int)info)) & 0xffffffff;
        BinaryPrimitives.WriteUInt64LittleEndian(elf.AsSpan((int)info), ((ulong)target << 32) | type);
    }
}
