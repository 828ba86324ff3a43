using System.Security.Claims;
using FluentValidation;
using Marten;

namespace AgentArtifacts.Api.ApiKeys;

/// <summary>Only the name of a key can change: its scopes, resources and expiry are fixed at issue (issue a new key instead).</summary>
/// <param name="Name">The new name (1 to 200 characters).</param>
public sealed record RenameApiKey(string Name)
{
    public sealed class Validator : AbstractValidator<RenameApiKey>
    {
        public Validator() => RuleFor(x => x.Name).NotEmpty().MaximumLength(200);
    }
}

public static class RenameApiKeyEndpoint
{
    /// <summary>Rename one of your API keys. Any other field (scopes included) is a 400 <c>unknown_field</c>.</summary>
    [AnswersWithETag]
    [WolverinePatch("/api-keys/{id}", OperationId = "renameApiKey"), Tags("API keys")]
    [ProducesResponseType<ApiKeyResponse>(200), ProducesResponseType(400), ProducesResponseType(404), ProducesResponseType(412)]
    public static async Task<IResult> Patch(Guid id, RenameApiKey request, ClaimsPrincipal principal, IDocumentSession session, HttpContext http,
        CancellationToken ct)
    {
        if (!ETags.TryReadIfMatch(http.Request, out var expected)) return ETags.PreconditionFailed();
        var key = await session.LoadOwnAsync(id, Caller.From(principal), ct);
        if (key is null) return Problems.NotFound("API key");
        if (expected is not null && expected != key.Version) return ETags.PreconditionFailed();

        if (request.Name.Trim() != key.Name)
        {
            session.Events.Append(id, key.Version + 1, new ApiKeyRenamed(id, request.Name.Trim()));
            await session.SaveChangesAsync(ct);
            key = (await session.LoadAsync<ApiKey>(id, ct))!;
        }
        http.Response.Headers.ETag = ETags.For(key.Version);
        return Results.Ok(ApiKeyResponse.From(key, await session.LoadAsync<ApiKeyUsage>(id, ct)));
    }
}
