using System.Collections.Concurrent;
using System.ComponentModel;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace AgentArtifacts.Api.Tests.Runs;

/// <summary>
/// A real MCP server for invoke tests: Kestrel at a free loopback port with the SDK's Streamable HTTP transport at <c>/mcp</c>,
/// the far end of an MCP tool. It records the <c>X-Api-Key</c> header of every request it receives.
/// </summary>
public sealed class McpPeer : IAsyncDisposable
{
    private readonly WebApplication _app;
    public ConcurrentQueue<string> ApiKeys { get; } = new();
    public int ToolCalls;

    private McpPeer(WebApplication app) => _app = app;

    public Uri Url => _app.Url("/mcp");

    public static async Task<McpPeer> StartAsync()
    {
        var builder = LoopbackPeer.CreateBuilder();
        builder.Services.AddHttpContextAccessor();
        builder.Services.AddSingleton<PeerState>();
        // Stateless: every request stands alone, so a tool sees the HTTP request that carried its call.
        builder.Services.AddMcpServer().WithHttpTransport(o => o.Stateless = true).WithTools<PeerTools>().WithPrompts<PeerPrompts>();
        var app = builder.Build();
        var peer = new McpPeer(app);
        app.Services.GetRequiredService<PeerState>().Peer = peer;
        app.Use((context, next) =>
        {
            peer.ApiKeys.Enqueue(context.Request.Headers["X-Api-Key"].ToString());
            return next(context);
        });
        app.MapMcp("/mcp");
        await app.StartAsync();
        return peer;
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();

    /// <summary>A loopback URL where nothing listens (the port was free a moment ago).</summary>
    public static Uri ClosedUrl()
    {
        var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return new Uri($"http://127.0.0.1:{port}/mcp");
    }
}

internal sealed class PeerState
{
    public McpPeer? Peer { get; set; }
}

[McpServerToolType]
internal sealed class PeerTools
{
    [McpServerTool(Name = "add"), Description("Adds two integers.")]
    public static int Add(PeerState state, [Description("The first addend.")] int a, [Description("The second addend.")] int b)
    {
        Interlocked.Increment(ref state.Peer!.ToolCalls);
        return a + b;
    }

    [McpServerTool(Name = "whoami"), Description("Answers with the X-Api-Key header the call arrived with.")]
    public static string WhoAmI(IHttpContextAccessor http) => $"key={http.HttpContext?.Request.Headers["X-Api-Key"]}";

    [McpServerTool(Name = "fail"), Description("Always reports a tool error.")]
    public static CallToolResult Fail() => new() { IsError = true, Content = [new TextContentBlock { Text = "the disk is full" }] };

    [McpServerTool(Name = "slow"), Description("Answers after five seconds.")]
    public static async Task<string> Slow(CancellationToken ct)
    {
        await Task.Delay(TimeSpan.FromSeconds(5), ct);
        return "late";
    }
}

[McpServerPromptType]
internal sealed class PeerPrompts
{
    [McpServerPrompt(Name = "summarize"), Description("Asks for a summary of a text.")]
    public static string Summarize([Description("What to summarize.")] string text, [Description("How many words at most.")] string? words = null) =>
        $"Summarize in at most {words} words: {text}";
}
