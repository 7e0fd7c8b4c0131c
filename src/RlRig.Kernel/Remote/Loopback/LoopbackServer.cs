using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace RlRig.Remote.Loopback;

/// <summary>A request as the loopback server received it: method, path, headers and body bytes.</summary>
public sealed record LoopbackRequest(string Method, string Path, IReadOnlyDictionary<string, string> Headers, byte[] Body)
{
    public string BodyText => Encoding.UTF8.GetString(Body);
}

/// <summary>A reply to send: status, body and content type, optional headers.</summary>
public sealed record LoopbackReply(int Status, byte[] Body, string ContentType = "application/json", IReadOnlyDictionary<string, string>? Headers = null)
{
    public static LoopbackReply Json(string json, int status = 200) => new(status, Encoding.UTF8.GetBytes(json));
}

/// <summary>What goes wrong with one reply: the faults a real server or network shows.</summary>
public abstract record LoopbackFault
{
    /// <summary>Answer with status <paramref name="Code"/> (429, 500, ...) and, when given, a <c>Retry-After</c> header in seconds.</summary>
    public sealed record Status(int Code, int? RetryAfterSeconds = null) : LoopbackFault;

    /// <summary>Wait this long before answering (longer than the client's attempt timeout: a timeout).</summary>
    public sealed record Delay(TimeSpan Wait) : LoopbackFault;

    /// <summary>Answer 200 with this body instead of the model's (malformed JSON, the wrong schema, a non-image payload).</summary>
    public sealed record Body(string Text) : LoopbackFault;

    /// <summary>Announce the whole reply, send only part of it, and drop the connection.</summary>
    public sealed record Truncate : LoopbackFault;

    /// <summary>Send the reply in <paramref name="Chunks"/> pieces with <paramref name="Pause"/> between them.</summary>
    public sealed record SlowStream(int Chunks, TimeSpan Pause) : LoopbackFault;
}

/// <summary>
/// An HTTP server on 127.0.0.1 (an ephemeral port) that speaks the OpenAI wire formats RlRig's backends use, for tests
/// and for notebook 05 when no real server is configured: <c>POST /v1/chat/completions</c>,
/// <c>/v1/images/generations</c> and <c>/v1/images/edits</c>. Replies come from <see cref="Handler"/> (by default
/// <see cref="LoopbackModel"/>, scripted answers that keep the wire contract; they are not a model's judgement), and
/// faults queued with <see cref="Inject"/> replace them one request at a time. Every request is recorded, headers
/// included, so tests check exactly what was sent. Built on <see cref="HttpListener"/>, so it runs in any host.
/// </summary>
public sealed class LoopbackServer : IDisposable
{
    readonly HttpListener listener = new();
    readonly ConcurrentQueue<(string Path, LoopbackFault Fault)> faults = new();
    readonly ConcurrentQueue<LoopbackRequest> requests = new();
    readonly CancellationTokenSource stopping = new();
    readonly Task loop;

    public LoopbackServer(Func<LoopbackRequest, LoopbackReply>? handler = null)
    {
        Handler = handler ?? LoopbackModel.Reply;
        for (var attempt = 0; ; attempt++)
        {
            var port = FreePort();
            listener.Prefixes.Clear();
            listener.Prefixes.Add($"http://127.0.0.1:{port}/");
            try { listener.Start(); Port = port; break; }
            catch (HttpListenerException) when (attempt < 5) { }
        }
        loop = Task.Run(AcceptLoop);
    }

    public int Port { get; }

    /// <summary>The OpenAI-style base URL, <c>http://127.0.0.1:PORT/v1/</c>.</summary>
    public Uri BaseUrl => new($"http://127.0.0.1:{Port}/v1/");

    public Func<LoopbackRequest, LoopbackReply> Handler { get; set; }

    /// <summary>Every request received, in order.</summary>
    public IReadOnlyList<LoopbackRequest> Requests => requests.ToArray();

    /// <summary>Makes the next request whose path ends with <paramref name="pathSuffix"/> ("chat/completions", "images/edits") fail with <paramref name="fault"/>.</summary>
    public void Inject(string pathSuffix, LoopbackFault fault) => faults.Enqueue((pathSuffix, fault));

    static int FreePort()
    {
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        return port;
    }

    async Task AcceptLoop()
    {
        while (!stopping.IsCancellationRequested)
        {
            HttpListenerContext context;
            try { context = await listener.GetContextAsync(); }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException) { return; }
            _ = Task.Run(() => Serve(context));
        }
    }

    async Task Serve(HttpListenerContext context)
    {
        var response = context.Response;
        try
        {
            using var body = new MemoryStream();
            await context.Request.InputStream.CopyToAsync(body);
            var headers = context.Request.Headers.AllKeys.OfType<string>().ToDictionary(k => k, k => context.Request.Headers[k] ?? "", StringComparer.OrdinalIgnoreCase);
            var request = new LoopbackRequest(context.Request.HttpMethod, context.Request.Url!.AbsolutePath, headers, body.ToArray());
            requests.Enqueue(request);
            var fault = TakeFault(request.Path);
            if (fault is LoopbackFault.Delay d) await Task.Delay(d.Wait, stopping.Token);
            if (fault is LoopbackFault.Status s)
            {
                if (s.RetryAfterSeconds is { } after) response.AddHeader("Retry-After", after.ToString(System.Globalization.CultureInfo.InvariantCulture));
                await Write(response, new LoopbackReply(s.Code, Encoding.UTF8.GetBytes($"{{\"error\":{{\"message\":\"injected {s.Code}\",\"type\":\"loopback\"}}}}")));
                return;
            }
            LoopbackReply reply;
            try { reply = fault is LoopbackFault.Body b ? LoopbackReply.Json(b.Text) : Handler(request); }
            catch (Exception e) { reply = LoopbackReply.Json($"{{\"error\":{{\"message\":{System.Text.Json.JsonSerializer.Serialize(e.Message)}}}}}", 400); }
            switch (fault)
            {
                case LoopbackFault.Truncate:
                    response.StatusCode = reply.Status;
                    response.ContentType = reply.ContentType;
                    response.ContentLength64 = reply.Body.Length;
                    await response.OutputStream.WriteAsync(reply.Body.AsMemory(0, reply.Body.Length / 2));
                    await response.OutputStream.FlushAsync();
                    response.Abort();
                    return;
                case LoopbackFault.SlowStream slow:
                    response.StatusCode = reply.Status;
                    response.ContentType = reply.ContentType;
                    response.SendChunked = true;
                    var size = (reply.Body.Length + slow.Chunks - 1) / Math.Max(1, slow.Chunks);
                    for (var at = 0; at < reply.Body.Length; at += size)
                    {
                        await response.OutputStream.WriteAsync(reply.Body.AsMemory(at, Math.Min(size, reply.Body.Length - at)));
                        await response.OutputStream.FlushAsync();
                        await Task.Delay(slow.Pause, stopping.Token);
                    }
                    response.Close();
                    return;
                default:
                    await Write(response, reply);
                    return;
            }
        }
        catch (Exception e) when (e is HttpListenerException or IOException or OperationCanceledException or ObjectDisposedException or InvalidOperationException)
        {
            try { response.Abort(); } catch (ObjectDisposedException) { }
        }
    }

    LoopbackFault? TakeFault(string path)
    {
        // Faults are taken in order among those for this path; others stay queued.
        lock (faults)
        {
            var all = faults.ToArray();
            var index = Array.FindIndex(all, f => path.EndsWith(f.Path, StringComparison.Ordinal));
            if (index < 0) return null;
            faults.Clear();
            for (var i = 0; i < all.Length; i++) if (i != index) faults.Enqueue(all[i]);
            return all[index].Fault;
        }
    }

    static async Task Write(HttpListenerResponse response, LoopbackReply reply)
    {
        response.StatusCode = reply.Status;
        response.ContentType = reply.ContentType;
        foreach (var (k, v) in reply.Headers ?? new Dictionary<string, string>()) response.AddHeader(k, v);
        response.ContentLength64 = reply.Body.Length;
        await response.OutputStream.WriteAsync(reply.Body);
        response.Close();
    }

    public void Dispose()
    {
        stopping.Cancel();
        // Closing can throw "Address already in use" when another listener of the process took the port back meanwhile
        // (the managed HttpListener looks its endpoint up again to remove the prefix): the server is stopped either way.
        try { listener.Stop(); listener.Close(); } catch (Exception e) when (e is ObjectDisposedException or HttpListenerException) { }
        try { loop.Wait(TimeSpan.FromSeconds(5)); } catch (AggregateException) { }
        stopping.Dispose();
    }
}
