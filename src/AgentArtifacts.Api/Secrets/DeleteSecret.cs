using System.Security.Claims;
using Marten;

namespace AgentArtifacts.Api.StoredSecrets;

public static class DeleteSecretEndpoint
{
    /// <summary>
    /// Delete one of your secrets: its ciphertext is erased at once, and invocations that reference it fail with
    /// <c>secret_not_found</c>. Its name is free again.
    /// </summary>
    [WolverineDelete("/secrets/{id}", OperationId = "deleteSecret"), Tags("Secrets")]
    [KeyScope("delete")]
    [ProducesResponseType(204), ProducesResponseType(403), ProducesResponseType(404), ProducesResponseType(412)]
    public static async Task<IResult> Delete(Guid id, ClaimsPrincipal principal, IDocumentSession session, HttpContext http, CancellationToken ct)
    {
        if (!ETags.TryReadIfMatch(http.Request, out var expected)) return ETags.PreconditionFailed();
        var caller = Caller.From(principal);
        if (SecretAccess.ScopeRefusal(caller, "delete") is { } refused) return refused;
        var secret = await session.LoadOwnAsync(id, caller, ct);
        if (secret is null) return Problems.NotFound("secret");
        if (expected is not null && expected != secret.Version) return ETags.PreconditionFailed();

        session.Events.Append(id, secret.Version + 1, new SecretDeleted(id));
        session.Delete<SecretCiphertext>(id);
        await session.SaveChangesAsync(ct);
        return Results.NoContent();
    }
}
