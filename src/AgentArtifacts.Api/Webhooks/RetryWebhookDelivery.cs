using System.Security.Claims;
using Marten;
using Npgsql;

namespace AgentArtifacts.Api.Webhooks;

public static class RetryWebhookDeliveryEndpoint
{
    /// <summary>
    /// Attempt a delivery again now, with a fresh retry schedule: one that failed, or one that succeeded and should be sent
    /// once more. It keeps its <c>webhook-id</c> and its place in the endpoint's order.
    /// </summary>
    /// <param name="deliveryId">The delivery's id (from <c>GET /webhooks/{id}/deliveries</c>).</param>
    [WolverinePost("/webhooks/{id}/deliveries/{deliveryId}/retry", OperationId = "retryWebhookDelivery"), Tags("Webhooks")]
    [ProducesResponseType<WebhookDeliveryResponse>(202), ProducesResponseType(404), ProducesResponseType(409)]
    public static async Task<IResult> Post(Guid id, Guid deliveryId, ClaimsPrincipal principal, IQuerySession session, NpgsqlDataSource db,
        WebhookDeliverer deliverer, TimeProvider clock, CancellationToken ct)
    {
        if (await session.LoadOwnAsync(id, Caller.From(principal), ct) is null) return Problems.NotFound("webhook");
        var schema = WebhookDeliveries.Schema(session.DocumentStore);
        await using var cmd = db.CreateCommand(
            $"update {schema}.{WebhookStream.Deliveries} set state = 'pending', next_attempt_at = $3, schedule_start = attempts " +
            "where webhook_id = $1 and id = $2 and state <> 'pending' returning id");
        cmd.Parameters.AddWithValue(id);
        cmd.Parameters.AddWithValue(deliveryId);
        cmd.Parameters.AddWithValue(clock.GetUtcNow());
        try
        {
            if (await cmd.ExecuteScalarAsync(ct) is null)
            {
                var existing = await WebhookDeliveries.ListAsync(db, schema, id, null, null, deliveryId, 1, ct);
                return existing.Count == 0 ? Problems.NotFound("delivery")
                    : Problems.Result(409, "delivery_pending", "The delivery is still pending; it is attempted when due.");
            }
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            // A replay already queued the same event again.
            return Problems.Result(409, "delivery_pending", "The same event is already queued again for this endpoint.");
        }
        deliverer.Wake();
        return Results.Accepted(null, (await WebhookDeliveries.ListAsync(db, schema, id, null, null, deliveryId, 1, ct)).Single().Delivery);
    }
}
