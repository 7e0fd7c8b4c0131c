using System.Buffers.Binary;
using System.Text;

namespace RlRig.Torch;

/// <summary>One <c>Vernaux</c> entry of an ELF file's <c>.gnu.version_r</c> section: a symbol version the file needs.</summary>
/// <param name="File">The library that must provide the version (e.g. <c>libstdc++.so.6</c>).</param>
/// <param name="Version">The version name (e.g. <c>GLIBCXX_3.4.32</c>).</param>
/// <param name="Index">The version index that <c>.gnu.version</c> entries use to point at this requirement.</param>
/// <param name="Flags">The <c>vna_flags</c> field; bit <see cref="ElfVersionNeeds.WeakFlag"/> makes a missing version a warning.</param>
/// <param name="FlagsOffset">The byte offset of <c>vna_flags</c> in the file.</param>
/// <param name="UsedBy">The dynamic symbols bound to this version, and whether each is referenced by a relocation.</param>
public sealed record VersionNeed(string File, string Version, int Index, ushort Flags, long FlagsOffset, IReadOnlyList<VersionedSymbol> UsedBy)
{
    public bool IsWeak => (Flags & ElfVersionNeeds.WeakFlag) != 0;
}

/// <summary>A dynamic symbol bound to a needed version.</summary>
public sealed record VersionedSymbol(string Name, bool IsUndefined, bool IsRelocated);

/// <summary>
/// Reads the symbol-version requirements of a 64-bit little-endian ELF shared object: just enough of the format to decide
/// whether one requirement can be made weak without changing what the library does. Layouts follow the System V gABI and
/// the LSB "Symbol Versioning" chapter; every offset is bounds-checked so a truncated or foreign file is reported, not misread.
/// </summary>
public static class ElfVersionNeeds
{
    /// <summary><c>VER_FLG_WEAK</c>: the dynamic loader only warns (in verbose mode) when such a version is missing.</summary>
    public const ushort WeakFlag = 0x2;

    const uint ShtRela = 4, ShtDynsym = 11, ShtGnuVerneed = 0x6ffffffe, ShtGnuVersym = 0x6fffffff;

    /// <summary>Parses every version requirement of <paramref name="elf"/>.</summary>
    /// <exception cref="InvalidDataException">The bytes are not a well-formed 64-bit little-endian ELF file.</exception>
    public static IReadOnlyList<VersionNeed> Read(ReadOnlySpan<byte> elf)
    {
        if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F')
            throw new InvalidDataException("not an ELF file (bad magic)");
        if (elf[4] != 2 || elf[5] != 1)
            throw new InvalidDataException("not a 64-bit little-endian ELF file");

        var sections = ReadSections(elf);
        var verneed = sections.SingleOrDefault(s => s.Type == ShtGnuVerneed);
        if (verneed is null) return [];
        var dynsym = sections.SingleOrDefault(s => s.Type == ShtDynsym)
            ?? throw new InvalidDataException("has .gnu.version_r but no .dynsym");
        var versym = sections.SingleOrDefault(s => s.Type == ShtGnuVersym)
            ?? throw new InvalidDataException("has .gnu.version_r but no .gnu.version");
        var verneedStrings = Section(elf, sections, verneed.Link);
        var symbolStrings = Section(elf, sections, dynsym.Link);

        var symbolCount = checked((int)(dynsym.Size / 24));
        var relocated = RelocatedSymbols(elf, sections, dynsym.Index);
        var symbolsByVersion = new Dictionary<int, List<VersionedSymbol>>();
        for (var i = 0; i < symbolCount; i++)
        {
            var version = U16(elf, versym.Offset + 2L * i) & 0x7fff;
            var sym = dynsym.Offset + 24L * i;
            var name = CString(symbolStrings, U32(elf, sym));
            var undefined = U16(elf, sym + 6) == 0;
            if (!symbolsByVersion.TryGetValue(version, out var list)) symbolsByVersion[version] = list = [];
            list.Add(new VersionedSymbol(name, undefined, relocated.Contains(i)));
        }

        var needs = new List<VersionNeed>();
        long entry = verneed.Offset;
        for (var n = 0; n < verneed.Info; n++)
        {
            var count = U16(elf, entry + 2);
            var file = CString(verneedStrings, U32(elf, entry + 4));
            long aux = entry + U32(elf, entry + 8);
            for (var a = 0; a < count; a++)
            {
                var index = U16(elf, aux + 6);
                needs.Add(new VersionNeed(file, CString(verneedStrings, U32(elf, aux + 8)), index, U16(elf, aux + 4), aux + 4,
                    symbolsByVersion.TryGetValue(index, out var used) ? used : []));
                aux += U32(elf, aux + 12);
            }
            var next = U32(elf, entry + 12);
            if (next == 0) break;
            entry += next;
        }
        return needs;
    }

    sealed record SectionHeader(int Index, uint Type, long Offset, long Size, int Link, uint Info);

    static List<SectionHeader> ReadSections(ReadOnlySpan<byte> elf)
    {
        var shoff = checked((long)U64(elf, 0x28));
        var shentsize = U16(elf, 0x3a);
        var shnum = U16(elf, 0x3c);
        if (shentsize < 64) throw new InvalidDataException($"section header size {shentsize} is too small");
        var list = new List<SectionHeader>(shnum);
        for (var i = 0; i < shnum; i++)
        {
            var h = shoff + (long)i * shentsize;
            var header = new SectionHeader(i, U32(elf, h + 4), checked((long)U64(elf, h + 24)), checked((long)U64(elf, h + 32)),
                (int)U32(elf, h + 40), U32(elf, h + 44));
            if (header.Type != 8 /* SHT_NOBITS */ && header.Offset + header.Size > elf.Length)
                throw new InvalidDataException($"section {i} extends past the end of the file (truncated?)");
            list.Add(header);
        }
        return list;
    }

    static HashSet<int> RelocatedSymbols(ReadOnlySpan<byte> elf, List<SectionHeader> sections, int dynsymIndex)
    {
        var used = new HashSet<int>();
        foreach (var rela in sections.Where(s => s.Type == ShtRela && s.Link == dynsymIndex))
            for (long r = rela.Offset; r + 24 <= rela.Offset + rela.Size; r += 24)
                used.Add((int)(U64(elf, r + 8) >> 32));
        return used;
    }

    static ReadOnlySpan<byte> Section(ReadOnlySpan<byte> elf, List<SectionHeader> sections, int index)
    {
        if (index <= 0 || index >= sections.Count) throw new InvalidDataException($"section link {index} is out of range");
        var s = sections[index];
        return elf.Slice(checked((int)s.Offset), checked((int)s.Size));
    }

    static string CString(ReadOnlySpan<byte> table, uint offset)
    {
        if (offset >= table.Length) throw new InvalidDataException($"string offset {offset} is outside its string table");
        var rest = table[(int)offset..];
        var end = rest.IndexOf((byte)0);
        if (end < 0) throw new InvalidDataException("unterminated string in a string table");
        return Encoding.ASCII.GetString(rest[..end]);
    }

    static ushort U16(ReadOnlySpan<byte> b, long at) => BinaryPrimitives.ReadUInt16LittleEndian(Slice(b, at, 2));
    static uint U32(ReadOnlySpan<byte> b, long at) => BinaryPrimitives.ReadUInt32LittleEndian(Slice(b, at, 4));
    static ulong U64(ReadOnlySpan<byte> b, long at) => BinaryPrimitives.ReadUInt64LittleEndian(Slice(b, at, 8));

    static ReadOnlySpan<byte> Slice(ReadOnlySpan<byte> b, long at, int length) =>
        at >= 0 && at + length <= b.Length ? b.Slice((int)at, length)
            : throw new InvalidDataException($"offset {at} is past the end of the file (truncated?)");
}
