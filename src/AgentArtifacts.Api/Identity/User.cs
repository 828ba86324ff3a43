using Marten;

namespace AgentArtifacts.Api.Identity;

/// <summary>A local user account. Email is unique (case-insensitive); the password is stored only as a hash.</summary>
public sealed class User
{
    public Guid Id { get; set; }
    public string Email { get; set; } = "";
    public string NormalizedEmail { get; set; } = "";
    public string Name { get; set; } = "";
    public string PasswordHash { get; set; } = "";
    public bool IsPlatformAdmin { get; set; }
    public DateTimeOffset CreatedAt { get; set; }

    public static string Normalize(string email) => email.Trim().ToLowerInvariant();
}

/// <summary>A refresh token, stored as its SHA-256. Single use: using it again revokes its whole family.</summary>
public sealed class RefreshToken
{
    public string Id { get; set; } = "";
    public Guid UserId { get; set; }
    public Guid FamilyId { get; set; }
    public DateTimeOffset ExpiresAt { get; set; }
    public DateTimeOffset? UsedAt { get; set; }
    public bool Revoked { get; set; }
    /// <summary>Checked on update (optimistic concurrency): of two requests using the same token at once, only one can mark it used.</summary>
    [Marten.Schema.Version]
    public Guid Version { get; set; }
}

public sealed class IdentityDocuments : IConfigureMarten
{
    public void Configure(IServiceProvider services, StoreOptions options)
    {
        options.Schema.For<User>().UniqueIndex(u => u.NormalizedEmail);
        options.Schema.For<SigningKey>().Identity(k => k.Id);
        options.Schema.For<RefreshToken>().Index(t => t.FamilyId).UseOptimisticConcurrency(true);
    }
}
