using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using TorchSharp;
using static TorchSharp.torch;

namespace RlRig.IO;

/// <summary>A checkpoint cannot be read or does not fit; the message names the file and what is wrong or differs.</summary>
public class CheckpointException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// The project's checkpoint file format, shared by every trained model (the Diffuser, the Checker): 8-byte magic, int32
/// header length, UTF-8 JSON header, int64 payload length, SHA-256 of the header and payload, payload. The length and
/// hash let a truncated or damaged file fail with a clear one-line message before any weight is read, and a changed
/// header (a step, an option) is refused like changed weights. A magic ending in "2" marks this format; the same magic
/// ending in "1" is format 1, whose hash covers the payload alone, and is still read. Files are written atomically.
/// </summary>
/// <remarks>Every reader takes an error factory, so each model's errors keep their own exception type.</remarks>
internal static class CheckpointFile
{
    /// <summary>Builds the exception a reader throws.</summary>
    public delegate CheckpointException ErrorFactory(string message, Exception? inner);

    static CheckpointException Plain(string message, Exception? inner) => new(message, inner);

    /// <summary>Format 1's magic for a format 2 magic: the same with its last character "1".</summary>
    public static string LegacyMagic(string magic) => magic[..^1] + "1";

    /// <summary>UTF-8 that refuses invalid bytes, so a header key with a broken byte is an error, not a silent U+FFFD.</summary>
    public static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>
    /// Writes the file atomically, the payload streamed straight to disk by <paramref name="writePayload"/>: its length
    /// and hash are filled in afterwards, so a training state (tens of MB) never sits in managed buffers, whose
    /// every-checkpoint allocation showed as a sawtooth in the Diffuser's training run's memory.
    /// </summary>
    public static void Write(string path, string magic, JsonObject header, Action<Stream> writePayload)
    {
        var json = StrictUtf8.GetBytes(header.ToJsonString());
        AtomicFile.Write(path, stream =>
        {
            using var w = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
            w.Write(Encoding.ASCII.GetBytes(magic));
            w.Write(json.Length);
            w.Write(json);
            w.Flush();
            var lengthAt = stream.Position;
            w.Write(0L);
            w.Write(new byte[32]);
            w.Flush();
            using var payload = new HashingWriteStream(stream);
            payload.Cover(json);
            writePayload(payload);
            payload.Flush();
            var end = stream.Position;
            stream.Position = lengthAt;
            w.Write(payload.BytesWritten);
            w.Write(payload.Hash());
            w.Flush();
            stream.Position = end;
        });
    }

    /// <summary>Reads and checks a file's header and payload, and the payload's hash.</summary>
    /// <param name="kind">What a file with this magic is, for messages ("a training state").</param>
    public static (JsonObject Header, byte[] Payload) Read(string path, string magic, string kind, ErrorFactory? error = null)
    {
        error ??= Plain;
        using var stream = OpenFile(path, error);
        var layout = ReadLayout(path, magic, kind, stream, error);
        var payload = new byte[layout.PayloadLength];
        stream.ReadExactly(payload);
        using var sha = layout.StartHash();
        sha.AppendData(payload);
        layout.RequireHash(path, sha, error);
        return (layout.Header, payload);
    }

    /// <summary>
    /// Reads and checks a file's header without holding tens of MB of weights: what it says about the run. The hash is
    /// still checked (streamed), because a run resumed or described from a changed header goes wrong silently.
    /// </summary>
    public static JsonObject ReadHeader(string path, string magic, string kind, ErrorFactory? error = null)
    {
        error ??= Plain;
        using var stream = OpenFile(path, error);
        var layout = ReadLayout(path, magic, kind, stream, error);
        using var sha = layout.StartHash();
        var buffer = new byte[1 << 20];
        for (var left = layout.PayloadLength; left > 0;)
        {
            var n = stream.Read(buffer, 0, (int)Math.Min(buffer.Length, left));
            if (n == 0) break;
            sha.AppendData(buffer, 0, n);
            left -= n;
        }
        layout.RequireHash(path, sha, error);
        return layout.Header;
    }

    /// <summary>
    /// Writes the human-readable manifest beside a checkpoint (<c>&lt;file&gt;.manifest.json</c>), atomically: file, size,
    /// SHA-256, step, parameters, how the weights are stored, configuration and training options.
    /// </summary>
    public static void WriteManifest(string checkpointPath, int step, long parameters, string weights, JsonNode config, JsonNode? options)
    {
        var manifest = new JsonObject
        {
            ["file"] = Path.GetFileName(checkpointPath),
            ["bytes"] = new FileInfo(checkpointPath).Length,
            ["sha256"] = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(checkpointPath))),
            ["step"] = step,
            ["parameters"] = parameters,
            ["weights"] = weights,
            ["written_utc"] = DateTime.UtcNow.ToString("O"),
            ["config"] = config,
            ["options"] = options,
        };
        AtomicFile.WriteAllText(checkpointPath + ".manifest.json", manifest.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

    /// <summary>Writes a module's weights as float16 (half the file; inference needs no more than fp16's 3 significant digits).</summary>
    public static void WriteHalfWeights(nn.Module module, Stream stream)
    {
        using var scope = NewDisposeScope();
        var half = module.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().to(ScalarType.Float16));
        using var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
        nn.Module.save_state_dict(writer, half, null);
    }

    /// <summary>Loads weights into <paramref name="module"/> (strict), turning a mismatch into a checkpoint error naming <paramref name="what"/>.</summary>
    public static void LoadWeights(string path, nn.Module module, BinaryReader reader, string what, ErrorFactory? error = null)
    {
        try { module.load(reader, strict: true); }
        catch (Exception e) when (e is not CheckpointException)
        {
            throw (error ?? Plain)($"checkpoint {path}: the {what} do not fit the model its configuration describes: {e.Message}", e);
        }
    }

    /// <summary>
    /// Compares the file with the sha256 its manifest records, when there is a manifest: the only check that covers a
    /// format 1 file's header, and a check that the manifest describes this file and not an earlier one.
    /// </summary>
    public static void RequireManifestAgrees(string path, string manifestPath, ErrorFactory? error = null)
    {
        error ??= Plain;
        if (!File.Exists(manifestPath)) return;
        JsonNode? recorded;
        try { recorded = JsonNode.Parse(StrictUtf8.GetString(File.ReadAllBytes(manifestPath)))?.AsObject()["sha256"]; }
        catch (Exception e) when (e is JsonException or InvalidOperationException or DecoderFallbackException)
        {
            throw error($"manifest {manifestPath} of checkpoint {path} is unreadable ({Sanitize(e.Message)}); restore it or delete it", e);
        }
        // A manifest written before the checkpoint had one (Manifest.Update on a bare file) records no hash: nothing to compare.
        if (recorded is null) return;
        var expected = recorded is JsonValue v && v.TryGetValue<string>(out var text) ? text : recorded.ToJsonString();
        string actual;
        using (var stream = File.OpenRead(path)) actual = Convert.ToHexStringLower(SHA256.HashData(stream));
        if (!string.Equals(expected, actual, StringComparison.OrdinalIgnoreCase))
            throw error($"checkpoint {path} does not match its manifest {manifestPath}: the manifest records sha256 {Sanitize(expected)}, the checkpoint's is {actual}; one of the two was changed or replaced", null);
    }

    static FileStream OpenFile(string path, ErrorFactory error)
    {
        if (!File.Exists(path)) throw error($"checkpoint {path} does not exist", null);
        return File.OpenRead(path);
    }

    sealed record Layout(JsonObject Header, byte[] HeaderBytes, bool HeaderCovered, long PayloadLength, byte[] Hash)
    {
        /// <summary>A hash that has taken in what precedes the payload in the hashed sequence.</summary>
        public IncrementalHash StartHash()
        {
            var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            if (HeaderCovered) sha.AppendData(HeaderBytes);
            return sha;
        }

        public void RequireHash(string path, IncrementalHash sha, ErrorFactory error)
        {
            if (sha.GetCurrentHash().AsSpan().SequenceEqual(Hash)) return;
            throw error(HeaderCovered
                ? $"checkpoint {path} is damaged: the SHA-256 of its header and weights does not match the one stored in it"
                : $"checkpoint {path} is damaged: the weights' SHA-256 does not match the header", null);
        }
    }

    // Leaves the stream at the payload's first byte.
    static Layout ReadLayout(string path, string magic, string kind, FileStream stream, ErrorFactory error)
    {
        var length = stream.Length;
        CheckpointException Truncated(string detail) =>
            error($"checkpoint {path} is truncated ({length} bytes): {detail}; the write was interrupted or the copy is incomplete", null);
        if (length < 12) throw Truncated("shorter than the header");
        using var r = new BinaryReader(stream, Encoding.UTF8, leaveOpen: true);
        var found = Encoding.ASCII.GetString(r.ReadBytes(8));
        if (found != magic && found != LegacyMagic(magic))
            throw error($"checkpoint {path} is not {kind} (starts with \"{Sanitize(found)}\", expected \"{magic}\")", null);
        var jsonLength = r.ReadInt32();
        if (jsonLength < 0 || 12L + jsonLength + 8 + 32 > length) throw Truncated($"the header needs {12L + jsonLength + 40} bytes");
        JsonObject header;
        var headerBytes = r.ReadBytes(jsonLength);
        try { header = JsonNode.Parse(StrictUtf8.GetString(headerBytes))!.AsObject(); }
        catch (Exception e) when (e is JsonException or InvalidOperationException or NullReferenceException or DecoderFallbackException)
        {
            throw error($"checkpoint {path} has a damaged header: {e.Message}", e);
        }
        var payloadLength = r.ReadInt64();
        var hash = r.ReadBytes(32);
        var start = 12L + jsonLength + 40;
        if (payloadLength < 0 || start + payloadLength > length)
            throw Truncated($"the header promises {payloadLength} bytes of weights, only {length - start} are there");
        if (start + payloadLength != length)
            throw error($"checkpoint {path} has {length - start - payloadLength} unexpected bytes after its weights", null);
        if (payloadLength > Array.MaxLength)
            throw error($"checkpoint {path} promises {payloadLength} bytes of weights, more than this reader can hold", null);
        return new Layout(header, headerBytes, found == magic, payloadLength, hash);
    }

    /// <summary>Escapes control and bidi characters (<see cref="TerminalText"/>), so a damaged file's bytes can be quoted in a one-line message.</summary>
    public static string Sanitize(string s) => TerminalText.Escape(s);
}
