using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

using AgentArtifacts.Api.Tests.Infrastructure;

namespace AgentArtifacts.Api.Tests.Runs;

/// <summary>
/// A third-party MCP server from <c>tests/peers</c> (installed by <c>npm ci --prefix tests/peers</c>, which build/test.sh runs),
/// started with Node on a free loopback port and killed, with its children, on dispose.
/// </summary>
public sealed class NodeMcpPeer : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private NodeMcpPeer(Process process, int port, string path)
    {
        _process = process;
        Url = new Uri($"http://127.0.0.1:{port}{path}");
    }

    public Uri Url { get; }

    /// <summary>What the server printed: for a failure message.</summary>
    public string Output
    {
        get { lock (_output) return _output.ToString(); }
    }

    /// <summary>The reference test server of the MCP project, <c>@modelcontextprotocol/server-everything</c>, over Streamable HTTP.</summary>
    public static Task<NodeMcpPeer> EverythingAsync() =>
        StartAsync(["node_modules/@modelcontextprotocol/server-everything/dist/index.js", "streamableHttp"], port => new() { ["PORT"] = $"{port}" });

    /// <summary><c>sdk-server.mjs</c>: the official TypeScript SDK, <paramref name="state"/> stateful|stateless, <paramref name="response"/> json|sse.</summary>
    public static Task<NodeMcpPeer> TypeScriptSdkAsync(string state, string response) =>
        StartAsync(["sdk-server.mjs", state, response], port => new() { ["PORT"] = $"{port}" });

    /// <summary><c>tmcp-server.mjs</c>: a server on tmcp, an MCP implementation independent of the official SDKs.</summary>
    public static Task<NodeMcpPeer> TmcpAsync() => StartAsync(["tmcp-server.mjs"], port => new() { ["PORT"] = $"{port}" });

    /// <summary><c>@cyanheads/git-mcp-server</c>, which answers the 2026-07-28 <c>server/discover</c> probe with a 500.</summary>
    public static Task<NodeMcpPeer> GitAsync(string baseDirectory) =>
        StartAsync(["node_modules/@cyanheads/git-mcp-server/dist/index.js"], port => new()
        {
            ["MCP_TRANSPORT_TYPE"] = "http", ["MCP_HTTP_HOST"] = "127.0.0.1", ["MCP_HTTP_PORT"] = $"{port}", ["MCP_LOG_LEVEL"] = "error",
            ["GIT_BASE_DIR"] = baseDirectory,
        });

    /// <summary>A Node program from <c>tests/peers</c> that listens on the port its environment names; <see cref="Url"/> is that port and <paramref name="path"/>.</summary>
    public static async Task<NodeMcpPeer> StartAsync(string[] arguments, Func<int, Dictionary<string, string>> environment, string path = "/mcp")
    {
        var directory = PeersDirectory();
        var port = FreePort();
        var start = new ProcessStartInfo("node")
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        foreach (var (name, value) in environment(port)) start.Environment[name] = value;
        var process = Process.Start(start) ?? throw new InvalidOperationException("node did not start");
        var peer = new NodeMcpPeer(process, port, path);
        process.OutputDataReceived += (_, e) => peer.Append(e.Data);
        process.ErrorDataReceived += (_, e) => peer.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!await AcceptsAsync(port))
        {
            if (process.HasExited || DateTime.UtcNow > deadline)
            {
                await peer.DisposeAsync();
                throw new InvalidOperationException($"node {string.Join(' ', arguments)} did not listen on {port}:\n{peer.Output}");
            }
            await Task.Delay(50);
        }
        return peer;
    }

    private void Append(string? line)
    {
        if (line is null) return;
        lock (_output) _output.AppendLine(line);
    }

    private static async Task<bool> AcceptsAsync(int port)
    {
        using var client = new TcpClient();
        try
        {
            await client.ConnectAsync(IPAddress.Loopback, port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    /// <summary>tests/peers of this checkout, found upwards from the test assembly; it must have been installed.</summary>
    private static string PeersDirectory()
    {
        var peers = Repository.PathOf("tests", "peers");
        return Directory.Exists(Path.Combine(peers, "node_modules"))
            ? peers
            : throw new InvalidOperationException($"The MCP test peers are not installed: run `npm ci --prefix {peers}` (build/test.sh does).");
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }
}
