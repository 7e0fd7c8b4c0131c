using System.Security.Cryptography;

namespace RlRig.IO;

/// <summary>
/// A write-only pass-through that hashes (SHA-256) and counts what goes through it, so a large payload can be written
/// straight to its file and still be described by its length and hash, without holding it in memory.
/// </summary>
public sealed class HashingWriteStream(Stream inner) : Stream
{
    readonly IncrementalHash sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

    /// <summary>Bytes written so far.</summary>
    public long BytesWritten { get; private set; }

    /// <summary>SHA-256 of everything written so far.</summary>
    public byte[] Hash() => sha.GetCurrentHash();

    /// <summary>
    /// Adds bytes to the hash without writing them (nor counting them): bytes already written before the place where the
    /// hash itself is stored, such as a file's header, so that the hash covers them too.
    /// </summary>
    public void Cover(ReadOnlySpan<byte> bytes) => sha.AppendData(bytes);

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        sha.AppendData(buffer);
        inner.Write(buffer);
        BytesWritten += buffer.Length;
    }

    public override void WriteByte(byte value) => Write([value]);
    public override void Flush() => inner.Flush();
    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => BytesWritten; set => throw new NotSupportedException(); }
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing) sha.Dispose();
        base.Dispose(disposing);
    }
}
