using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace AgentArtifacts.Api.Tests.Runs;

/// <summary>A real HTTP server for invoke tests, on Kestrel at a free loopback port: the far end of an HTTP tool.</summary>
public sealed class HttpPeer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _held = new(TaskCreationOptions.RunContinuationsAsynchronously);
    public int Calls;
    /// <summary>How many more calls of <c>/flaky</c> answer 503 before it answers like <c>/echo</c>.</summary>
    public int FlakyFailures;
    /// <summary>Calls of <c>/hold</c> whose caller went away before it answered.</summary>
    public int Aborted;

    /// <summary>Completes when a call of <c>/hold</c> has arrived.</summary>
    public Task Held => _held.Task;

    /// <summary><c>/hold</c> answers from now on, the calls waiting included.</summary>
    public void Release() => _released.TrySetResult();

    private HttpPeer(WebApplication app) => _app = app;

    public Uri Url(string path) => _app.Url(path);

    /// <summary>The Idempotency-Key header of every call to <c>/hold</c>, as received.</summary>
    public readonly System.Collections.Concurrent.ConcurrentQueue<string> IdempotencyKeys = new();

    /// <summary>The Authorization header of every call to <c>/echo</c>, as received.</summary>
    public readonly System.Collections.Concurrent.ConcurrentQueue<string> Authorizations = new();

    public static async Task<HttpPeer> StartAsync()
    {
        var builder = LoopbackPeer.CreateBuilder();
        var app = builder.Build();
        var peer = new HttpPeer(app);
        app.MapPost("/echo", async (HttpRequest request) =>
        {
            Interlocked.Increment(ref peer.Calls);
            peer.Authorizations.Enqueue(request.Headers.Authorization.ToString());
            var input = await JsonNode.ParseAsync(request.Body);
            return Results.Json(new JsonObject { ["echo"] = input?.DeepClone(), ["auth"] = request.Headers.Authorization.ToString() });
        });
        app.MapPost("/flaky", async (HttpRequest request) =>
        {
            Interlocked.Increment(ref peer.Calls);
            if (Interlocked.Decrement(ref peer.FlakyFailures) >= 0) return Results.Text("try again", statusCode: 503);
            return Results.Json(new JsonObject { ["echo"] = (await JsonNode.ParseAsync(request.Body))?.DeepClone() });
        });
        app.MapPost("/status/{code:int}", (int code) => { Interlocked.Increment(ref peer.Calls); return Results.Text("no", statusCode: code); });
        app.MapPost("/hold", async (HttpContext context) =>
        {
            Interlocked.Increment(ref peer.Calls);
            peer.IdempotencyKeys.Enqueue(context.Request.Headers["Idempotency-Key"].ToString());
            peer._held.TrySetResult();
            try
            {
                await peer._released.Task.WaitAsync(context.RequestAborted);
            }
            catch (OperationCanceledException)
            {
                Interlocked.Increment(ref peer.Aborted);
                throw;
            }
            return Results.Json(new JsonObject { ["held"] = true });
        });
        app.MapGet("/schema.json", () => { Interlocked.Increment(ref peer.Calls); return Results.Json(new JsonObject { ["type"] = "object" }); });
        app.MapPost("/fail", () => { Interlocked.Increment(ref peer.Calls); return Results.Text("boom", statusCode: 500); });
        app.MapPost("/slow", async () => { await Task.Delay(TimeSpan.FromSeconds(5)); return Results.Ok(); });
        app.MapPost("/big", () => Results.Text(new string('x', 2 << 20)));
        await app.StartAsync();
        return peer;
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}
