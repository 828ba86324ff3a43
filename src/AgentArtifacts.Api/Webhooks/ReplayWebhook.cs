using System.Security.Claims;
using FluentValidation;
using Marten;
using Npgsql;

namespace AgentArtifacts.Api.Webhooks;

/// <summary>Deliver again every event after a log position.</summary>
/// <param name="After">A position in the event log (an event's <c>sequence</c>, 0 for the beginning): every event after it that the endpoint's filters and your access select is delivered again, in order, with its original <c>webhook-id</c>.</param>
public sealed record ReplayWebhook(long After)
{
    public sealed class Validator : AbstractValidator<ReplayWebhook>
    {
        public Validator() => RuleFor(x => x.After).GreaterThanOrEqualTo(0);
    }
}

/// <summary>A replay was queued.</summary>
/// <param name="After">Events after this position are delivered again.</param>
/// <param name="Head">The newest position of the log when the replay was asked for.</param>
public sealed record WebhookReplayResponse(long After, long Head);

public static class ReplayWebhookEndpoint
{
    /// <summary>
    /// Re-deliver everything after a log position to one of your endpoints (after an outage on the receiver's side, say).
    /// Events still waiting to go out are not queued twice; deliveries keep the order of the log.
    /// </summary>
    [WolverinePost("/webhooks/{id}/replay", OperationId = "replayWebhook"), Tags("Webhooks")]
    [ProducesResponseType<WebhookReplayResponse>(202), ProducesResponseType(400), ProducesResponseType(404)]
    public static async Task<IResult> Post(Guid id, ReplayWebhook request, ClaimsPrincipal principal, IQuerySession session, NpgsqlDataSource db,
        WebhookDeliverer deliverer, CancellationToken ct)
    {
        if (await session.LoadOwnAsync(id, Caller.From(principal), ct) is null) return Problems.NotFound("webhook");
        var schema = WebhookDeliveries.Schema(session.DocumentStore);
        var head = await WebhookDeliveries.LogHeadAsync(db, schema, ct);
        if (request.After > head)
        {
            return Problems.Invalid("after", $"after is beyond the newest event ({head}).", "after_beyond_head");
        }
        await using var cmd = db.CreateCommand($"update {schema}.{WebhookStream.Endpoints} set cursor = least(cursor, $2) where webhook_id = $1");
        cmd.Parameters.AddWithValue(id);
        cmd.Parameters.AddWithValue(request.After);
        await cmd.ExecuteNonQueryAsync(ct);
        deliverer.Wake();
        return Results.Accepted(null, new WebhookReplayResponse(request.After, head));
    }
}
