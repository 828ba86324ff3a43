using System.Security.Claims;
using Marten;
using Marten.Linq.MatchesSql;

namespace AgentArtifacts.Api.StoredSecrets;

public static class GetSecretsEndpoint
{
    /// <summary>Your secrets (metadata only, never values), oldest first. Deleted ones are gone.</summary>
    [WolverineGet("/secrets", OperationId = "listSecrets"), Tags("Secrets")]
    [KeyScope("read")]
    [ProducesResponseType<Page<SecretResponse>>(200), ProducesResponseType(400), ProducesResponseType(403)]
    public static async Task<IResult> List(int? limit, string? cursor, ClaimsPrincipal principal, IQuerySession session, CancellationToken ct)
    {
        if (Paging.TryRead<Guid>(limit, cursor, Guid.TryParse, out var take, out var after) is { } badPage) return badPage;
        var caller = Caller.From(principal);
        if (SecretAccess.ScopeRefusal(caller, "read") is { } refused) return refused;
        // Ids are UUID v7, so id order is creation order; the keyset compares uuids in SQL.
        var rows = await session.Query<StoredSecret>()
            .Where(s => s.OwnerId == caller.Id && s.DeletedAt == null && s.MatchesSql("d.id > ?", after))
            .OrderBy(s => s.Id).Take(take + 1).ToListAsync(ct);
        return Results.Ok(Paging.ToPage(rows, take, s => s.Id.ToString(), SecretResponse.From, s => caller.ResourceAllowed(s.Id, null)));
    }

    /// <summary>One of your secrets: its metadata, never its value.</summary>
    [AnswersWithETag]
    [WolverineGet("/secrets/{id}", OperationId = "getSecret"), Tags("Secrets")]
    [KeyScope("read")]
    [ProducesResponseType<SecretResponse>(200), ProducesResponseType(304), ProducesResponseType(403), ProducesResponseType(404)]
    public static async Task<IResult> Get(Guid id, ClaimsPrincipal principal, IQuerySession session, HttpContext http, CancellationToken ct)
    {
        var caller = Caller.From(principal);
        if (SecretAccess.ScopeRefusal(caller, "read") is { } refused) return refused;
        var secret = await session.LoadOwnAsync(id, caller, ct);
        return secret is null ? Problems.NotFound("secret") : ETags.Conditional(http, secret.Version, SecretResponse.From(secret));
    }
}
