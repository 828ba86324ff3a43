using System.Security.Claims;
using Marten;

namespace AgentArtifacts.Api.ServerCredentials;

public static class RevokeServerCredentialEndpoint
{
    /// <summary>
    /// Revoke a server credential (platform admins only): its secrets are refused at once; access tokens already issued stay
    /// valid until they expire (<c>ServerCredentials:TokenMinutes</c>, 15).
    /// </summary>
    [WolverineDelete("/server-credentials/{clientId}", OperationId = "revokeServerCredential"), Tags("Server credentials")]
    [ProducesResponseType(204), ProducesResponseType(403), ProducesResponseType(404)]
    public static async Task<IResult> Delete(Guid clientId, ClaimsPrincipal principal, IDocumentSession session, CancellationToken ct)
    {
        if (ServerCredentialAccess.RequireAdmin(Caller.From(principal)) is { } forbidden) return forbidden;
        var credential = await session.LoadActiveAsync(clientId, ct);
        if (credential is null) return Problems.NotFound("server credential");

        session.Events.Append(clientId, credential.Version + 1, new ServerCredentialRevoked(clientId));
        Secrets.Revoke(session, clientId);
        await session.SaveChangesAsync(ct);
        return Results.NoContent();
    }
}
