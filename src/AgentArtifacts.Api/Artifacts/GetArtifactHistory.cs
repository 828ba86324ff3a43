using System.Security.Claims;
using System.Text.Json;
using Marten;

namespace AgentArtifacts.Api.Artifacts;

/// <summary>One event of an artifact's stream: what happened, when, by whom, and the event's data.</summary>
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
