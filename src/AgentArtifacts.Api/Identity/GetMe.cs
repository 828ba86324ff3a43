using System.Security.Claims;
using Marten;
using Wolverine.Http;
using AgentArtifacts.Api.Infrastructure;

namespace AgentArtifacts.Api.Identity;

public sealed record MeResponse(Guid Id, string Kind, string? Email, string? Name, bool IsPlatformAdmin);

public static class GetMeEndpoint
{
    /// <summary>The calling principal.</summary>
    [WolverineGet("/auth/me", OperationId = "getMe"), Tags("Identity")]
    [ProducesResponseType<MeResponse>(200)]
    public static async Task<MeResponse> Get(ClaimsPrincipal principal, IQuerySession session, CancellationToken ct)
    {
        var caller = Caller.From(principal);
        var user = await session.LoadAsync<User>(caller.Id, ct);
        return user is null
            ? new MeResponse(caller.Id, caller.Kind, principal.FindFirstValue("email") ?? principal.FindFirstValue("preferred_username"),
                principal.FindFirstValue("name"), caller.IsPlatformAdmin)
            : new MeResponse(user.Id, caller.Kind, user.Email, user.Name, user.IsPlatformAdmin);
    }
}
