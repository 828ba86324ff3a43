using Marten;
using Microsoft.AspNetCore.Authorization;
using Npgsql;

namespace AgentArtifacts.Api.Health;

public sealed record Liveness(string Status);

public sealed record ProjectionLag(string Shard, long Sequence, long Lag);

/// <summary>Readiness: PostgreSQL answers, and the async projections (run by whichever node leads) are within the allowed lag.</summary>
public sealed record Readiness(string Status, string Postgres, long? HighWaterMark, IReadOnlyList<ProjectionLag> Projections, long MaxAllowedLag);

public static class HealthEndpoints
{
    /// <summary>The process is up.</summary>
    [AllowAnonymous]
    [WolverineGet("/health/live", OperationId = "getLiveness"), Tags("Health")]
    public static Liveness Live() => new("ok");

    /// <summary>Ready to serve: 200 when ready, 503 with the failing dependency otherwise.</summary>
    [AllowAnonymous]
    [WolverineGet("/health/ready", OperationId = "getReadiness"), Tags("Health")]
    [ProducesResponseType<Readiness>(200), ProducesResponseType<Readiness>(503)]
    public static async Task<IResult> Ready(NpgsqlDataSource db, IDocumentStore store, IConfiguration configuration, CancellationToken ct)
    {
        var maxLag = configuration.GetValue("Health:MaxProjectionLag", 10_000L);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(3));
        try
        {
            // The newest event's sequence, from the primary-key index: also the PostgreSQL ping. (Marten's event store
            // statistics count every event and stream, too costly for a probe that runs every few seconds.)
            await using var newest = db.CreateCommand("select coalesce(max(seq_id), 0) from agentartifacts.mt_events");
            var highWater = (long)(await newest.ExecuteScalarAsync(timeout.Token))!;
            var progress = (await store.Advanced.AllProjectionProgress(token: timeout.Token))
                .Where(s => s.ShardName != "HighWaterMark")
                .ToDictionary(s => s.ShardName, s => s.Sequence);
            // Every registered async shard, so one that has not written its progress row yet (a new projection) shows as lagging.
            foreach (var shard in store.Advanced.AllAsyncProjectionShardNames()) progress.TryAdd(shard.Identity, 0);
            var shards = progress.OrderBy(p => p.Key, StringComparer.Ordinal)
                .Select(p => new ProjectionLag(p.Key, p.Value, Math.Max(0, highWater - p.Value)))
                .ToList();
            // Before any event exists no shard has progress; with events, a projection with no progress row lags fully.
            var lagging = shards.Any(s => s.Lag > maxLag) || (shards.Count == 0 && highWater > maxLag);
            var readiness = new Readiness(lagging ? "projections_lagging" : "ready", "ok", highWater, shards, maxLag);
            return lagging ? Results.Json(readiness, statusCode: 503) : Results.Ok(readiness);
        }
        catch (Exception e) when (e is NpgsqlException or OperationCanceledException or TimeoutException)
        {
            return Results.Json(new Readiness("postgres_unavailable", e.GetType().Name, null, [], maxLag), statusCode: 503);
        }
    }
}
