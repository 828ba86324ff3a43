using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AgentArtifacts.Api.Tests.Runs;

/// <summary>A real HTTP server for invoke tests, on Kestrel at a free loopback port: the far end of an HTTP tool.</summary>
public sealed class HttpPeer : IAsyncDisposable
{
    private readonly WebApplication _app;
    public int Calls;

    private HttpPeer(WebApplication app) => _app = app;

    public Uri Url(string path) => new(new Uri(_app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()), path);

    /// <summary>The Authorization header of every call to <c>/echo</c>, as received.</summary>
    public readonly System.Collections.Concurrent.ConcurrentQueue<string> Authorizations = new();

    public static async Task<HttpPeer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var peer = new HttpPeer(app);
        app.MapPost("/echo", async (HttpRequest request) =>
        {
            Interlocked.Increment(ref peer.Calls);
            peer.Authorizations.Enqueue(request.Headers.Authorization.ToString());
            var input = await JsonNode.ParseAsync(request.Body);
            return Results.Json(new JsonObject { ["echo"] = input?.DeepClone(), ["auth"] = request.Headers.Authorization.ToString() });
        });
        app.MapPost("/fail", () => { Interlocked.Increment(ref peer.Calls); return Results.Text("boom", statusCode: 500); });
        app.MapPost("/slow", async () => { await Task.Delay(TimeSpan.FromSeconds(5)); return Results.Ok(); });
        app.MapPost("/big", () => Results.Text(new string('x', 2 << 20)));
        await app.StartAsync();
        return peer;
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}
