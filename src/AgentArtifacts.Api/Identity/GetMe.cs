using System.Security.Claims;
using Marten;
using Wolverine.Http;
using AgentArtifacts.Api.Infrastructure;

namespace AgentArtifacts.Api.Identity;

/// <summary>The calling principal: <c>id</c> is the user (an API key's owner) or the server credential; <c>apiKeyId</c> and <c>scopes</c> only for keys and servers.</summary>
/// <param name="Id">The user's id (for an API key, its owner's), or the server credential's client id.</param>
/// <param name="Kind">How the caller authenticated: <c>user</c>, <c>apiKey</c> or <c>server</c>.</param>
/// <param name="Email">The user's email; null when unknown (a server).</param>
/// <param name="Name">The user's name; null when unknown (a server).</param>
/// <param name="IsPlatformAdmin">Whether the caller acts as a platform admin now (never through an API key).</param>
/// <param name="ApiKeyId">The API key used; null otherwise.</param>
/// <param name="Scopes">The scopes that narrow an API key or server, each <c>kind:mediaRange:action</c>; null for a user with a token.</param>
public sealed record MeResponse(Guid Id, string Kind, string? Email, string? Name, bool IsPlatformAdmin, Guid? ApiKeyId = null,
    IReadOnlyList<string>? Scopes = null);

public static class GetMeEndpoint
{
    /// <summary>The calling principal.</summary>
    [KeyScope(KeyScopeAttribute.Any)]
    [WolverineGet("/auth/me", OperationId = "getMe"), Tags("Identity")]
    [ProducesResponseType<MeResponse>(200)]
    public static async Task<MeResponse> Get(ClaimsPrincipal principal, IQuerySession session, CancellationToken ct)
    {
        var caller = Caller.From(principal);
        var user = caller.Kind == Caller.Server ? null : await session.LoadAsync<User>(caller.Id, ct);
        var scopes = caller.Scopes?.Select(s => s.ToString()).ToList();
        return user is null
            ? new MeResponse(caller.Id, caller.Kind, principal.FindFirstValue("email") ?? principal.FindFirstValue("preferred_username"),
                principal.FindFirstValue("name"), caller.IsPlatformAdmin, caller.ApiKeyId, scopes)
            : new MeResponse(user.Id, caller.Kind, user.Email, user.Name, user.IsPlatformAdmin && !caller.IsNarrowed, caller.ApiKeyId, scopes);
    }
}
