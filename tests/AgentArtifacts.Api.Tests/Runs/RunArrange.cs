using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json.Nodes;
using AgentArtifacts.Api.Tests.Infrastructure;
using Shouldly;

namespace AgentArtifacts.Api.Tests.Runs;

/// <summary>One Server-Sent Events frame: an event (id, name, data) or a comment line (a heartbeat).</summary>
public sealed record SseFrame(long? Id, string? Event, string? Data, string? Comment)
{
    public JsonObject Json => JsonNode.Parse(Data!)!.AsObject();
}

public static class RunArrange
{
    /// <summary>An HTTP tool whose endpoint is <paramref name="path"/> on the peer.</summary>
    public static async Task<Guid> HttpToolAsync(this TestUser user, HttpPeer peer, string path, Action<JsonObject>? context = null)
    {
        var fields = new JsonObject { ["endpoint"] = new JsonObject { ["url"] = peer.Url(path).ToString() } };
        context?.Invoke(fields);
        return (await user.ArtifactAsync(await user.WorkspaceAsync(), "Tool", contentType: "application/vnd.agience.http-tool+json", content: null,
            context: fields))["id"]!.GetValue<Guid>();
    }

    public static Task<HttpResponseMessage> InvokeAsync(this HttpClient client, Guid artifact, object? input, string mode = "sync", string? key = null) =>
        client.PostJson($"/artifacts/{artifact}/invoke", new { input, mode }, r => { if (key is not null) r.Headers.Add("Idempotency-Key", key); });

    /// <summary>Polls <c>GET /runs/{id}</c> until the run is in <paramref name="status"/> (fails after 30 s).</summary>
    public static async Task<JsonObject> WaitForRunAsync(this HttpClient client, Guid runId, string status)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var run = await (await client.GetAsync($"/runs/{runId}")).Json();
            if (run["status"]?.GetValue<string>() == status) return run;
            DateTime.UtcNow.ShouldBeLessThan(deadline, $"run {runId} is still {run["status"]}, not {status}");
            await Task.Delay(50);
        }
    }

    /// <summary>Sends a request asking for an event stream and returns as soon as the headers arrive.</summary>
    public static Task<HttpResponseMessage> OpenStreamAsync(this HttpClient client, HttpMethod method, string url, object? body = null,
        string? lastEventId = null, string? key = null)
    {
        var request = new HttpRequestMessage(method, url);
        if (body is not null) request.Content = new StringContent(System.Text.Json.JsonSerializer.Serialize(body, HttpExtensions.Web), Encoding.UTF8, "application/json");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        if (lastEventId is not null) request.Headers.Add("Last-Event-ID", lastEventId);
        if (key is not null) request.Headers.Add("Idempotency-Key", key);
        return client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
    }

    /// <summary>The frames of an event stream as they arrive, until the server ends it.</summary>
    public static async IAsyncEnumerable<SseFrame> FramesAsync(this HttpResponseMessage response, [EnumeratorCancellation] CancellationToken ct = default)
    {
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(ct));
        long? id = null;
        string? name = null;
        var data = new StringBuilder();
        while (await reader.ReadLineAsync(ct) is { } line)
        {
            if (line.Length == 0)
            {
                if (name is not null || data.Length > 0) yield return new SseFrame(id, name, data.ToString(), null);
                (id, name) = (null, null);
                data.Clear();
            }
            else if (line.StartsWith(':')) yield return new SseFrame(null, null, null, line[1..].Trim());
            else if (line.StartsWith("id: ")) id = long.Parse(line[4..]);
            else if (line.StartsWith("event: ")) name = line[7..];
            else if (line.StartsWith("data: ")) data.Append(line[6..]);
        }
    }

    /// <summary>Every event frame until the stream ends (comments left out); fails if it has not ended within 30 s.</summary>
    public static async Task<List<SseFrame>> EventsToEndAsync(this HttpResponseMessage response)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var frames = new List<SseFrame>();
        await foreach (var frame in response.FramesAsync(timeout.Token)) if (frame.Comment is null) frames.Add(frame);
        return frames;
    }

    /// <summary>The names of the run's events in the event store, in order.</summary>
    public static async Task<List<string>> RunEventNamesAsync(this Marten.IDocumentStore store, Guid runId)
    {
        await using var session = store.QuerySession();
        return (await session.Events.FetchStreamAsync(runId)).Select(e => e.EventTypeName).ToList();
    }
}
