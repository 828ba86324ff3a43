using System.Security.Claims;
using Marten;

namespace AgentArtifacts.Api.Webhooks;

public static class DeleteWebhookEndpoint
{
    /// <summary>Delete one of your webhook endpoints: nothing more is delivered to it, and its secrets and delivery history are gone.</summary>
    [WolverineDelete("/webhooks/{id}", OperationId = "deleteWebhook"), Tags("Webhooks")]
    [ProducesResponseType(204), ProducesResponseType(404), ProducesResponseType(412)]
    public static async Task<IResult> Delete(Guid id, ClaimsPrincipal principal, IDocumentSession session, HttpContext http, CancellationToken ct)
    {
        if (!ETags.TryReadIfMatch(http.Request, out var expected)) return ETags.PreconditionFailed();
        var webhook = await session.LoadOwnAsync(id, Caller.From(principal), ct);
        if (webhook is null) return Problems.NotFound("webhook");
        if (expected is not null && expected != webhook.Version) return ETags.PreconditionFailed();

        session.Events.Append(id, webhook.Version + 1, new WebhookDeleted(id));
        session.DeleteWhere<WebhookSecret>(s => s.WebhookId == id);
        var schema = session.DocumentStore.Options.DatabaseSchemaName;
        session.QueueSqlCommand($"delete from {schema}.{WebhookStream.Attempts} where delivery_id in (select id from {schema}.{WebhookStream.Deliveries} where webhook_id = ?)", id);
        session.QueueSqlCommand($"delete from {schema}.{WebhookStream.Deliveries} where webhook_id = ?", id);
        session.QueueSqlCommand($"delete from {schema}.{WebhookStream.Endpoints} where webhook_id = ?", id);
        await session.SaveChangesAsync(ct);
        return Results.NoContent();
    }
}
