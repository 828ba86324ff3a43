using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using AgentArtifacts.Api.Tests.Runs;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace AgentArtifacts.Api.Tests.Nodes;

/// <summary>The far end of the HTTP tool the node test invokes: answers after a delay and records every call it receives.</summary>
public sealed class ToolPeer : IAsyncDisposable
{
    private readonly WebApplication _app;

    /// <summary>One call as received: the run's nonce from the input, and the Idempotency-Key header (null when absent).</summary>
    public sealed record Call(string Nonce, string? IdempotencyKey);

    public ConcurrentQueue<Call> Calls { get; } = new();

    private ToolPeer(WebApplication app) => _app = app;

    public Uri Url => _app.Url("/work");

    public static async Task<ToolPeer> StartAsync(TimeSpan delay)
    {
        var app = LoopbackPeer.CreateBuilder().Build();
        var peer = new ToolPeer(app);
        app.MapPost("/work", async (HttpRequest request) =>
        {
            var input = await JsonNode.ParseAsync(request.Body);
            var nonce = input?["nonce"]?.GetValue<string>() ?? "";
            peer.Calls.Enqueue(new Call(nonce, request.Headers.TryGetValue("Idempotency-Key", out var key) ? key.ToString() : null));
            await Task.Delay(delay);
            return Results.Json(new JsonObject { ["done"] = nonce });
        });
        await app.StartAsync();
        return peer;
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}
