using System.Security.Claims;
using Marten;
using Marten.Linq.MatchesSql;

namespace AgentArtifacts.Api.Webhooks;

public static class GetWebhooksEndpoint
{
    /// <summary>Your webhook endpoints, oldest first. Secrets are never shown again.</summary>
    [WolverineGet("/webhooks", OperationId = "listWebhooks"), Tags("Webhooks")]
    [ProducesResponseType<Page<WebhookResponse>>(200), ProducesResponseType(400)]
    public static async Task<IResult> List(int? limit, string? cursor, ClaimsPrincipal principal, IQuerySession session, CancellationToken ct)
    {
        if (Paging.TryRead<Guid>(limit, cursor, Guid.TryParse, out var take, out var after) is { } badPage) return badPage;
        var owner = Caller.From(principal).Id;
        // Ids are UUID v7, so id order is creation order.
        var rows = await session.Query<Webhook>()
            .Where(w => w.OwnerId == owner && w.DeletedAt == null && w.MatchesSql("d.id > ?", after))
            .OrderBy(w => w.Id).Take(take + 1).ToListAsync(ct);
        return Results.Ok(Paging.ToPage(rows, take, w => w.Id.ToString(), WebhookResponse.From));
    }

    /// <summary>One of your webhook endpoints, without its secret.</summary>
    [AnswersWithETag]
    [WolverineGet("/webhooks/{id}", OperationId = "getWebhook"), Tags("Webhooks")]
    [ProducesResponseType<WebhookResponse>(200), ProducesResponseType(304), ProducesResponseType(404)]
    public static async Task<IResult> Get(Guid id, ClaimsPrincipal principal, IQuerySession session, HttpContext http, CancellationToken ct)
    {
        var webhook = await session.LoadOwnAsync(id, Caller.From(principal), ct);
        return webhook is null ? Problems.NotFound("webhook") : ETags.Conditional(http, webhook.Version, WebhookResponse.From(webhook));
    }
}
