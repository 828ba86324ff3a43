using System.Text.Json.Serialization;

namespace AgentArtifacts.Api.Grants;

/// <summary>Who a grant is for.</summary>
/// <param name="Type">What kind of principal.</param>
/// <param name="Id">The user's, API key's, group's or server credential's id; null for an invite (whoever claims it becomes the grantee of a grant of their own).</param>
/// <param name="Email">For an invite, the only email that may claim it (at most 320 characters); null for anyone with the token. Only an invite has one.</param>
public sealed record Grantee(GranteeType Type, Guid? Id = null, string? Email = null);

/// <summary>A grant as the API shows it. <c>token</c> (an invite's claim token) appears once, in the 201 that issued it.</summary>
/// <param name="Id">The grant's id.</param>
/// <param name="ResourceId">The artifact, workspace or collection it is on (a container's grant covers its contents).</param>
/// <param name="Grantee">Who it is for.</param>
/// <param name="Permissions">The permissions it gives or denies, among <c>create</c>, <c>read</c>, <c>update</c>, <c>delete</c>, <c>evict</c>, <c>add</c>, <c>share</c>, <c>invoke</c>, <c>admin</c> (which implies all others).</param>
/// <param name="Effect">Whether it allows or denies them.</param>
/// <param name="ExpiresAt">When it stops counting (ISO 8601, UTC); null if never.</param>
/// <param name="Revoked">Whether it was revoked (a revoked grant no longer counts).</param>
/// <param name="IssuedBy">The id of the principal that issued it.</param>
/// <param name="IssuedAt">When it was issued (ISO 8601, UTC).</param>
/// <param name="MaxClaims">For an invite, how many times it can be claimed; null for no limit (and for other grants).</param>
/// <param name="Claims">For an invite, how many times it was claimed; 0 for other grants.</param>
/// <param name="ClaimedFrom">For a grant made by claiming an invite, that invite's grant id; null otherwise.</param>
/// <param name="Token">An invite's claim token, to hand to the invitee (POST /grants/claim). Only in the answer that issued it; absent otherwise.</param>
public sealed record GrantResponse(Guid Id, Guid ResourceId, Grantee Grantee, IReadOnlyList<string> Permissions, GrantEffect Effect,
    DateTimeOffset? ExpiresAt, bool Revoked, Guid IssuedBy, DateTimeOffset IssuedAt, int? MaxClaims, int Claims, Guid? ClaimedFrom,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Token = null)
{
    public static GrantResponse From(Grant g, string? token = null) => new(g.Id, g.ResourceId, new Grantee(g.GranteeType, g.GranteeId, g.InviteEmail),
        PermissionNames.Of(g.Permissions), g.Effect, g.ExpiresAt, g.Revoked, g.IssuedBy, g.IssuedAt, g.MaxClaims, g.Claims, g.ClaimedFrom, token);
}

/// <summary>Permissions on the wire: lower-case names.</summary>
public static class PermissionNames
{
    public static readonly IReadOnlyList<Permission> Each =
        [Permission.Create, Permission.Read, Permission.Update, Permission.Delete, Permission.Evict, Permission.Add, Permission.Share, Permission.Invoke, Permission.Admin];

    public static IReadOnlyList<string> Of(Permission permissions) =>
        Each.Where(p => permissions.HasFlag(p)).Select(p => p.ToString().ToLowerInvariant()).ToList();

    public static bool TryParse(string name, out Permission permission)
    {
        permission = Each.FirstOrDefault(p => p.ToString().Equals(name, StringComparison.Ordinal) || p.ToString().ToLowerInvariant() == name);
        return permission != Permission.None && name == name.ToLowerInvariant();
    }
}
