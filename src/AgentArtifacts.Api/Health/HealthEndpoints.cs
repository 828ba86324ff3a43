using Marten;
using Microsoft.AspNetCore.Authorization;
using Npgsql;

namespace AgentArtifacts.Api.Health;

/// <summary>The process is up.</summary>
/// <param name="Status">Always <c>ok</c>.</param>
public sealed record Liveness(string Status);

/// <summary>How far one async projection (a read model such as listings or search) is behind the event store.</summary>
/// <param name="Shard">The projection shard's name.</param>
/// <param name="Sequence">The last event sequence it has processed.</param>
/// <param name="Lag">How many events it is behind the newest (0 when caught up).</param>
/// <param name="WaitingSeconds">How long the oldest event this shard has not yet processed has waited; null when caught up.</param>
/// <param name="Stalled">Behind, and neither advanced nor caught up for <c>Health:StalledProjectionSeconds</c>.</param>
public sealed record ProjectionLag(string Shard, long Sequence, long Lag, double? WaitingSeconds, bool Stalled);

/// <summary>
/// Readiness: PostgreSQL answers, the async projections (run by whichever node leads) are within the allowed lag, and some
/// node is advancing them.
/// </summary>
/// <param name="Status"><c>ready</c>, <c>postgres_unavailable</c>, <c>projections_lagging</c> or <c>projections_stalled</c>.</param>
/// <param name="Postgres"><c>ok</c> when PostgreSQL answered; otherwise the kind of error met.</param>
/// <param name="HighWaterMark">The newest event's sequence; null when PostgreSQL did not answer.</param>
/// <param name="Projections">Each async projection's progress (empty when PostgreSQL did not answer).</param>
/// <param name="MaxAllowedLag">The most events a projection may be behind while the service is ready (<c>Health:MaxProjectionLag</c>).</param>
/// <param name="StalledAfterSeconds">How long events may wait for a projection that does not advance before it counts as stalled (<c>Health:StalledProjectionSeconds</c>).</param>
public sealed record Readiness(string Status, string Postgres, long? HighWaterMark, IReadOnlyList<ProjectionLag> Projections, long MaxAllowedLag,
    int StalledAfterSeconds);

public static class HealthEndpoints
{
    /// <summary>The process is up.</summary>
    [AllowAnonymous]
    [WolverineGet("/health/live", OperationId = "getLiveness"), Tags("Health")]
    public static Liveness Live() => new("ok");

    /// <summary>
    /// Ready to serve: 200 when ready; 503 when PostgreSQL does not answer (<c>postgres_unavailable</c>), when a projection
    /// lags by more than <c>Health:MaxProjectionLag</c> events (<c>projections_lagging</c>), or when events have waited
    /// longer than <c>Health:StalledProjectionSeconds</c> for a projection that has not advanced in that time
    /// (<c>projections_stalled</c>: no node is running the projections, so listings and search are frozen).
    /// </summary>
    [AllowAnonymous]
    [WolverineGet("/health/ready", OperationId = "getReadiness"), Tags("Health")]
    [ProducesResponseType<Readiness>(200), ProducesResponseType<Readiness>(503)]
    public static async Task<IResult> Ready(NpgsqlDataSource db, IDocumentStore store, IConfiguration configuration, CancellationToken ct)
    {
        var maxLag = configuration.GetValue("Health:MaxProjectionLag", 10_000L);
        var stalledAfter = configuration.GetValue("Health:StalledProjectionSeconds", 15);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(3));
        try
        {
            // The newest event's sequence, from the primary-key index: also the PostgreSQL ping. (Marten's event store
            // statistics count every event and stream, too costly for a probe that runs every few seconds.)
            await using var newest = db.CreateCommand("select coalesce(max(seq_id), 0) from agentartifacts.mt_events");
            var highWater = (long)(await newest.ExecuteScalarAsync(timeout.Token))!;
            // Every registered async shard, so one that has not written its progress row yet (a new projection) shows as
            // lagging; the daemon's own rows (HighWaterMark, HighWaterAllocationFence) are not projections.
            var recorded = await ProgressAsync(db, timeout.Token);
            var progress = store.Advanced.AllAsyncProjectionShardNames().ToDictionary(s => s.Identity,
                s => recorded.GetValueOrDefault(s.Identity) ?? new ShardProgress(0, null), StringComparer.Ordinal);

            var shards = new List<ProjectionLag>();
            foreach (var (name, shard) in progress.OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                var waiting = shard.Sequence < highWater ? await OldestWaitingAsync(db, shard.Sequence, timeout.Token) : null;
                // Time from the database's clock on both sides, so clock skew between nodes cannot fake or hide a stall.
                var stalled = waiting > stalledAfter && (shard.SecondsSinceProgress is null || shard.SecondsSinceProgress > stalledAfter);
                shards.Add(new ProjectionLag(name, shard.Sequence, Math.Max(0, highWater - shard.Sequence), waiting, stalled));
            }
            // Before any event exists no shard has progress; with events, a projection with no progress row lags fully.
            var status = shards.Any(s => s.Stalled) ? "projections_stalled"
                : shards.Any(s => s.Lag > maxLag) || (shards.Count == 0 && highWater > maxLag) ? "projections_lagging"
                : "ready";
            var readiness = new Readiness(status, "ok", highWater, shards, maxLag, stalledAfter);
            return status == "ready" ? Results.Ok(readiness) : Results.Json(readiness, statusCode: 503);
        }
        catch (Exception e) when (e is NpgsqlException or OperationCanceledException or TimeoutException)
        {
            return Results.Json(new Readiness("postgres_unavailable", e.GetType().Name, null, [], maxLag, stalledAfter), statusCode: 503);
        }
    }

    private sealed record ShardProgress(long Sequence, double? SecondsSinceProgress);

    private static async Task<Dictionary<string, ShardProgress>> ProgressAsync(NpgsqlDataSource db, CancellationToken ct)
    {
        // Marten sets last_updated whenever a shard records progress.
        await using var command = db.CreateCommand("""
            select name, coalesce(last_seq_id, 0), extract(epoch from now() - last_updated)::float8
            from agentartifacts.mt_event_progression
            """);
        await using var reader = await command.ExecuteReaderAsync(ct);
        var progress = new Dictionary<string, ShardProgress>(StringComparer.Ordinal);
        while (await reader.ReadAsync(ct))
        {
            progress[reader.GetString(0)] = new ShardProgress(reader.GetInt64(1), reader.IsDBNull(2) ? null : reader.GetDouble(2));
        }
        return progress;
    }

    /// <summary>Seconds since the first event after <paramref name="sequence"/> was appended (one primary-key index probe).</summary>
    private static async Task<double?> OldestWaitingAsync(NpgsqlDataSource db, long sequence, CancellationToken ct)
    {
        await using var command = db.CreateCommand(
            "select extract(epoch from now() - timestamp)::float8 from agentartifacts.mt_events where seq_id > $1 order by seq_id limit 1");
        command.Parameters.AddWithValue(sequence);
        return await command.ExecuteScalarAsync(ct) is double seconds ? Math.Max(0, Math.Round(seconds, 1)) : null;
    }
}
