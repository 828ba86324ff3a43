using System.Security.Claims;
using Marten;
using Marten.Linq.MatchesSql;

namespace AgentArtifacts.Api.ApiKeys;

public static class GetApiKeysEndpoint
{
    /// <summary>Your API keys (revoked ones are gone), oldest first. Secrets are never shown again.</summary>
    [WolverineGet("/api-keys", OperationId = "listApiKeys"), Tags("API keys")]
    [ProducesResponseType<Page<ApiKeyResponse>>(200), ProducesResponseType(400)]
    public static async Task<IResult> List(int? limit, string? cursor, ClaimsPrincipal principal, IQuerySession session, CancellationToken ct)
    {
        if (Paging.TryRead<Guid>(limit, cursor, Guid.TryParse, out var take, out var after) is { } badPage) return badPage;
        var owner = Caller.From(principal).Id;
        // Ids are UUID v7, so id order is issue order; the keyset compares uuids in SQL.
        var rows = await session.Query<ApiKey>()
            .Where(k => k.OwnerId == owner && k.RevokedAt == null && k.MatchesSql("d.id > ?", after))
            .OrderBy(k => k.Id).Take(take + 1).ToListAsync(ct);
        var usage = (await session.LoadManyAsync<ApiKeyUsage>(ct, rows.Select(k => k.Id))).ToDictionary(u => u.Id);
        return Results.Ok(Paging.ToPage(rows, take, k => k.Id.ToString(), k => ApiKeyResponse.From(k, usage.GetValueOrDefault(k.Id))));
    }

    /// <summary>One of your API keys, without its secret.</summary>
    [AnswersWithETag]
    [WolverineGet("/api-keys/{id}", OperationId = "getApiKey"), Tags("API keys")]
    [ProducesResponseType<ApiKeyResponse>(200), ProducesResponseType(304), ProducesResponseType(404)]
    public static async Task<IResult> Get(Guid id, ClaimsPrincipal principal, IQuerySession session, HttpContext http, CancellationToken ct)
    {
        var key = await session.LoadOwnAsync(id, Caller.From(principal), ct);
        if (key is null) return Problems.NotFound("API key");
        return ETags.Conditional(http, key.Version, ApiKeyResponse.From(key, await session.LoadAsync<ApiKeyUsage>(id, ct)));
    }
}
