using System.Security.Claims;
using Marten;

namespace AgentArtifacts.Api.Grants;

public static class RevokeGrantEndpoint
{
    /// <summary>
    /// Revoke a grant (grants are immutable: revoke, then issue anew). Allowed for admins of the resource and for the grant's
    /// issuer. The last admin grant of a resource cannot be revoked, so a resource always has someone who can manage it.
    /// </summary>
    [WolverineDelete("/grants/{id}", OperationId = "revokeGrant"), Tags("Grants")]
    [ProducesResponseType(204), ProducesResponseType(403), ProducesResponseType(404), ProducesResponseType(409)]
    public static async Task<IResult> Delete(Guid id, ClaimsPrincipal principal, IDocumentSession session, CancellationToken ct)
    {
        var caller = Caller.From(principal);
        var grant = await session.LoadAsync<Grant>(id, ct);
        if (grant is null || !await ReadGrantsEndpoint.CanSeeAsync(session, grant, caller, ct)) return Problems.NotFound("grant");

        var held = (await session.AuthorizeAsync(grant.ResourceId, caller, Permission.Read, ct)).Held;
        var otherAdmins = await session.Query<Grant>()
            .CountAsync(g => g.ResourceId == grant.ResourceId && g.Id != grant.Id && !g.Revoked && g.Effect == GrantEffect.Allow
                && g.GranteeType == GranteeType.User && g.Permissions == Access.All, ct);
        if (Decide(grant, caller, held, otherAdmins) is { } problem) return problem;

        session.Events.Append(grant.Id, new GrantRevoked(grant.Id));
        await session.SaveChangesAsync(ct);
        return Results.NoContent();
    }

    public static IResult? Decide(Grant grant, Caller caller, Permission held, int otherActiveAdminGrants)
    {
        if (!held.HasFlag(Permission.Admin) && grant.IssuedBy != caller.Id)
        {
            return Problems.Result(403, "permission_denied", "Only an admin of the resource or the grant's issuer can revoke it.");
        }
        if (grant.Revoked) return Problems.Result(409, "already_revoked", "The grant is already revoked.");
        var isAdminGrant = grant is { Effect: GrantEffect.Allow, GranteeType: GranteeType.User } && grant.Permissions == Access.All;
        return isAdminGrant && otherActiveAdminGrants == 0
            ? Problems.Result(409, "last_admin", "This is the resource's last admin grant; grant admin to someone else first.")
            : null;
    }
}
