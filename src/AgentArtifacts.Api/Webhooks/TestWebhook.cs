using System.Security.Claims;
using Marten;
using Npgsql;

namespace AgentArtifacts.Api.Webhooks;

public static class TestWebhookEndpoint
{
    /// <summary>
    /// Send a <c>webhook.test</c> delivery to one of your endpoints now (whatever its type filters), signed like any other;
    /// follow it in <c>GET /webhooks/{id}/deliveries</c>.
    /// </summary>
    [WolverinePost("/webhooks/{id}/test", OperationId = "testWebhook"), Tags("Webhooks")]
    [ProducesResponseType<WebhookDeliveryResponse>(202), ProducesResponseType(404), ProducesResponseType(409)]
    public static async Task<IResult> Post(Guid id, ClaimsPrincipal principal, IQuerySession session, NpgsqlDataSource db, WebhookDeliverer deliverer,
        TimeProvider clock, CancellationToken ct)
    {
        var webhook = await session.LoadOwnAsync(id, Caller.From(principal), ct);
        if (webhook is null) return Problems.NotFound("webhook");
        if (!webhook.Enabled) return Problems.Result(409, "webhook_disabled", "The endpoint is disabled; PATCH enabled: true to resume it first.");

        var now = clock.GetUtcNow();
        var schema = WebhookDeliveries.Schema(session.DocumentStore);
        var deliveryId = await WebhookDeliveries.QueueAsync(db, schema, id, null, WebhookTypes.Test, $"msg_test_{Guid.CreateVersion7():N}",
            WebhookEvents.TestBody(id, now), now, ct);
        deliverer.Wake();
        var queued = (await WebhookDeliveries.ListAsync(db, schema, id, null, null, deliveryId, 1, ct)).Single().Delivery;
        return Results.Accepted($"/webhooks/{id}/deliveries?deliveryId={deliveryId}", queued);
    }
}
