using AgentArtifacts.Api.Grants;
using AgentArtifacts.Api.Infrastructure;
using Microsoft.AspNetCore.Http.HttpResults;
using Shouldly;
using Xunit;

namespace AgentArtifacts.Api.Tests.Grants;

/// <summary>The grant rules as pure functions: no database.</summary>
public sealed class GrantDecisionTests
{
    private static readonly DateTimeOffset Now = DateTimeOffset.UtcNow;
    private static readonly Guid Resource = Guid.CreateVersion7();
    private static readonly Caller Bob = new(Guid.CreateVersion7(), "user", false);

    private static Grant Grant(Permission permissions, GrantEffect effect = GrantEffect.Allow, DateTimeOffset? expiresAt = null, bool revoked = false,
        Guid? resource = null) =>
        new() { Id = Guid.CreateVersion7(), ResourceId = resource ?? Resource, GranteeType = GranteeType.User, GranteeId = Bob.Id,
            Permissions = permissions, Effect = effect, ExpiresAt = expiresAt, Revoked = revoked, IssuedAt = Now };

    private static string? Code(object? result) => (result as ProblemHttpResult)?.ProblemDetails.Extensions["code"] as string;

    [Fact]
    public void a_deny_anywhere_beats_any_allow_and_names_itself()
    {
        var container = Grant(Access.Roles["editor"], resource: Guid.CreateVersion7());
        var deny = Grant(Permission.Update, GrantEffect.Deny);

        var decision = Access.Decide([container, deny], Permission.Update, Now);

        decision.ShouldBe(new AccessDecision(false, deny));
        Access.Decide([container, deny], Permission.Read, Now).ShouldBe(new AccessDecision(true, container));
    }

    [Fact]
    public void admin_covers_every_permission_and_denying_admin_denies_everything()
    {
        Access.Effective([Grant(Permission.Admin)], Now).ShouldBe(Access.All);
        Access.Decide([Grant(Access.All), Grant(Permission.Admin, GrantEffect.Deny)], Permission.Read, Now).Allowed.ShouldBeFalse();
    }

    [Fact]
    public void expired_and_revoked_grants_count_for_nothing_even_as_denies()
    {
        Access.Decide([Grant(Permission.Read, expiresAt: Now.AddSeconds(-1))], Permission.Read, Now).ShouldBe(new AccessDecision(false, null));
        Access.Decide([Grant(Permission.Read, revoked: true)], Permission.Read, Now).Allowed.ShouldBeFalse();
        Access.Decide([Grant(Permission.Read), Grant(Permission.Read, GrantEffect.Deny, Now.AddSeconds(-1))], Permission.Read, Now).Allowed.ShouldBeTrue();
    }

    [Fact]
    public void share_passes_on_only_what_the_granter_holds_admin_passes_on_anything()
    {
        var collaborator = Access.Roles["collaborator"];
        IssueGrant Asking(string role, GrantEffect effect = GrantEffect.Allow) => new(Resource, new Grantee(GranteeType.User, Guid.CreateVersion7()), Role: role, Effect: effect);

        IssueGrantEndpoint.Decide(Asking("editor"), collaborator, Guid.CreateVersion7(), null).ShouldBeOfType<GrantIssued>()
            .Permissions.ShouldBe(Access.Roles["editor"]);
        Code(IssueGrantEndpoint.Decide(Asking("admin"), collaborator, Guid.CreateVersion7(), null)).ShouldBe("permission_denied");
        Code(IssueGrantEndpoint.Decide(Asking("viewer", GrantEffect.Deny), collaborator, Guid.CreateVersion7(), null)).ShouldBe("permission_denied");
        Code(IssueGrantEndpoint.Decide(Asking("viewer"), Access.Roles["editor"], Guid.CreateVersion7(), null)).ShouldBe("permission_denied");
        IssueGrantEndpoint.Decide(Asking("admin", GrantEffect.Deny), Access.All, Guid.CreateVersion7(), null).ShouldBeOfType<GrantIssued>();
    }

    [Fact]
    public void the_last_admin_grant_stays_and_only_admins_or_the_issuer_revoke()
    {
        var admin = Grant(Access.All);
        Code(RevokeGrantEndpoint.Decide(admin, Bob, Access.All, otherActiveAdminGrants: 0)).ShouldBe("last_admin");
        RevokeGrantEndpoint.Decide(admin, Bob, Access.All, otherActiveAdminGrants: 1).ShouldBeNull();
        Code(RevokeGrantEndpoint.Decide(Grant(Permission.Read), Bob, Access.Roles["collaborator"], 1)).ShouldBe("permission_denied");
        var issuedByBob = Grant(Permission.Read);
        issuedByBob.IssuedBy = Bob.Id;
        RevokeGrantEndpoint.Decide(issuedByBob, Bob, Permission.Share, 1).ShouldBeNull();
    }

    [Fact]
    public void an_invite_claim_becomes_a_user_grant_until_max_claims_or_expiry()
    {
        var invite = new Grant { Id = Guid.CreateVersion7(), ResourceId = Resource, GranteeType = GranteeType.Invite, Permissions = Permission.Read,
            MaxClaims = 2, Claims = 1, ExpiresAt = Now.AddDays(1) };

        var claimed = ClaimInviteEndpoint.Decide(invite, Bob, "bob@example.com", false, Now, Guid.CreateVersion7()).ShouldBeOfType<GrantIssued>();
        (claimed.GranteeType, claimed.GranteeId, claimed.Permissions, claimed.ExpiresAt, claimed.ClaimedFrom)
            .ShouldBe((GranteeType.User, (Guid?)Bob.Id, Permission.Read, invite.ExpiresAt, (Guid?)invite.Id));

        invite.Claims = 2;
        Code(ClaimInviteEndpoint.Decide(invite, Bob, null, false, Now, Guid.CreateVersion7())).ShouldBe("invite_exhausted");
        invite.Claims = 0;
        Code(ClaimInviteEndpoint.Decide(invite, Bob, null, false, Now.AddDays(2), Guid.CreateVersion7())).ShouldBe("invite_expired");
        invite.InviteEmail = "ada@example.com";
        Code(ClaimInviteEndpoint.Decide(invite, Bob, "bob@example.com", false, Now, Guid.CreateVersion7())).ShouldBe("permission_denied");
    }
}
