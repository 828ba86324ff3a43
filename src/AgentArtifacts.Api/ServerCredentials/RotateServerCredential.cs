using System.Security.Claims;
using Marten;
using Microsoft.Extensions.Options;

namespace AgentArtifacts.Api.ServerCredentials;

public static class RotateServerCredentialEndpoint
{
    /// <summary>
    /// A new client secret (platform admins only), shown only in this answer; the previous one keeps working for
    /// <c>ServerCredentials:RotationOverlapMinutes</c> (10).
    /// </summary>
    [WolverinePost("/server-credentials/{clientId}/rotate", OperationId = "rotateServerCredential"), Tags("Server credentials")]
    [SecretInResponse("clientSecret")]
    [ProducesResponseType<IssuedServerCredentialResponse>(200), ProducesResponseType(403), ProducesResponseType(404)]
    public static async Task<IResult> Post(Guid clientId, ClaimsPrincipal principal, IDocumentSession session, TimeProvider clock,
        IOptions<ServerCredentialOptions> options, CancellationToken ct)
    {
        if (ServerCredentialAccess.RequireAdmin(Caller.From(principal)) is { } forbidden) return forbidden;
        var credential = await session.LoadActiveAsync(clientId, ct);
        if (credential is null) return Problems.NotFound("server credential");

        var overlapEnds = clock.GetUtcNow().AddMinutes(options.Value.RotationOverlapMinutes);
        var secret = await Secrets.RotateAsync(session, clientId, ServerCredentialAccess.SecretPrefix, overlapEnds, ct);
        session.Events.Append(clientId, credential.Version + 1, new ServerCredentialRotated(clientId, overlapEnds));
        await session.SaveChangesAsync(ct);
        return Results.Ok(IssuedServerCredentialResponse.From((await session.LoadAsync<ServerCredential>(clientId, ct))!, secret));
    }
}
