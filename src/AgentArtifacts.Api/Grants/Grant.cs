using JasperFx.Events;
using Marten;

namespace AgentArtifacts.Api.Grants;

// The grant stream: one per grant. Grants are immutable: revoke and issue anew. Every change is an event with its actor.

/// <summary>The nine permissions a grant can give or deny. <c>admin</c> implies all the others.</summary>
[Flags]
public enum Permission
{
    None = 0,
    Create = 1 << 0,
    Read = 1 << 1,
    Update = 1 << 2,
    Delete = 1 << 3,
    Evict = 1 << 4,
    Add = 1 << 5,
    Share = 1 << 6,
    Invoke = 1 << 7,
    Admin = 1 << 8,
}

/// <summary>
/// Who a grant is for: a <c>user</c>, an <c>api_key</c>, a <c>group</c> (an artifact listing its members), an <c>invite</c>
/// (whoever claims its token), or a <c>server</c> (a server credential).
/// </summary>
public enum GranteeType { User, ApiKey, Group, Invite, Server }

/// <summary>Whether a grant gives its permissions (<c>allow</c>) or takes them away (<c>deny</c>, which wins over any allow).</summary>
public enum GrantEffect { Allow, Deny }

public sealed record GrantIssued(Guid GrantId, Guid ResourceId, GranteeType GranteeType, Guid? GranteeId, Permission Permissions,
    GrantEffect Effect, DateTimeOffset? ExpiresAt, string? InviteTokenHash = null, int? MaxClaims = null, string? InviteEmail = null,
    Guid? ClaimedFrom = null);
public sealed record GrantRevoked(Guid GrantId);
public sealed record InviteClaimed(Guid GrantId, Guid UserId, Guid UserGrantId);

/// <summary>A grant as of its latest event: what the authorization check reads (indexed by resource and by grantee).</summary>
public sealed class Grant
{
    public Guid Id { get; set; }
    public Guid ResourceId { get; set; }
    public GranteeType GranteeType { get; set; }
    /// <summary>The user, API key or group; for an invite, null until claims turn it into user grants.</summary>
    public Guid? GranteeId { get; set; }
    public Permission Permissions { get; set; }
    public GrantEffect Effect { get; set; }
    public DateTimeOffset? ExpiresAt { get; set; }
    public bool Revoked { get; set; }
    public Guid IssuedBy { get; set; }
    public DateTimeOffset IssuedAt { get; set; }
    public string? InviteTokenHash { get; set; }
    public int? MaxClaims { get; set; }
    public int Claims { get; set; }
    public string? InviteEmail { get; set; }
    public Guid? ClaimedFrom { get; set; }

    public static Grant Create(IEvent<GrantIssued> e) => new()
    {
        Id = e.Data.GrantId,
        ResourceId = e.Data.ResourceId,
        GranteeType = e.Data.GranteeType,
        GranteeId = e.Data.GranteeId,
        Permissions = e.Data.Permissions,
        Effect = e.Data.Effect,
        ExpiresAt = e.Data.ExpiresAt,
        IssuedBy = Guid.TryParse(e.UserName, out var actor) ? actor : Guid.Empty,
        IssuedAt = e.Timestamp,
        InviteTokenHash = e.Data.InviteTokenHash,
        MaxClaims = e.Data.MaxClaims,
        InviteEmail = e.Data.InviteEmail,
        ClaimedFrom = e.Data.ClaimedFrom,
    };

    public void Apply(GrantRevoked _) => Revoked = true;
    public void Apply(InviteClaimed _) => Claims++;

    /// <summary>In force at <paramref name="now"/>: not revoked, not expired.</summary>
    public bool ActiveAt(DateTimeOffset now) => !Revoked && (ExpiresAt is null || ExpiresAt > now);
}

public sealed class GrantStream : IConfigureMarten
{
    public void Configure(IServiceProvider services, StoreOptions options)
    {
        options.Projections.Snapshot<Grant>(JasperFx.Events.Projections.SnapshotLifecycle.Inline);
        options.Schema.For<Grant>().Index(x => x.ResourceId).Index(x => x.GranteeId).Index(x => x.InviteTokenHash!);
    }
}
