using System.Globalization;
using System.Security.Claims;
using System.Text;
using System.Text.Json;
using Marten;
using Npgsql;

namespace AgentArtifacts.Api.Audit;

public static class GetAuditLogsEndpoint
{
    public const string NdJson = "application/x-ndjson";
    public const string Csv = "text/csv";

    /// <summary>
    /// The audit log: who did what, when, to which resource, with which credential, oldest first. Each entry is a public event
    /// (its type is the action) with, for a change to an artifact, the changed fields before and after (values that may hold
    /// secrets redacted). Platform admins see every entry; the admins of a workspace or collection see what happened inside it;
    /// everybody else, API keys and servers included, gets 403. With <c>Accept: application/x-ndjson</c> (one entry per line)
    /// or <c>text/csv</c> the answer is an export of every matching entry after <c>cursor</c>, streamed, not paged.
    /// </summary>
    /// <param name="actor">Only entries by this principal: a user (also through their API keys), an API key, or a server credential.</param>
    /// <param name="resourceId">Only entries about this resource (an artifact, workspace, collection, commit, run, grant, …).</param>
    /// <param name="containerId">Only entries that happened inside this workspace or collection.</param>
    /// <param name="action">Only these actions: event types or globs, comma-separated (e.g. <c>artifact.*,grant.issued</c>); each must match a type of the event catalogue (400 <c>unknown_event_type</c>).</param>
    /// <param name="from">Only entries at or after this time (RFC 3339).</param>
    /// <param name="to">Only entries at or before this time (RFC 3339); before <c>from</c> is 400 <c>invalid_time_range</c>.</param>
    [ReadsProjections(EventLog = true)]
    [WolverineGet("/audit-logs", OperationId = "listAuditLogs"), Tags("Audit")]
    [ProducesResponseType<Page<AuditEntry>>(200), ProducesResponseType(typeof(string), 200, NdJson, Csv),
     ProducesResponseType(400), ProducesResponseType(403)]
    public static async Task<IResult> Get(Guid? actor, Guid? resourceId, Guid? containerId, string? action, DateTimeOffset? from, DateTimeOffset? to,
        int? limit, string? cursor, ClaimsPrincipal principal, IQuerySession session, NpgsqlDataSource db, HttpContext http, CancellationToken ct)
    {
        if (Paging.TryRead<long>(limit, cursor, long.TryParse, out var take, out var after) is { } badPage) return badPage;
        if (from is { } start && to is { } end && end < start)
            return Problems.Invalid("to", "The range is inverted: to is before from.", "invalid_time_range");
        EventTypeGlobs? actions = null;
        if (action is not null && EventTypeGlobs.Parse(action, "action") is var (globs, badGlob))
        {
            if (badGlob is not null) return badGlob;
            actions = globs;
        }

        var scope = await AuditScope.OfAsync(session, Caller.From(principal), ct);
        if (scope is null)
            return Problems.Result(403, "permission_denied", "The audit log is for platform admins and for the admins of a workspace or collection.");
        if (containerId is { } container && !scope.Covers(container))
            return Problems.Result(403, "permission_denied", "Only the container's admins and platform admins read its audit log.");

        var filter = new AuditFilter(actor, resourceId, containerId, actions, from, to);
        var ceiling = await AuditTrail.SafeHeadAsync(db, session, ct);
        var accept = http.Request.Headers.Accept.ToString();
        if (accept.Contains(NdJson, StringComparison.OrdinalIgnoreCase)) return new Export(session, scope, filter, after, ceiling, NdJson);
        if (accept.Contains(Csv, StringComparison.OrdinalIgnoreCase)) return new Export(session, scope, filter, after, ceiling, Csv);

        // A page: batches until it holds limit entries, or a scan budget is spent (a sparse filter over a long log); then the
        // cursor says where reading stopped, and the page may hold fewer entries while nextCursor still leads on.
        var entries = new List<AuditEntry>();
        var readTo = after;
        for (var batches = 0; batches < 20; batches++)
        {
            var (batch, batchReadTo, batchEnd) = await AuditTrail.ReadBatchAsync(session, scope, filter, readTo, ceiling, ct);
            foreach (var entry in batch)
            {
                if (entries.Count == take) return Results.Ok(new Page<AuditEntry>(entries, Paging.Encode(Key(entries[^1].Sequence))));
                entries.Add(entry);
            }
            readTo = batchReadTo;
            if (batchEnd) return Results.Ok(new Page<AuditEntry>(entries, null));
        }
        return Results.Ok(new Page<AuditEntry>(entries, Paging.Encode(Key(readTo))));
    }

    private static string Key(long sequence) => sequence.ToString(CultureInfo.InvariantCulture);

    /// <summary>Every matching entry after the cursor, written a batch at a time as it is read.</summary>
    private sealed class Export(IQuerySession session, AuditScope scope, AuditFilter filter, long after, long ceiling, string contentType) : IResult
    {
        private static readonly string[] Columns = ["sequence", "time", "action", "actorType", "actorUserId", "actorApiKeyId", "actorServerId",
            "resourceType", "resourceId", "containerId", "contentType", "traceId", "before", "after", "data"];

        public async Task ExecuteAsync(HttpContext http)
        {
            var ct = http.RequestAborted;
            http.Response.ContentType = contentType + "; charset=utf-8";
            var output = http.Response.BodyWriter.AsStream();
            await using var writer = new StreamWriter(output, new UTF8Encoding(false), 16 * 1024, leaveOpen: true) { NewLine = "\n" };
            if (contentType == Csv) await writer.WriteLineAsync(string.Join(',', Columns));
            var readTo = after;
            while (true)
            {
                var (batch, batchReadTo, end) = await AuditTrail.ReadBatchAsync(session, scope, filter, readTo, ceiling, ct);
                foreach (var entry in batch) await writer.WriteLineAsync(contentType == Csv ? CsvLine(entry) : Json(entry));
                await writer.FlushAsync(ct);
                readTo = batchReadTo;
                if (end) break;
            }
        }

        private static string Json(object? value) => JsonSerializer.Serialize(value, WolverineHttpSetup.Json);

        private static string CsvLine(AuditEntry e) => string.Join(',', new[]
        {
            e.Sequence.ToString(CultureInfo.InvariantCulture), e.Time.UtcDateTime.ToString("O", CultureInfo.InvariantCulture), e.Action,
            e.Actor.Type, e.Actor.UserId?.ToString(), e.Actor.ApiKeyId?.ToString(), e.Actor.ServerId?.ToString(), e.ResourceType,
            e.ResourceId.ToString(), e.ContainerId?.ToString(), e.ContentType, e.TraceId,
            e.Before is null ? null : Json(e.Before), e.After is null ? null : Json(e.After), Json(e.Data),
        }.Select(Cell));

        /// <summary>RFC 4180: a cell with a comma, quote or line break is quoted, its quotes doubled.</summary>
        private static string Cell(string? value) =>
            value is null ? "" : value.AsSpan().IndexOfAny(",\"\r\n") < 0 ? value : "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
    }
}
