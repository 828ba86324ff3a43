using System.Security.Claims;
using Marten;
using Microsoft.AspNetCore.Authorization;
using Npgsql;
using AgentArtifacts.Api.Identity;

namespace AgentArtifacts.Api.Platform;

public static class RevokePlatformAdminEndpoint
{
    /// <summary>
    /// Take platform admin away from a user. Idempotent for a user who is not an admin. The last admin cannot be removed
    /// (409 <c>last_admin</c>), so the platform always has one. Tokens already issued keep their claim until they expire.
    /// Platform admins only.
    /// </summary>
    [Authorize(Policy = PlatformAdminPolicy.Name)]
    [WolverineDelete("/platform/users/{id}/admin", OperationId = "revokePlatformAdmin"), Tags("Platform")]
    [ProducesResponseType<UserResponse>(200), ProducesResponseType(403), ProducesResponseType(404), ProducesResponseType(409)]
    public static Task<IResult> Delete(Guid id, ClaimsPrincipal principal, NpgsqlDataSource db, IDocumentStore store, CancellationToken ct) =>
        PlatformAdmins.ChangeAsync(id, Decide, principal, db, store, ct);

    public static (object? Event, IResult? Problem) Decide(User user, int otherAdmins) => user switch
    {
        { IsPlatformAdmin: false } => (null, null),
        _ when otherAdmins == 0 => (null, Problems.Result(409, "last_admin", "This is the platform's last admin; make someone else admin first.")),
        _ => (new UserPlatformAdminRevoked(user.Id), null),
    };
}
