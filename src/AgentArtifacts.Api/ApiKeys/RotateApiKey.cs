using System.Security.Claims;
using Marten;
using Microsoft.Extensions.Options;

namespace AgentArtifacts.Api.ApiKeys;

public static class RotateApiKeyEndpoint
{
    /// <summary>
    /// A new secret for one of your API keys, shown only in this answer. The previous secret keeps working for
    /// <c>ApiKeys:RotationOverlapMinutes</c> (10), so clients can switch without an outage. Scopes and expiry stay.
    /// </summary>
    [AnswersWithETag]
    [WolverinePost("/api-keys/{id}/rotate", OperationId = "rotateApiKey"), Tags("API keys")]
    [SecretInResponse("key")]
    [ProducesResponseType<IssuedApiKeyResponse>(200), ProducesResponseType(404), ProducesResponseType(409), ProducesResponseType(412)]
    public static async Task<IResult> Post(Guid id, ClaimsPrincipal principal, IDocumentSession session, TimeProvider clock,
        IOptions<ApiKeyOptions> options, HttpContext http, CancellationToken ct)
    {
        if (!ETags.TryReadIfMatch(http.Request, out var expected)) return ETags.PreconditionFailed();
        var key = await session.LoadOwnAsync(id, Caller.From(principal), ct);
        if (key is null) return Problems.NotFound("API key");
        if (expected is not null && expected != key.Version) return ETags.PreconditionFailed();
        var now = clock.GetUtcNow();
        if (!key.IsUsable(now)) return Problems.Result(409, "api_key_expired", "The key has expired; issue a new one.");

        var overlapEnds = now.AddMinutes(options.Value.RotationOverlapMinutes);
        var secret = await Secrets.RotateAsync(session, id, IssueApiKeyEndpoint.Prefix, overlapEnds, ct);
        session.Events.Append(id, key.Version + 1, new ApiKeyRotated(id, overlapEnds));
        await session.SaveChangesAsync(ct);

        key = (await session.LoadAsync<ApiKey>(id, ct))!;
        http.Response.Headers.ETag = ETags.For(key.Version);
        return Results.Ok(IssuedApiKeyResponse.From(key, secret, await session.LoadAsync<ApiKeyUsage>(id, ct)));
    }
}
