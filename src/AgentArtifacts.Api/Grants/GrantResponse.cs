using System.Text.Json.Serialization;

namespace AgentArtifacts.Api.Grants;

public sealed record Grantee(GranteeType Type, Guid? Id = null, string? Email = null);

/// <summary>A grant as the API shows it. <c>token</c> (an invite's claim token) appears once, in the 201 that issued it.</summary>
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
