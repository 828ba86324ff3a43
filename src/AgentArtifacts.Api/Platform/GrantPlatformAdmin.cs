using System.Security.Claims;
using Marten;
using Microsoft.AspNetCore.Authorization;
using Npgsql;
using AgentArtifacts.Api.Identity;

namespace AgentArtifacts.Api.Platform;

public static class GrantPlatformAdminEndpoint
{
    /// <summary>
    /// Make a local user a platform admin. Idempotent: granting it again changes nothing. Access tokens carry the flag, so
    /// the user gains admin rights with their next token (password or refresh grant). Platform admins only.
    /// </summary>
    [Authorize(Policy = PlatformAdminPolicy.Name)]
    [WolverinePost("/platform/users/{id}/admin", OperationId = "grantPlatformAdmin"), Tags("Platform")]
    [ProducesResponseType<UserResponse>(200), ProducesResponseType(403), ProducesResponseType(404)]
    public static Task<IResult> Post(Guid id, ClaimsPrincipal principal, NpgsqlDataSource db, IDocumentStore store, CancellationToken ct) =>
        PlatformAdmins.ChangeAsync(id, Decide, principal, db, store, ct);

    public static (object? Event, IResult? Problem) Decide(User user, int otherAdmins) =>
        (user.IsPlatformAdmin ? null : new UserPlatformAdminGranted(user.Id), null);
}
