using System.Text.Json;
using Marten;
using Npgsql;

namespace AgentArtifacts.Api.Webhooks;

/// <summary>One attempt to deliver a message.</summary>
/// <param name="Attempt">1 for the first attempt, then 2, 3, …</param>
/// <param name="At">When the attempt started (ISO 8601, UTC).</param>
/// <param name="StatusCode">The receiver's HTTP status; null when it did not answer (timeout, connection refused, egress refused).</param>
/// <param name="DurationMs">How long the attempt took, in milliseconds.</param>
/// <param name="ResponseExcerpt">The start of the receiver's response body (at most <c>Webhooks:ResponseExcerptBytes</c>, 1 KiB); the rest is never read.</param>
/// <param name="Error">Why the attempt failed without a status (e.g. <c>timeout</c>, <c>connection_failed</c>, <c>egress_refused</c>) or what a status meant (<c>redirect_not_followed</c>); null on success.</param>
/// <param name="NextRetryAt">When the next attempt is due after this one failed (ISO 8601, UTC); null if none follows.</param>
public sealed record WebhookAttemptResponse(int Attempt, DateTimeOffset At, int? StatusCode, int DurationMs, string? ResponseExcerpt, string? Error,
    DateTimeOffset? NextRetryAt);

/// <summary>One message to an endpoint and its attempts.</summary>
/// <param name="Id">The delivery's id (for <c>POST /webhooks/{id}/deliveries/{deliveryId}/retry</c>).</param>
/// <param name="MessageId">The <c>webhook-id</c> header it is sent with: the same on every attempt and replay of the same event to this endpoint, so a receiver can drop duplicates.</param>
/// <param name="Type">The event type, e.g. <c>artifact.created</c> or <c>webhook.test</c>.</param>
/// <param name="EventSequence">The event's position in the global log; null for <c>webhook.test</c>.</param>
/// <param name="State"><c>pending</c> (not yet delivered; <c>nextAttemptAt</c> says when), <c>succeeded</c> (a 2xx answer), or <c>failed</c> (a permanent refusal, or every retry failed).</param>
/// <param name="CreatedAt">When the delivery was queued (ISO 8601, UTC).</param>
/// <param name="NextAttemptAt">When the next attempt is due, while pending (ISO 8601, UTC); null otherwise.</param>
/// <param name="Attempts">Every attempt so far, oldest first.</param>
public sealed record WebhookDeliveryResponse(Guid Id, string MessageId, string Type, long? EventSequence, string State, DateTimeOffset CreatedAt,
    DateTimeOffset? NextAttemptAt, IReadOnlyList<WebhookAttemptResponse> Attempts);

/// <summary>The states of a delivery.</summary>
public static class DeliveryState
{
    public const string Pending = "pending";
    public const string Succeeded = "succeeded";
    public const string Failed = "failed";
    public static readonly string[] All = [Pending, Succeeded, Failed];
}

/// <summary>The SQL of the delivery tables (see <see cref="WebhookStream"/>) that the routes and the deliverer share.</summary>
public static class WebhookDeliveries
{
    public static string Schema(IDocumentStore store) => store.Options.DatabaseSchemaName;

    /// <summary>Queues a message on an endpoint, due now; returns its id.</summary>
    public static async Task<Guid> QueueAsync(NpgsqlDataSource db, string schema, Guid webhookId, long? sequence, string type, string messageId,
        string payload, DateTimeOffset now, CancellationToken ct)
    {
        var id = Guid.CreateVersion7();
        await using var cmd = db.CreateCommand(
            $"insert into {schema}.{WebhookStream.Deliveries} (id, webhook_id, event_sequence, type, message_id, payload, state, next_attempt_at, created_at) " +
            "values ($1, $2, $3, $4, $5, $6, 'pending', $7, $7)");
        cmd.Parameters.AddWithValue(id);
        cmd.Parameters.AddWithValue(webhookId);
        cmd.Parameters.AddWithValue((object?)sequence ?? DBNull.Value);
        cmd.Parameters.AddWithValue(type);
        cmd.Parameters.AddWithValue(messageId);
        cmd.Parameters.AddWithValue(payload);
        cmd.Parameters.AddWithValue(now);
        await cmd.ExecuteNonQueryAsync(ct);
        return id;
    }

    /// <summary>Deliveries of an endpoint, newest first, after the <paramref name="beforeOrd"/> key; with their attempts.</summary>
    public static async Task<IReadOnlyList<(long Ord, WebhookDeliveryResponse Delivery)>> ListAsync(NpgsqlDataSource db, string schema, Guid webhookId,
        string? state, long? beforeOrd, Guid? deliveryId, int take, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand(
            $"select d.ord, d.id, d.message_id, d.type, d.event_sequence, d.state, d.created_at, d.next_attempt_at, " +
            $"coalesce((select json_agg(json_build_object('attempt', a.attempt, 'at', a.at, 'statusCode', a.status_code, 'durationMs', a.duration_ms, " +
            $"'responseExcerpt', a.response_excerpt, 'error', a.error, 'nextRetryAt', a.next_attempt_at) order by a.attempt) " +
            $"from {schema}.{WebhookStream.Attempts} a where a.delivery_id = d.id), '[]') " +
            $"from {schema}.{WebhookStream.Deliveries} d where d.webhook_id = $1 and ($2::text is null or d.state = $2) " +
            "and ($3::bigint is null or d.ord < $3) and ($4::uuid is null or d.id = $4) order by d.ord desc limit $5");
        cmd.Parameters.AddWithValue(webhookId);
        cmd.Parameters.AddWithValue(NpgsqlTypes.NpgsqlDbType.Text, (object?)state ?? DBNull.Value);
        cmd.Parameters.AddWithValue(NpgsqlTypes.NpgsqlDbType.Bigint, (object?)beforeOrd ?? DBNull.Value);
        cmd.Parameters.AddWithValue(NpgsqlTypes.NpgsqlDbType.Uuid, (object?)deliveryId ?? DBNull.Value);
        cmd.Parameters.AddWithValue(take);
        var rows = new List<(long, WebhookDeliveryResponse)>();
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            var attempts = JsonSerializer.Deserialize<List<WebhookAttemptResponse>>(reader.GetString(8), JsonSerializerOptions.Web)!;
            rows.Add((reader.GetInt64(0), new WebhookDeliveryResponse(reader.GetGuid(1), reader.GetString(2), reader.GetString(3),
                reader.IsDBNull(4) ? null : reader.GetInt64(4), reader.GetString(5), reader.GetFieldValue<DateTimeOffset>(6),
                reader.GetString(5) == DeliveryState.Pending && !reader.IsDBNull(7) ? reader.GetFieldValue<DateTimeOffset>(7) : null, attempts)));
        }
        return rows;
    }

    /// <summary>The newest position of the event log (what a replay's <c>after</c> may be at most).</summary>
    public static async Task<long> LogHeadAsync(NpgsqlDataSource db, string schema, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand($"select coalesce(max(seq_id), 0) from {schema}.mt_events");
        return (long)(await cmd.ExecuteScalarAsync(ct))!;
    }
}
