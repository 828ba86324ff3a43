using System.Security.Claims;
using Marten;

namespace AgentArtifacts.Api.ApiKeys;

public static class RevokeApiKeyEndpoint
{
    /// <summary>Revoke one of your API keys: from now on every secret of it is refused (401).</summary>
    [WolverineDelete("/api-keys/{id}", OperationId = "revokeApiKey"), Tags("API keys")]
    [ProducesResponseType(204), ProducesResponseType(404), ProducesResponseType(412)]
    public static async Task<IResult> Delete(Guid id, ClaimsPrincipal principal, IDocumentSession session, HttpContext http, CancellationToken ct)
    {
        if (!ETags.TryReadIfMatch(http.Request, out var expected)) return ETags.PreconditionFailed();
        var key = await session.LoadOwnAsync(id, Caller.From(principal), ct);
        if (key is null) return Problems.NotFound("API key");
        if (expected is not null && expected != key.Version) return ETags.PreconditionFailed();

        session.Events.Append(id, key.Version + 1, new ApiKeyRevoked(id));
        // The snapshot alone already refuses the key; the verifiers have no use left.
        Secrets.Revoke(session, id);
        await session.SaveChangesAsync(ct);
        return Results.NoContent();
    }
}
