using JasperFx.Events;
using Marten;

// Not "Secrets": that name would hide Infrastructure.Secrets (bearer-secret hashing) from every slice under AgentArtifacts.Api.
namespace AgentArtifacts.Api.StoredSecrets;

// The secret stream: one per secret. Events carry metadata only, never the value nor its ciphertext (the history
// API and the event feed show events). The ciphertext is a SecretCiphertext document written and deleted in the same
// transaction as the events.

public sealed record SecretCreated(Guid SecretId, Guid OwnerId, string Name, string? Description);
public sealed record SecretDeleted(Guid SecretId);

/// <summary>A secret's metadata as of its latest event (inline snapshot). Deleted secrets keep their row, marked.</summary>
public sealed class StoredSecret
{
    /// <summary>
    /// The content type API-key scopes name secrets by (no artifact has it): <c>resource:*/*:read</c> lists secrets,
    /// <c>resource:text/*:read</c> does not.
    /// </summary>
    public const string ScopeContentType = "application/vnd.agience.secret+json";

    public Guid Id { get; set; }
    public long Version { get; set; }
    public Guid OwnerId { get; set; }
    public string Name { get; set; } = "";
    public string? Description { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset? DeletedAt { get; set; }

    public static StoredSecret Create(IEvent<SecretCreated> e) => new()
    {
        Id = e.Data.SecretId,
        OwnerId = e.Data.OwnerId,
        Name = e.Data.Name,
        Description = e.Data.Description,
        CreatedAt = e.Timestamp,
    };

    public void Apply(IEvent<SecretDeleted> e) => DeletedAt = e.Timestamp;
}

/// <summary>
/// The encrypted value of a live secret (AES-256-GCM, see <see cref="SecretVault"/>). Not an event and not in the snapshot:
/// it exists only while the secret does, and its unique (owner, name) index is what keeps names unique among live secrets.
/// </summary>
public sealed class SecretCiphertext
{
    /// <summary>The secret's id.</summary>
    public Guid Id { get; set; }
    public Guid OwnerId { get; set; }
    public string Name { get; set; } = "";
    /// <summary>Which configured key encrypted it (a fingerprint of the key, not the key), so keys can rotate.</summary>
    public string KeyId { get; set; } = "";
    public byte[] Nonce { get; set; } = [];
    /// <summary>Ciphertext followed by the 16-byte GCM tag.</summary>
    public byte[] Sealed { get; set; } = [];
}

public sealed class SecretStream : IConfigureMarten
{
    public const string NameIndex = "mt_secret_owner_name";

    public void Configure(IServiceProvider services, StoreOptions options)
    {
        options.Projections.Snapshot<StoredSecret>(JasperFx.Events.Projections.SnapshotLifecycle.Inline);
        options.Schema.For<StoredSecret>().Index(s => s.OwnerId);
        options.Schema.For<SecretCiphertext>().UniqueIndex(Marten.Schema.UniqueIndexType.Computed, NameIndex, c => c.OwnerId, c => c.Name);
    }
}

/// <summary>A secret as the API shows it: metadata only, never the value.</summary>
/// <param name="Id">The secret's id.</param>
/// <param name="Name">The name invocations refer to it by (<c>{{secret:NAME}}</c>).</param>
/// <param name="Description">What it is for; null when not given.</param>
/// <param name="CreatedAt">When it was stored (ISO 8601, UTC).</param>
public sealed record SecretResponse(Guid Id, string Name, string? Description, DateTimeOffset CreatedAt)
{
    public static SecretResponse From(StoredSecret s) => new(s.Id, s.Name, s.Description, s.CreatedAt);
}

public static class SecretAccess
{
    /// <summary>The caller's own live secret: anyone else's, or a deleted one, does not exist for them (404).</summary>
    public static async Task<StoredSecret?> LoadOwnAsync(this IQuerySession session, Guid id, Caller caller, CancellationToken ct) =>
        await session.LoadAsync<StoredSecret>(id, ct) is { DeletedAt: null } secret && secret.OwnerId == caller.Id
            && caller.ResourceAllowed(secret.Id, null) ? secret : null;

    /// <summary>
    /// The resource-level scope check for keys and servers (the route declared the action): a scope must cover
    /// <see cref="StoredSecret.ScopeContentType"/>. Null when allowed, else the 403 to answer.
    /// </summary>
    public static IResult? ScopeRefusal(Caller caller, string action) =>
        caller.ScopeAllows(StoredSecret.ScopeContentType, action) ? null
            : Problems.Result(403, "insufficient_scope", $"None of this credential's scopes allows '{action}' on secrets ({StoredSecret.ScopeContentType}).");

    public static IResult Unavailable() => Problems.Result(503, "secrets_unavailable",
        "Secrets are unavailable: no encryption key is configured (Secrets:EncryptionKey).");
}
