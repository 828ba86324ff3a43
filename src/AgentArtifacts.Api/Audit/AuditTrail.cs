using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using AgentArtifacts.Api.Artifacts;
using AgentArtifacts.Api.Events;
using JasperFx.Events;
using Marten;
using Npgsql;

namespace AgentArtifacts.Api.Audit;

/// <summary>One entry of the audit log: a public event, with what it changed.</summary>
/// <param name="Sequence">The event's position in the global log (the cursor pages by it; <c>GET /artifacts/{id}?asOf=</c> takes it).</param>
/// <param name="Time">When it happened (ISO 8601, UTC).</param>
/// <param name="Action">What happened: the public event type (e.g. <c>artifact.updated</c>, <c>grant.issued</c>).</param>
/// <param name="Actor">Who did it, and with which credential (an API key or a server credential).</param>
/// <param name="ResourceType">The kind of resource it happened to (<c>artifact</c>, <c>commit</c>, <c>run</c>, <c>grant</c>, …).</param>
/// <param name="ResourceId">The resource it happened to.</param>
/// <param name="ContainerId">The workspace or collection it happened in, at the time; null when none.</param>
/// <param name="ContentType">The content type of the artifact concerned; null when none.</param>
/// <param name="TraceId">The W3C trace id of the request that did it (as in the service's logs and problems), when recorded.</param>
/// <param name="Before">For a change to an artifact: the fields it changed, as they were before (<c>title</c>, <c>description</c>, <c>tags</c>, <c>context</c>, <c>content</c>, <c>containerId</c>, <c>state</c>, <c>revision</c>, <c>targetCollectionIds</c>); null for a creation and for events of other resources. Values that may hold secrets (header values, passwords, tokens, keys in <c>context</c>) read <c>[redacted]</c>.</param>
/// <param name="After">The same fields after the event (for a creation: all of them); null for events of other resources.</param>
/// <param name="Data">The public event's payload (see the event catalogue): ids and what changed, never secrets.</param>
public sealed record AuditEntry(long Sequence, DateTimeOffset Time, string Action, EventActor Actor, string ResourceType, Guid ResourceId,
    Guid? ContainerId, string? ContentType, string? TraceId, JsonObject? Before, JsonObject? After, object Data);

/// <summary>Which entries a caller may see: all (platform admins) or those inside the containers it administers.</summary>
public sealed record AuditScope(bool Everything, IReadOnlySet<Guid> Containers)
{
    public bool Covers(Guid? containerId) => Everything || containerId is { } c && Containers.Contains(c);

    /// <summary>The caller's scope; null when it may see nothing (the endpoint answers 403).</summary>
    public static async Task<AuditScope?> OfAsync(IQuerySession session, Caller caller, CancellationToken ct)
    {
        if (caller.IsPlatformAdmin) return new AuditScope(true, new HashSet<Guid>());
        // API keys and servers: admin is no key action, so they administer nothing (the route is closed to them anyway).
        if (caller.IsNarrowed) return null;
        var readable = (await session.ReadSetsAsync(caller, ct)).Readable;
        if (readable.Count == 0) return null;
        var containers = (await session.LoadManyAsync<Artifact>(ct, readable)).Where(a => a.IsContainer).ToList();
        var administered = (await session.PermittedAsync(containers, caller, Permission.Admin, ct)).Select(a => a.Id).ToHashSet();
        return administered.Count == 0 ? null : new AuditScope(false, administered);
    }
}

/// <summary>What to list: each filter that is set must hold.</summary>
public sealed record AuditFilter(Guid? Actor, Guid? ResourceId, Guid? ContainerId, EventTypeGlobs? Actions, DateTimeOffset? From, DateTimeOffset? To)
{
    public bool Matches(PublicEvent e) =>
        (Actor is not { } actor || e.Actor.UserId == actor || e.Actor.ApiKeyId == actor || e.Actor.ServerId == actor)
        && (ResourceId is not { } resource || e.ResourceId == resource)
        && (ContainerId is not { } container || e.ContainerId == container)
        && (Actions is null || Actions.Matches(e.Type))
        && (From is not { } from || e.Time >= from)
        && (To is not { } to || e.Time <= to);
}

/// <summary>
/// Event-type globs as clients write them (<c>artifact.*</c>, <c>grant.issued</c>, several comma-separated): <c>*</c> stands
/// for any run of characters. Each glob must match a type of the catalogue, so a typo is an error, not an empty answer.
/// </summary>
public sealed partial class EventTypeGlobs
{
    private readonly IReadOnlyList<Regex> _globs;
    private EventTypeGlobs(IReadOnlyList<Regex> globs) => _globs = globs;

    public bool Matches(string type) => _globs.Any(g => g.IsMatch(type));

    /// <summary>The globs, or the problem: <c>invalid_event_type_glob</c> (not a glob) or <c>unknown_event_type</c> (matches no type).</summary>
    public static (EventTypeGlobs? Globs, IResult? Problem) Parse(string text, string field)
    {
        var globs = new List<Regex>();
        foreach (var glob in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (!GlobShape().IsMatch(glob))
                return (null, Problems.Invalid(field, $"'{glob}' is not an event-type glob (lower-case letters, digits, '_', '.', and '*').", "invalid_event_type_glob"));
            var regex = new Regex("^" + Regex.Escape(glob).Replace("\\*", ".*", StringComparison.Ordinal) + "$", RegexOptions.CultureInvariant);
            if (!PublicEvents.Catalogue.Keys.Any(regex.IsMatch))
                return (null, Problems.Invalid(field, $"'{glob}' matches no event type of the catalogue (docs/events.md).", "unknown_event_type"));
            globs.Add(regex);
        }
        return globs.Count == 0 ? (null, Problems.Invalid(field, "Name at least one event type or glob.", "invalid_event_type_glob")) : (new EventTypeGlobs(globs), null);
    }

    [GeneratedRegex("^[a-z0-9_.*]{1,100}$")]
    private static partial Regex GlobShape();
}

/// <summary>
/// Reads the audit log from the event log, in global order, through the one public-event mapping: a batch of raw events at a
/// time, so an export of any length holds one batch in memory. Reads only up to the daemon's high-water mark, below which no
/// transaction can still commit an event: a cursor never skips an event that committed late.
/// </summary>
public static class AuditTrail
{
    public const int BatchSize = 500;

    /// <summary>The position up to which the log is complete (Marten's high-water mark).</summary>
    public static async Task<long> SafeHeadAsync(NpgsqlDataSource db, IQuerySession session, CancellationToken ct)
    {
        await using var command = db.CreateCommand(
            $"select coalesce(max(last_seq_id), 0) from {session.DocumentStore.Options.Events.DatabaseSchemaName}.mt_event_progression where name = 'HighWaterMark'");
        return (long)(await command.ExecuteScalarAsync(ct))!;
    }

    /// <summary>One batch after <paramref name="after"/> (up to <paramref name="ceiling"/>): the entries in scope that match, and how far it read.</summary>
    public static async Task<(IReadOnlyList<AuditEntry> Entries, long ReadTo, bool End)> ReadBatchAsync(IQuerySession session, AuditScope scope,
        AuditFilter filter, long after, long ceiling, CancellationToken ct)
    {
        var query = session.Events.QueryAllRawEvents().Where(e => e.Sequence > after && e.Sequence <= ceiling);
        if (filter.From is { } from) query = query.Where(e => e.Timestamp >= from);
        if (filter.To is { } to) query = query.Where(e => e.Timestamp <= to);
        var raw = await query.OrderBy(e => e.Sequence).Take(BatchSize).ToListAsync(ct);
        if (raw.Count == 0) return ([], ceiling, true);

        var events = (await session.ReadAsync(raw, ct)).Where(e => scope.Covers(e.ContainerId) && filter.Matches(e)).ToList();
        var changes = await ArtifactChanges.OfAsync(session, raw, events, ct);
        var entries = events.Select(e =>
        {
            var change = changes.GetValueOrDefault(e.Sequence);
            return new AuditEntry(e.Sequence, e.Time, e.Type, e.Actor, e.ResourceType, e.ResourceId, e.ContainerId, e.ContentType, e.TraceId,
                change?.Before, change?.After, e.Data);
        }).ToList();
        return (entries, raw[^1].Sequence, raw.Count < BatchSize);
    }
}

/// <summary>
/// Before and after of the fields an artifact event changed. The artifact is folded up to each event by the same Apply methods
/// that keep its head, from the events of its stream (one query per batch for all its artifacts), and the two states compared.
/// </summary>
public static partial class ArtifactChanges
{
    public sealed record Change(JsonObject? Before, JsonObject After);

    public static async Task<IReadOnlyDictionary<long, Change>> OfAsync(IQuerySession session, IReadOnlyList<IEvent> raw, IReadOnlyList<PublicEvent> entries,
        CancellationToken ct)
    {
        var wanted = entries.Where(e => e.ResourceType == ResourceTypes.Artifact).Select(e => e.Sequence).ToHashSet();
        var streams = raw.Where(e => wanted.Contains(e.Sequence)).Select(e => e.StreamId).Distinct().ToArray();
        if (streams.Length == 0) return new Dictionary<long, Change>();
        var last = raw.Where(e => wanted.Contains(e.Sequence)).Max(e => e.Sequence);
        var history = await session.Events.QueryAllRawEvents()
            .Where(e => e.StreamId.IsOneOf(streams) && e.Sequence <= last).OrderBy(e => e.Sequence).ToListAsync(ct);

        var changes = new Dictionary<long, Change>();
        var heads = new Dictionary<Guid, Artifact?>();
        foreach (var e in history)
        {
            var before = heads.GetValueOrDefault(e.StreamId);
            var beforeFields = before is null ? null : Fields(before);
            var after = Fold(before, e);
            heads[e.StreamId] = after;
            if (!wanted.Contains(e.Sequence) || after is null) continue;
            var afterFields = Fields(after);
            changes[e.Sequence] = beforeFields is null ? new Change(null, afterFields) : Diff(beforeFields, afterFields);
        }
        return changes;
    }

    /// <summary>The artifact after the event, by the write model's own rules.</summary>
    private static Artifact? Fold(Artifact? artifact, IEvent e)
    {
        switch (e)
        {
            case IEvent<ArtifactCreated> created: return Artifact.Create(created);
            case IEvent<ArtifactCheckedOut> checkedOut: return Artifact.Create(checkedOut);
        }
        if (artifact is null) return null;
        switch (e)
        {
            case IEvent<ArtifactRetitled> x: artifact.Apply(x); break;
            case IEvent<ArtifactDescribed> x: artifact.Apply(x); break;
            case IEvent<ArtifactRetagged> x: artifact.Apply(x); break;
            case IEvent<ArtifactContextChanged> x: artifact.Apply(x); break;
            case IEvent<ArtifactContentRevised> x: artifact.Apply(x); break;
            case IEvent<ArtifactMoved> x: artifact.Apply(x); break;
            case IEvent<WorkspaceTargetsChanged> x: artifact.Apply(x); break;
            case IEvent<ArtifactArchived> x: artifact.Apply(x); break;
            case IEvent<ArtifactRestored> x: artifact.Apply(x); break;
            case IEvent<ArtifactCommitted> x: artifact.Apply(x); break;
            case IEvent<ArtifactReverted> x: artifact.Apply(x); break;
        }
        return artifact;
    }

    private static JsonObject Fields(Artifact a) => new()
    {
        ["title"] = a.Title,
        ["description"] = a.Description,
        ["tags"] = new JsonArray([.. a.Tags.Select(t => (JsonNode?)JsonValue.Create(t))]),
        ["context"] = Redact(a.Context.DeepClone()),
        ["content"] = a.Content,
        ["containerId"] = a.ContainerId is { } c ? JsonValue.Create(c) : null,
        ["state"] = JsonNamingPolicy.SnakeCaseLower.ConvertName(a.State.ToString()),
        ["revision"] = a.Revision,
        ["targetCollectionIds"] = new JsonArray([.. a.TargetCollectionIds.Select(t => (JsonNode?)JsonValue.Create(t))]),
    };

    private static Change Diff(JsonObject before, JsonObject after)
    {
        var changed = after.Select(p => p.Key).Where(k => !JsonNode.DeepEquals(before[k], after[k])).ToList();
        return new Change(new JsonObject(changed.Select(k => KeyValuePair.Create(k, before[k]?.DeepClone()))),
            new JsonObject(changed.Select(k => KeyValuePair.Create(k, after[k]?.DeepClone()))));
    }

    public const string Redacted = "[redacted]";

    /// <summary>
    /// Context values that may hold credentials: every value under a <c>headers</c> object (a tool's or an MCP server's
    /// request headers may carry a literal token), and members named like a password, secret, token or key.
    /// </summary>
    public static JsonNode? Redact(JsonNode? node, bool secretByParent = false)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var (name, value) in o.ToList())
                {
                    var secret = secretByParent || Sensitive().IsMatch(name);
                    o[name] = name.Equals("headers", StringComparison.OrdinalIgnoreCase) ? RedactAll(value) : Redact(value, secret)?.DeepClone();
                }
                return o;
            case JsonArray a:
                for (var i = 0; i < a.Count; i++) a[i] = Redact(a[i], secretByParent)?.DeepClone();
                return a;
            case JsonValue when secretByParent:
                return JsonValue.Create(Redacted);
            default:
                return node;
        }
    }

    private static JsonNode? RedactAll(JsonNode? node) => node switch
    {
        JsonObject o => new JsonObject(o.Select(p => KeyValuePair.Create(p.Key, (JsonNode?)JsonValue.Create(Redacted)))),
        null => null,
        _ => JsonValue.Create(Redacted),
    };

    [GeneratedRegex("(password|passwd|secret|token|api[-_]?key|authorization|credential|private[-_]?key|cookie)", RegexOptions.IgnoreCase)]
    private static partial Regex Sensitive();
}
