using System.Security.Claims;
using AgentArtifacts.Api.StoredSecrets;
using Marten;
using Microsoft.Extensions.Options;

namespace AgentArtifacts.Api.Webhooks;

public static class RotateWebhookSecretEndpoint
{
    /// <summary>
    /// A new signing secret for one of your endpoints, shown only in this answer. For <c>Webhooks:RotationOverlapHours</c> (24)
    /// every delivery carries two signatures, one per secret, so the receiver can switch to the new secret at any moment.
    /// </summary>
    [AnswersWithETag]
    [WolverinePost("/webhooks/{id}/rotate-secret", OperationId = "rotateWebhookSecret"), Tags("Webhooks")]
    [SecretInResponse("secret")]
    [ProducesResponseType<WebhookWithSecretResponse>(200), ProducesResponseType(404), ProducesResponseType(412), ProducesResponseType(503)]
    public static async Task<IResult> Post(Guid id, ClaimsPrincipal principal, IDocumentSession session, SecretVault vault, TimeProvider clock,
        IOptions<WebhookOptions> options, HttpContext http, CancellationToken ct)
    {
        if (!ETags.TryReadIfMatch(http.Request, out var expected)) return ETags.PreconditionFailed();
        var webhook = await session.LoadOwnAsync(id, Caller.From(principal), ct);
        if (webhook is null) return Problems.NotFound("webhook");
        if (expected is not null && expected != webhook.Version) return ETags.PreconditionFailed();
        if (!vault.IsAvailable) return SecretAccess.Unavailable();

        var now = clock.GetUtcNow();
        var overlapEnds = now.AddHours(options.Value.RotationOverlapHours);
        // Every secret still signing keeps signing until the overlap ends (one ending sooner keeps its end).
        foreach (var old in await session.Query<WebhookSecret>().Where(s => s.WebhookId == id).ToListAsync(ct))
        {
            if (old.ValidUntil is { } until && until <= overlapEnds) continue;
            old.ValidUntil = overlapEnds;
            session.Update(old);
        }
        var secret = WebhookSigning.Issue(session, vault, id, now);
        session.Events.Append(id, webhook.Version + 1, new WebhookSecretRotated(id, overlapEnds));
        await session.SaveChangesAsync(ct);

        webhook = (await session.LoadAsync<Webhook>(id, ct))!;
        http.Response.Headers.ETag = ETags.For(webhook.Version);
        return Results.Ok(WebhookWithSecretResponse.From(webhook, secret, overlapEnds));
    }
}
