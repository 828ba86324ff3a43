using JasperFx.Events;
using Marten;

namespace AgentArtifacts.Api.ServerCredentials;

// The server credential stream: one per credential (its id is the OAuth2 client_id). Managed by platform admins only.
// Like API keys, events carry no secret: each secret's verifier is a CredentialSecret document.

public sealed record ServerCredentialIssued(Guid ClientId, string Name, IReadOnlyList<string> Scopes);
public sealed record ServerCredentialRotated(Guid ClientId, DateTimeOffset PreviousSecretValidUntil);
public sealed record ServerCredentialRevoked(Guid ClientId);

/// <summary>The credential as of its latest event (inline snapshot).</summary>
public sealed class ServerCredential
{
    public Guid Id { get; set; }
    public long Version { get; set; }
    public string Name { get; set; } = "";
    public IReadOnlyList<string> Scopes { get; set; } = [];
    public Guid CreatedBy { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset? RotatedAt { get; set; }
    public DateTimeOffset? RevokedAt { get; set; }

    public static ServerCredential Create(IEvent<ServerCredentialIssued> e) => new()
    {
        Id = e.Data.ClientId,
        Name = e.Data.Name,
        Scopes = e.Data.Scopes,
        CreatedBy = Guid.TryParse(e.UserName, out var actor) ? actor : Guid.Empty,
        CreatedAt = e.Timestamp,
    };

    public void Apply(IEvent<ServerCredentialRotated> e) => RotatedAt = e.Timestamp;
    public void Apply(IEvent<ServerCredentialRevoked> e) => RevokedAt = e.Timestamp;
}

/// <summary>A server credential as the API shows it: never its secret.</summary>
/// <param name="ClientId">The credential's id, its OAuth2 <c>client_id</c>.</param>
/// <param name="Name">The credential's name, for people.</param>
/// <param name="Scopes">What servers using it may do, each <c>kind:mediaRange:action</c>.</param>
/// <param name="CreatedBy">The id of the platform admin who issued it.</param>
/// <param name="CreatedAt">When it was issued (ISO 8601, UTC).</param>
/// <param name="RotatedAt">When its secret was last rotated (ISO 8601, UTC); null if never.</param>
public sealed record ServerCredentialResponse(Guid ClientId, string Name, IReadOnlyList<string> Scopes, Guid CreatedBy, DateTimeOffset CreatedAt,
    DateTimeOffset? RotatedAt)
{
    public static ServerCredentialResponse From(ServerCredential c) => new(c.Id, c.Name, c.Scopes, c.CreatedBy, c.CreatedAt, c.RotatedAt);
}

/// <summary>
/// A credential with its secret, answered once by issue and rotate. <c>clientSecret</c> is null only in an idempotent
/// replay: the secret is never stored, so a lost answer is recovered by rotating.
/// </summary>
/// <param name="ClientId">The credential's id, its OAuth2 <c>client_id</c>.</param>
/// <param name="ClientSecret">The OAuth2 <c>client_secret</c>. Shown only in this answer; null in an idempotent replay.</param>
/// <param name="Name">The credential's name, for people.</param>
/// <param name="Scopes">What servers using it may do, each <c>kind:mediaRange:action</c>.</param>
/// <param name="CreatedAt">When it was issued (ISO 8601, UTC).</param>
public sealed record IssuedServerCredentialResponse(Guid ClientId, string? ClientSecret, string Name, IReadOnlyList<string> Scopes,
    DateTimeOffset CreatedAt)
{
    public static IssuedServerCredentialResponse From(ServerCredential c, string secret) => new(c.Id, secret, c.Name, c.Scopes, c.CreatedAt);
}

public sealed class ServerCredentialOptions
{
    /// <summary>How long the previous client secret stays valid after a rotation.</summary>
    public int RotationOverlapMinutes { get; set; } = 10;
    /// <summary>Lifetime of a client_credentials access token; short, since there is no refresh token and revocation waits for expiry.</summary>
    public int TokenMinutes { get; set; } = 15;
}

public static class ServerCredentialAccess
{
    public const string SecretPrefix = "aas_";

    /// <summary>Only platform admins manage server credentials.</summary>
    public static IResult? RequireAdmin(Caller caller) => caller.IsPlatformAdmin ? null
        : Problems.Result(403, "permission_denied", "Only platform admins manage server credentials.");

    public static async Task<ServerCredential?> LoadActiveAsync(this IQuerySession session, Guid clientId, CancellationToken ct) =>
        await session.LoadAsync<ServerCredential>(clientId, ct) is { RevokedAt: null } credential ? credential : null;
}

public sealed class ServerCredentialStream : IConfigureMarten
{
    public void Configure(IServiceProvider services, StoreOptions options) =>
        options.Projections.Snapshot<ServerCredential>(JasperFx.Events.Projections.SnapshotLifecycle.Inline);
}
