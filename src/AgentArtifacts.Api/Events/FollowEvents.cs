using System.Security.Claims;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using JasperFx.Events;
using Marten;
using AgentArtifacts.Api.Search;

namespace AgentArtifacts.Api.Events;

/// <summary>What a feed delivers: the filters of <c>GET /events</c>, parsed.</summary>
public sealed record EventFilter(Guid? ContainerId, Guid? ArtifactId, IReadOnlyList<string> Types, string? ContentType)
{
    public bool Matches(PublicEvent e) =>
        (ContainerId is not { } container || e.ContainerId == container)
        && (ArtifactId is not { } artifact || Concerns(e, artifact))
        && (Types.Count == 0 || Types.Any(t => Glob.Matches(t, e.Type)))
        && (ContentType is not { } type || e.ContentType is { } has && Glob.Matches(type, has.ToLowerInvariant()));

    /// <summary>The event is about the artifact: it is the resource, or the run, approval or grant names it.</summary>
    private static bool Concerns(PublicEvent e, Guid artifact) => e.ResourceId == artifact || e.Data switch
    {
        ArtifactCommittedData c => c.LineId == artifact,
        RunRequestedData r => r.ArtifactId == artifact,
        RunStartedData r => r.ArtifactId == artifact,
        RunCompletedData r => r.ArtifactId == artifact,
        RunEndedData r => r.ArtifactId == artifact,
        ApprovalRequestedData a => a.ArtifactId == artifact,
        ApprovalDecidedData a => a.ArtifactId == artifact,
        GrantIssuedData g => g.ResourceId == artifact,
        GrantRevokedData g => g.ResourceId == artifact,
        InviteClaimedData g => g.ResourceId == artifact,
        _ => false,
    };
}

/// <summary>Globs over dotted names and content types: <c>*</c> matches any run of characters, nothing else is special.</summary>
public static partial class Glob
{
    public static bool Matches(string glob, string value) =>
        Regex.IsMatch(value, "^" + string.Join(".*", glob.Split('*').Select(Regex.Escape)) + "$", RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));

    [GeneratedRegex("^[a-z0-9_.*]{1,100}$")]
    public static partial Regex TypeGlob();
}

/// <summary>The last frame of a feed the service ends: why, and the <c>id:</c> to resume after.</summary>
/// <param name="Reason"><c>too_slow</c> (the client did not take what was sent in time) or <c>shutting_down</c> (this node is stopping).</param>
/// <param name="ResumeAfter">The last event delivered (or the position the feed started from): reconnect with it as <c>Last-Event-ID</c> or <c>after</c>.</param>
public sealed record FeedDisconnected(string Reason, long ResumeAfter);

public static class FollowEventsEndpoint
{
    private const int MaxTypes = 20;

    /// <summary>
    /// The event log as Server-Sent Events: every public event the caller may read, in log order, live. <c>id:</c> is the
    /// event's global sequence, <c>event:</c> its type, <c>data:</c> the public event as JSON (the <c>PublicEvent</c> schema;
    /// the catalogue of types and payloads is in docs/events.md). Resume with the <c>Last-Event-ID</c> header (or
    /// <c>after</c>): the stream continues exactly after that event, on any node, with nothing skipped or repeated. Without
    /// either it starts at the present. Visibility is decided as each event is delivered, so a revoked grant stops that
    /// resource's events at once. A comment line is sent as a heartbeat while nothing happens (every 15 s by default). A
    /// client too slow to take what is sent gets a last <c>disconnected</c> event (<c>FeedDisconnected</c>: its <c>id:</c> and
    /// <c>resumeAfter</c> say where to resume) and the stream ends; so does every stream of a node that stops. One principal
    /// may hold a few feeds open at once (429 <c>too_many_feeds</c> beyond).
    /// </summary>
    /// <param name="after">Start after this sequence (the <c>id:</c> of an event this feed sent, a non-negative integer); the <c>Last-Event-ID</c> header wins when both are sent. From now when neither is.</param>
    /// <param name="containerId">Only events in this workspace or collection (<c>containerId</c> of the event).</param>
    /// <param name="artifactId">Only events about this artifact: its own, and its runs', approvals' and grants'.</param>
    /// <param name="types">Only these types: a comma-separated list of names or globs, e.g. <c>artifact.*,run.completed</c>. Each must match a type of the catalogue.</param>
    /// <param name="contentType">Only events about artifacts of this content type, or a wildcard such as <c>text/*</c> or <c>application/vnd.*+json</c>.</param>
    [WolverineGet("/events", OperationId = "followEvents"), Tags("Events")]
    [KeyScope("read")]
    [ProducesResponseType(typeof(string), 200, EventFeed.ContentType), ProducesResponseType(400), ProducesResponseType(429)]
    public static async Task<IResult> Get(long? after, Guid? containerId, Guid? artifactId, string? types, string? contentType, ClaimsPrincipal principal,
        HttpContext http, IQuerySession session, FeedConnections connections, EventFeedOptions options, CancellationToken ct)
    {
        var header = http.Request.Headers["Last-Event-ID"].ToString();
        var start = after;
        if (header.Length > 0)
        {
            if (!long.TryParse(header, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var fromHeader))
            {
                return Problems.Invalid("Last-Event-ID", "Last-Event-ID is the id: of an event this feed sent, a non-negative integer.", "invalid_last_event_id");
            }
            start = fromHeader;
        }
        if (start < 0) return Problems.Invalid("after", "after is the id: of an event this feed sent, a non-negative integer.", "invalid_after");

        var globs = (types ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Distinct().ToList();
        if (globs.Count > MaxTypes) return Problems.Invalid("types", $"At most {MaxTypes} types or globs.", "too_many_types");
        foreach (var glob in globs)
        {
            if (!Glob.TypeGlob().IsMatch(glob) || !PublicEvents.Catalogue.Keys.Any(t => Glob.Matches(glob, t)))
            {
                return Problems.Invalid("types", $"'{Clip(glob)}' names no event type; see the catalogue (e.g. artifact.created, artifact.*, run.*).", "unknown_event_type");
            }
        }
        if (contentType is not null && TypeFilter.TryCreate(contentType.Trim()) is null)
        {
            return Problems.Invalid("contentType", "contentType is a content type, or a wildcard such as text/* or application/vnd.*+json.", "invalid_content_type");
        }

        var head = await EventFeed.HeadAsync(session, ct);
        if (start > head.Committed)
        {
            return Problems.Invalid(header.Length > 0 ? "Last-Event-ID" : "after",
                $"There is no event {start} yet: the log's newest is {head.Committed}.", "after_beyond_head");
        }

        var caller = Caller.From(principal);
        if (!connections.TryOpen(caller.Id, options.MaxConnectionsPerPrincipal))
        {
            http.Response.Headers.RetryAfter = "5";
            return Problems.Result(429, "too_many_feeds",
                $"You already hold {options.MaxConnectionsPerPrincipal} event feeds open on this node; close one first.");
        }
        var filter = new EventFilter(containerId, artifactId, globs, contentType?.Trim().ToLowerInvariant());
        // Without a position, "now" is the newest event that is safe to start after (nothing below it can still appear).
        return new EventFeed(caller, start ?? head.Safe, filter);
    }

    private static string Clip(string value) => value.Length <= 40 ? value : value[..40] + "…";
}

/// <summary>
/// Writes the feed. Reads the log only up to Marten's high-water mark — the sequence below which no transaction can still
/// commit an event — so an event committed late by a slower transaction is never skipped; wakes on the nodes' append signal.
/// </summary>
public sealed class EventFeed(Caller caller, long after, EventFilter filter) : IResult
{
    public const string ContentType = "text/event-stream";

    /// <summary>The newest committed event, and the safe position (Marten's high-water mark, never above the newest).</summary>
    public sealed record Head(long Committed, long Safe);

    public static async Task<Head> HeadAsync(IQuerySession session, CancellationToken ct)
    {
        var schema = session.DocumentStore.Options.DatabaseSchemaName;
        var rows = await session.AdvancedSql.QueryAsync<long>(
            $"""
             select coalesce((select max(seq_id) from {schema}.mt_events), 0)
             union all
             select coalesce((select last_seq_id from {schema}.mt_event_progression where name = 'HighWaterMark'), 0)
             """, ct);
        return new Head(rows[0], Math.Min(rows[0], rows[1]));
    }

    public async Task ExecuteAsync(HttpContext http)
    {
        var services = http.RequestServices;
        var store = services.GetRequiredService<IDocumentStore>();
        var appends = services.GetRequiredService<EventAppends>();
        var options = services.GetRequiredService<EventFeedOptions>();
        var connections = services.GetRequiredService<FeedConnections>();
        var stopping = services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted, stopping);
        var ct = cancel.Token;

        http.Response.ContentType = ContentType;
        http.Response.Headers.CacheControl = "no-cache";
        http.Response.Headers["X-Accel-Buffering"] = "no";
        var position = after;
        try
        {
            await http.Response.Body.FlushAsync(ct);
            var quietSince = DateTime.UtcNow;
            while (!ct.IsCancellationRequested)
            {
                var signal = appends.Next;  // taken before reading: an append after the read still wakes us
                Head head;
                await using (var session = store.QuerySession())
                {
                    head = await HeadAsync(session, ct);
                    while (position < head.Safe)
                    {
                        var page = await session.Events.QueryAllRawEvents()
                            .Where(e => e.Sequence > position && e.Sequence <= head.Safe)
                            .OrderBy(e => e.Sequence).Take(options.PageSize).ToListAsync(ct);
                        var delivered = await DeliverableAsync(session, page, ct);
                        var frames = new StringBuilder();
                        foreach (var e in delivered) frames.Append(Frame(e.Sequence, e.Type, e));
                        // Past a page with nothing for this client too: the next read starts after it.
                        var through = page.Count < options.PageSize ? head.Safe : page[^1].Sequence;
                        if (frames.Length > 0)
                        {
                            await http.Response.WriteAsync(frames.ToString(), ct);
                            if (!await FlushedInTimeAsync(http, options.WriteTimeout, ct))
                            {
                                await EndAsync(http, "too_slow", delivered[^1].Sequence);
                                return;
                            }
                            quietSince = DateTime.UtcNow;
                            position = delivered[^1].Sequence;
                        }
                        position = Math.Max(position, through);
                    }
                }

                var untilHeartbeat = options.Heartbeat - (DateTime.UtcNow - quietSince);
                if (untilHeartbeat <= TimeSpan.Zero)
                {
                    await http.Response.WriteAsync(": heartbeat\n\n", ct);
                    if (!await FlushedInTimeAsync(http, options.WriteTimeout, ct))
                    {
                        await EndAsync(http, "too_slow", position);
                        return;
                    }
                    quietSince = DateTime.UtcNow;
                    untilHeartbeat = options.Heartbeat;
                }
                // Committed events the high-water mark has not passed yet: look again shortly (the daemon is woken by the same
                // signal). Otherwise sleep until the next append or the next heartbeat.
                var wait = head.Committed > head.Safe && options.SafePositionPoll < untilHeartbeat ? options.SafePositionPoll : untilHeartbeat;
                await Task.WhenAny(signal, Task.Delay(wait, ct));
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            if (stopping.IsCancellationRequested && !http.RequestAborted.IsCancellationRequested) await EndAsync(http, "shutting_down", position);
        }
        finally
        {
            connections.Close(caller.Id);
        }
    }

    /// <summary>The page's public events this feed delivers: mapped, filtered, and visible to the caller now.</summary>
    private async Task<IReadOnlyList<PublicEvent>> DeliverableAsync(IQuerySession session, IReadOnlyList<IEvent> page, CancellationToken ct)
    {
        if (page.Count == 0) return [];
        var matching = (await session.ReadAsync(page, ct)).Where(filter.Matches).ToList();
        return await session.VisibleAsync(caller, matching, ct);
    }

    /// <summary>False when the client did not take what was written within the timeout.</summary>
    private static async Task<bool> FlushedInTimeAsync(HttpContext http, TimeSpan timeout, CancellationToken ct)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(timeout);
        try
        {
            var result = await http.Response.BodyWriter.FlushAsync(deadline.Token);
            return !result.IsCanceled;
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return false;
        }
    }

    /// <summary>The last frame: why the stream ends and where to resume. Written behind whatever the client has not taken yet.</summary>
    private static async Task EndAsync(HttpContext http, string reason, long resumeAfter)
    {
        var frame = Frame(resumeAfter, "disconnected", new FeedDisconnected(reason, resumeAfter));
        try
        {
            await http.Response.WriteAsync(frame, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(1));
        }
        catch (Exception e) when (e is TimeoutException or OperationCanceledException or IOException or InvalidOperationException)
        {
            // the connection is gone or stuck: it ends either way
        }
    }

    public static string Frame(long id, string type, object data) =>
        $"id: {id}\nevent: {type}\ndata: {JsonSerializer.Serialize(data, data.GetType(), WolverineHttpSetup.Json)}\n\n";
}
