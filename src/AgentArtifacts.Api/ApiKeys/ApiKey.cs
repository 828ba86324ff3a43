using JasperFx.Events;
using Marten;

namespace AgentArtifacts.Api.ApiKeys;

// The API key stream: one per key. Events carry no secret and no hash of one (key material never appears in
// events); the verifier of each secret is a CredentialSecret document written in the same transaction as the event.

public sealed record ApiKeyIssued(Guid KeyId, Guid OwnerId, string Name, IReadOnlyList<string> Scopes, IReadOnlyList<Guid>? ResourceIds,
    DateTimeOffset? ExpiresAt);
public sealed record ApiKeyRenamed(Guid KeyId, string Name);
/// <summary>A new secret was issued; the previous one stays valid until <c>PreviousSecretValidUntil</c>.</summary>
public sealed record ApiKeyRotated(Guid KeyId, DateTimeOffset PreviousSecretValidUntil);
public sealed record ApiKeyRevoked(Guid KeyId);

/// <summary>The key as of its latest event (inline snapshot): what authentication and the key endpoints need.</summary>
public sealed class ApiKey
{
    public Guid Id { get; set; }
    public long Version { get; set; }
    public Guid OwnerId { get; set; }
    public string Name { get; set; } = "";
    public IReadOnlyList<string> Scopes { get; set; } = [];
    public IReadOnlyList<Guid>? ResourceIds { get; set; }
    public DateTimeOffset? ExpiresAt { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset? RotatedAt { get; set; }
    public DateTimeOffset? RevokedAt { get; set; }

    public bool IsUsable(DateTimeOffset now) => RevokedAt is null && (ExpiresAt is null || now < ExpiresAt);

    public static ApiKey Create(IEvent<ApiKeyIssued> e) => new()
    {
        Id = e.Data.KeyId,
        OwnerId = e.Data.OwnerId,
        Name = e.Data.Name,
        Scopes = e.Data.Scopes,
        ResourceIds = e.Data.ResourceIds,
        ExpiresAt = e.Data.ExpiresAt,
        CreatedAt = e.Timestamp,
    };

    public void Apply(ApiKeyRenamed e) => Name = e.Name;
    public void Apply(IEvent<ApiKeyRotated> e) => RotatedAt = e.Timestamp;
    public void Apply(IEvent<ApiKeyRevoked> e) => RevokedAt = e.Timestamp;
}

/// <summary>When a key was last used. Not an event (it would flood the stream) and written at most about once a minute.</summary>
public sealed class ApiKeyUsage
{
    public Guid Id { get; set; }
    public DateTimeOffset LastUsedAt { get; set; }
}

public sealed class ApiKeyOptions
{
    /// <summary>How long the previous secret stays valid after a rotation, so clients can switch without an outage.</summary>
    public int RotationOverlapMinutes { get; set; } = 10;
}

public sealed class ApiKeyStream : IConfigureMarten
{
    public void Configure(IServiceProvider services, StoreOptions options)
    {
        options.Projections.Snapshot<ApiKey>(JasperFx.Events.Projections.SnapshotLifecycle.Inline);
        options.Schema.For<ApiKey>().Index(k => k.OwnerId);
    }
}

/// <summary>A key as the API shows it: never its secret.</summary>
/// <param name="Id">The key's id.</param>
/// <param name="Name">The key's name, for people.</param>
/// <param name="Scopes">What the key may do, each <c>kind:mediaRange:action</c> (e.g. <c>resource:text/*:read</c>); it never allows more than its owner may.</param>
/// <param name="ResourceIds">The only resources (artifacts, workspaces, collections; a container covers its artifacts) the key may reach; null for all of its owner's.</param>
/// <param name="ExpiresAt">When the key stops working (ISO 8601, UTC); null if it never expires.</param>
/// <param name="CreatedAt">When it was issued (ISO 8601, UTC).</param>
/// <param name="RotatedAt">When its secret was last rotated (ISO 8601, UTC); null if never.</param>
/// <param name="LastUsedAt">When it was last used, to within about a minute (ISO 8601, UTC); null if never.</param>
public sealed record ApiKeyResponse(Guid Id, string Name, IReadOnlyList<string> Scopes, IReadOnlyList<Guid>? ResourceIds,
    DateTimeOffset? ExpiresAt, DateTimeOffset CreatedAt, DateTimeOffset? RotatedAt, DateTimeOffset? LastUsedAt)
{
    public static ApiKeyResponse From(ApiKey k, ApiKeyUsage? usage) =>
        new(k.Id, k.Name, k.Scopes, k.ResourceIds, k.ExpiresAt, k.CreatedAt, k.RotatedAt, usage?.LastUsedAt);
}

/// <summary>
/// A key with its secret, answered once by issue and rotate. <c>key</c> is null only in an idempotent replay: the secret is
/// never stored, so a lost answer is recovered by rotating the key.
/// </summary>
/// <param name="Id">The key's id.</param>
/// <param name="Key">The secret (<c>aa_…</c>), to send as <c>Authorization: Bearer</c>. Shown only in this answer; null in an idempotent replay.</param>
/// <param name="Name">The key's name, for people.</param>
/// <param name="Scopes">What the key may do, each <c>kind:mediaRange:action</c> (e.g. <c>resource:text/*:read</c>); it never allows more than its owner may.</param>
/// <param name="ResourceIds">The only resources (artifacts, workspaces, collections; a container covers its artifacts) the key may reach; null for all of its owner's.</param>
/// <param name="ExpiresAt">When the key stops working (ISO 8601, UTC); null if it never expires.</param>
/// <param name="CreatedAt">When it was issued (ISO 8601, UTC).</param>
/// <param name="LastUsedAt">When it was last used, to within about a minute (ISO 8601, UTC); null if never.</param>
public sealed record IssuedApiKeyResponse(Guid Id, string? Key, string Name, IReadOnlyList<string> Scopes, IReadOnlyList<Guid>? ResourceIds,
    DateTimeOffset? ExpiresAt, DateTimeOffset CreatedAt, DateTimeOffset? LastUsedAt)
{
    public static IssuedApiKeyResponse From(ApiKey k, string key, ApiKeyUsage? usage) =>
        new(k.Id, key, k.Name, k.Scopes, k.ResourceIds, k.ExpiresAt, k.CreatedAt, usage?.LastUsedAt);
}

public static class ApiKeyAccess
{
    /// <summary>The caller's own key, unless revoked: anyone else's key, or a revoked one, does not exist for them (404).</summary>
    public static async Task<ApiKey?> LoadOwnAsync(this IQuerySession session, Guid id, Infrastructure.Caller caller, CancellationToken ct) =>
        await session.LoadAsync<ApiKey>(id, ct) is { RevokedAt: null } key && key.OwnerId == caller.Id ? key : null;
}
