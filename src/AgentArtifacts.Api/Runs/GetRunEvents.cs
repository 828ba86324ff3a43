using System.Security.Claims;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using JasperFx.Events;
using Marten;

namespace AgentArtifacts.Api.Runs;

public static class GetRunEventsEndpoint
{
    /// <summary>
    /// The run's events as Server-Sent Events, from the start or after <c>Last-Event-ID</c> (header, or <c>lastEventId</c> in
    /// the query for clients that cannot set it). <c>id:</c> is the event's sequence in the run stream, <c>event:</c> its name
    /// (<c>run.requested</c>, <c>run.started</c>, …), <c>data:</c> its JSON. The stream ends after a terminal event:
    /// <c>run.completed</c>, <c>run.failed</c>, <c>run.cancelled</c>, <c>run.rejected</c> or <c>run.expired</c>. A comment line is sent as a
    /// heartbeat every <c>Runs:HeartbeatSeconds</c> (15) while nothing happens. Visible as <c>GET /runs/{id}</c> is.
    /// </summary>
    /// <param name="lastEventId">Send only the events after this <c>id:</c> (a non-negative integer), for clients that cannot set the Last-Event-ID header; the header wins when both are sent. From the start when left out.</param>
    [WolverineGet("/runs/{id}/events", OperationId = "streamRunEvents"), Tags("Runs")]
    [KeyScope("read")]
    [ProducesResponseType(typeof(string), 200, RunEventStream.ContentType), ProducesResponseType(400), ProducesResponseType(404)]
    public static async Task<IResult> Get(Guid id, long? lastEventId, ClaimsPrincipal principal, HttpContext http, IQuerySession session,
        CancellationToken ct)
    {
        var header = http.Request.Headers["Last-Event-ID"].ToString();
        long after = lastEventId ?? 0;
        if (header.Length > 0 && !long.TryParse(header, out after) || after < 0)
        {
            return Problems.Invalid("Last-Event-ID", "Last-Event-ID is the id: of an event this stream sent, a non-negative integer.", "invalid_last_event_id");
        }
        return (await session.AuthorizeRunAsync(id, Caller.From(principal), Permission.Read, ct)).Problem ?? new RunEventStream(id, after, null);
    }
}

/// <summary>Writes a run's events as <c>text/event-stream</c>, waking on the run's signals and polling as a fallback.</summary>
public sealed class RunEventStream(Guid runId, long after, string? location) : IResult
{
    public const string ContentType = "text/event-stream";
    private static readonly HashSet<string> Terminal = ["run.completed", "run.failed", "run.cancelled", "run.rejected", "run.expired"];
    private static readonly TimeSpan Poll = TimeSpan.FromSeconds(2);

    public async Task ExecuteAsync(HttpContext http)
    {
        var services = http.RequestServices;
        var store = services.GetRequiredService<IDocumentStore>();
        var signals = services.GetRequiredService<RunSignals>();
        var heartbeat = TimeSpan.FromSeconds(services.GetRequiredService<IConfiguration>().GetValue("Runs:HeartbeatSeconds", 15.0));
        var ct = http.RequestAborted;

        http.Response.ContentType = ContentType;
        http.Response.Headers.CacheControl = "no-cache";
        http.Response.Headers["X-Accel-Buffering"] = "no";
        if (location is not null)
        {
            http.Response.Headers.Location = location;
            // Where this stream can be read again: an Idempotency-Key replay of the invoke redirects there (303).
            http.Response.Headers.ContentLocation = $"{location}/events";
        }
        await http.Response.Body.FlushAsync(ct);

        var quietSince = DateTime.UtcNow;
        try
        {
            while (!ct.IsCancellationRequested)
            {
                var changed = signals.Changed(runId);  // registered before reading: no event can slip between
                await using (var session = store.QuerySession())
                {
                    foreach (var e in await session.Events.FetchStreamAsync(runId, fromVersion: after + 1, token: ct))
                    {
                        var name = Name(e);
                        await http.Response.WriteAsync(Frame(e.Version, name, e.Data), ct);
                        after = e.Version;
                        quietSince = DateTime.UtcNow;
                        if (Terminal.Contains(name))
                        {
                            await http.Response.Body.FlushAsync(ct);
                            return;
                        }
                    }
                }
                await http.Response.Body.FlushAsync(ct);

                var untilHeartbeat = heartbeat - (DateTime.UtcNow - quietSince);
                if (untilHeartbeat <= TimeSpan.Zero)
                {
                    await http.Response.WriteAsync(": heartbeat\n\n", ct);
                    await http.Response.Body.FlushAsync(ct);
                    quietSince = DateTime.UtcNow;
                    untilHeartbeat = heartbeat;
                }
                await Task.WhenAny(changed, Task.Delay(untilHeartbeat < Poll ? untilHeartbeat : Poll, ct));
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // the client went away
        }
    }

    /// <summary><c>run_output_delta</c> (Marten's event type name) as <c>run.output_delta</c>.</summary>
    public static string Name(IEvent e) => e.EventTypeName.StartsWith("run_", StringComparison.Ordinal) ? "run." + e.EventTypeName[4..] : e.EventTypeName;

    public static string Frame(long id, string name, object data)
    {
        var node = JsonSerializer.SerializeToNode(data, data.GetType(), WolverineHttpSetup.Json);
        if (node is JsonObject fields && fields["caller"] is JsonObject caller)
        {
            fields.Remove("caller");  // who the run acts as is the service's business; the caller's id is enough to show
            fields["callerId"] = caller["id"]?.DeepClone();
        }
        var json = node?.ToJsonString() ?? "null";
        return new StringBuilder().Append("id: ").Append(id).Append('\n').Append("event: ").Append(name).Append('\n')
            .Append("data: ").Append(json).Append("\n\n").ToString();
    }
}
