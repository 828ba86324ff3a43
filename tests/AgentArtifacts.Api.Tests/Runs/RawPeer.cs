using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace AgentArtifacts.Api.Tests.Runs;

/// <summary>One request as a <see cref="RawPeer"/> read it off the wire: when, every header line as sent, and the body.</summary>
public sealed record RawRequest(DateTimeOffset At, IReadOnlyList<(string Name, string Value)> Headers, string Body)
{
    public string[] Values(string name) => Headers.Where(h => h.Name.Equals(name, StringComparison.OrdinalIgnoreCase)).Select(h => h.Value).ToArray();
}

/// <summary>
/// An HTTP/1.1 peer on raw TCP at a free loopback port, for what a well-behaved server such as Kestrel will not do: close the
/// connection halfway through the headers or the body, stall, lie about its length. It reads each request (headers and its
/// Content-Length body), records it, and hands the connection to the answer scripted for that call; the connection is closed
/// after each answer, so every attempt of a run arrives on a connection of its own.
/// </summary>
public sealed class RawPeer : IAsyncDisposable
{
    /// <summary>What the peer does with call <c>n</c> (0-based): writes to the connection, waits, or simply returns (closing it).</summary>
    public delegate Task Answer(Stream connection, CancellationToken ct);

    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stopping = new();
    private readonly Func<int, Answer> _script;
    private readonly Task _accepting;
    private int _calls;

    public ConcurrentQueue<RawRequest> Requests { get; } = new();

    private RawPeer(Func<int, Answer> script)
    {
        _script = script;
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public static RawPeer Start(Func<int, Answer> script) => new(script);

    public Uri Url(string path) => new($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}{path}");

    private async Task AcceptAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            TcpClient client;
            try { client = await _listener.AcceptTcpClientAsync(_stopping.Token); }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException) { return; }
            _ = ServeAsync(client);
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using (client)
        {
            try
            {
                var stream = client.GetStream();
                if (await ReadRequestAsync(stream, _stopping.Token) is not { } request) return;
                Requests.Enqueue(request);
                await _script(Interlocked.Increment(ref _calls) - 1)(stream, _stopping.Token);
                await stream.FlushAsync(_stopping.Token);
            }
            catch (Exception e) when (e is IOException or OperationCanceledException or SocketException or ObjectDisposedException)
            {
                // The service hung up first (a timeout, a size limit): what the row is about, not a fault of the peer.
            }
        }
    }

    private static async Task<RawRequest?> ReadRequestAsync(Stream stream, CancellationToken ct)
    {
        var buffer = new List<byte>();
        var one = new byte[1];
        while (!EndsWithBlankLine(buffer))
        {
            if (await stream.ReadAsync(one, ct) == 0) return null;
            buffer.Add(one[0]);
        }
        var lines = Encoding.Latin1.GetString(buffer.ToArray()).Split("\r\n");
        var headers = lines.Skip(1).Where(l => l.Length > 0).Select(l => (l[..l.IndexOf(':')].Trim(), l[(l.IndexOf(':') + 1)..].Trim())).ToList();
        var length = int.Parse(headers.FirstOrDefault(h => h.Item1.Equals("Content-Length", StringComparison.OrdinalIgnoreCase)).Item2 ?? "0");
        var body = new byte[length];
        await stream.ReadExactlyAsync(body, ct);
        return new RawRequest(DateTimeOffset.UtcNow, headers, Encoding.UTF8.GetString(body));
    }

    private static bool EndsWithBlankLine(List<byte> b) =>
        b.Count >= 4 && b[^4] == '\r' && b[^3] == '\n' && b[^2] == '\r' && b[^1] == '\n';

    /// <summary>Writes <paramref name="text"/> as it is (Latin-1), then returns: the connection closes there.</summary>
    public static Answer Send(string text) => async (connection, ct) => await connection.WriteAsync(Encoding.Latin1.GetBytes(text), ct);

    /// <summary>A complete JSON answer with its length, then the connection closes.</summary>
    public static Answer Json(int status, string json, string extraHeaders = "") =>
        Send($"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {Encoding.UTF8.GetByteCount(json)}\r\n{extraHeaders}Connection: close\r\n\r\n{json}");

    /// <summary>Writes <paramref name="first"/>, then holds the connection open until the service gives up on it.</summary>
    public static Answer SendThenStall(string first) => async (connection, ct) =>
    {
        await connection.WriteAsync(Encoding.Latin1.GetBytes(first), ct);
        await connection.FlushAsync(ct);
        var one = new byte[1];
        while (await connection.ReadAsync(one, ct) > 0) { }  // returns when the service closes its end
    };

    /// <summary>A chunked answer (no Content-Length) of <paramref name="chunks"/> chunks of <paramref name="size"/> bytes.</summary>
    public static Answer Chunked(int chunks, int size) => async (connection, ct) =>
    {
        await connection.WriteAsync(Encoding.Latin1.GetBytes("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"), ct);
        var chunk = Encoding.Latin1.GetBytes($"{size:x}\r\n{new string('x', size)}\r\n");
        for (var i = 0; i < chunks; i++) await connection.WriteAsync(chunk, ct);
        await connection.WriteAsync("0\r\n\r\n"u8.ToArray(), ct);
    };

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        _listener.Stop();
        await _accepting;
        _stopping.Dispose();
    }
}
