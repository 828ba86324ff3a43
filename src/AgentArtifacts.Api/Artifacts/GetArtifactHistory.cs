using System.Security.Claims;
using System.Text.Json;
using Marten;

namespace AgentArtifacts.Api.Artifacts;

/// <summary>One event of an artifact's stream: what happened, when, by whom, and the event's data.</summary>
/// <param name="Version">The stream version the event made (1 for the first); <c>version</c> of the artifact after it.</param>
/// <param name="Event">The event's name, snake_case (e.g. <c>artifact_created</c>, <c>artifact_retitled</c>, <c>artifact_committed</c>).</param>
/// <param name="At">When it happened (ISO 8601, UTC).</param>
/// <param name="Actor">The id of the principal it was done by (a user, an API key's owner, or a server credential); null when the service did it itself.</param>
/// <param name="Data">The event's own fields (camelCase), which depend on <c>event</c>.</param>
public sealed record HistoryEntry(long Version, string Event, DateTimeOffset At, Guid? Actor, JsonElement Data);

public static class GetArtifactHistoryEndpoint
{
    /// <summary>The artifact's full event timeline, oldest first, paged by version.</summary>
    [KeyScope("read")]
    [WolverineGet("/artifacts/{id}/history", OperationId = "getArtifactHistory"), Tags("Artifacts")]
    [ProducesResponseType<Page<HistoryEntry>>(200), ProducesResponseType(400), ProducesResponseType(404)]
    public static async Task<IResult> Get(Guid id, int? limit, string? cursor, ClaimsPrincipal principal, IQuerySession session, CancellationToken ct)
    {
        if (Paging.TryRead<long>(limit, cursor, long.TryParse, out var take, out var after) is { } badPage) return badPage;
        if (await session.LoadVisibleAsync(id, Caller.From(principal), ct) is null) return Problems.NotFound("artifact");

        var events = await session.Events.QueryAllRawEvents()
            .Where(e => e.StreamId == id && e.Version > after)
            .OrderBy(e => e.Version)
            .Take(take + 1)
            .ToListAsync(ct);
        return Results.Ok(Paging.ToPage(events, take, e => e.Version.ToString(System.Globalization.CultureInfo.InvariantCulture),
            e => new HistoryEntry(e.Version, e.EventTypeName, e.Timestamp, Guid.TryParse(e.UserName, out var actor) ? actor : null,
                JsonSerializer.SerializeToElement(e.Data, e.EventType, WolverineHttpSetup.Json))));
    }
}
