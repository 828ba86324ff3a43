using System.Security.Claims;
using Marten;
using Marten.Linq.MatchesSql;

namespace AgentArtifacts.Api.ServerCredentials;

public static class ListServerCredentialsEndpoint
{
    /// <summary>The server credentials (revoked ones are gone), oldest first; platform admins only. Secrets are never shown again.</summary>
    [WolverineGet("/server-credentials", OperationId = "listServerCredentials"), Tags("Server credentials")]
    [ProducesResponseType<Page<ServerCredentialResponse>>(200), ProducesResponseType(400), ProducesResponseType(403)]
    public static async Task<IResult> List(int? limit, string? cursor, ClaimsPrincipal principal, IQuerySession session, CancellationToken ct)
    {
        if (ServerCredentialAccess.RequireAdmin(Caller.From(principal)) is { } forbidden) return forbidden;
        if (Paging.TryRead<Guid>(limit, cursor, Guid.TryParse, out var take, out var after) is { } badPage) return badPage;
        var rows = await session.Query<ServerCredential>()
            .Where(c => c.RevokedAt == null && c.MatchesSql("d.id > ?", after))
            .OrderBy(c => c.Id).Take(take + 1).ToListAsync(ct);
        return Results.Ok(Paging.ToPage(rows, take, c => c.Id.ToString(), ServerCredentialResponse.From));
    }
}
