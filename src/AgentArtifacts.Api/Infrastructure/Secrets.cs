using System.Security.Cryptography;
using System.Text;
using Marten;

namespace AgentArtifacts.Api.Infrastructure;

/// <summary>
/// Bearer secrets we generate (API keys, client secrets): 256 random bits, base64url, behind a recognisable prefix. They are
/// stored only as SHA-256: with 256 bits of entropy no dictionary or brute force applies, so a slow password hash would add
/// cost on every request and no protection, and an unsalted hash lets a request find its record with one index lookup.
/// </summary>
public static class Secrets
{
    public static string New(string prefix) =>
        prefix + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public static string Hash(string secret) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(secret)));

    /// <summary>Stores the verifier of a new secret for a credential (in the caller's session and transaction) and returns the secret.</summary>
    public static string Issue(IDocumentSession session, Guid credentialId, string prefix)
    {
        var secret = New(prefix);
        session.Insert(new CredentialSecret { Id = Hash(secret), CredentialId = credentialId });
        return secret;
    }

    /// <summary>
    /// Rotation: every current secret of the credential stays valid until <paramref name="overlapEnds"/> (one already ending
    /// sooner keeps its end), and a new secret is issued. Returns the new secret.
    /// </summary>
    public static async Task<string> RotateAsync(IDocumentSession session, Guid credentialId, string prefix, DateTimeOffset overlapEnds,
        CancellationToken ct)
    {
        foreach (var old in await session.Query<CredentialSecret>().Where(s => s.CredentialId == credentialId).ToListAsync(ct))
        {
            if (old.ValidUntil is { } until && until <= overlapEnds) continue;
            old.ValidUntil = overlapEnds;
            session.Update(old);
        }
        return Issue(session, credentialId, prefix);
    }

    /// <summary>Forget every secret of a revoked credential.</summary>
    public static void Revoke(IDocumentSession session, Guid credentialId) =>
        session.DeleteWhere<CredentialSecret>(s => s.CredentialId == credentialId);
}

/// <summary>
/// The verifier of one secret of an API key or server credential: its SHA-256 as the id, so a presented secret is found by
/// one primary-key lookup. Not an event: key material (hashes included) never goes into the event store. A rotated-away
/// secret keeps its row, with <c>ValidUntil</c> the end of the overlap.
/// </summary>
public sealed class CredentialSecret
{
    public string Id { get; set; } = "";
    public Guid CredentialId { get; set; }
    public DateTimeOffset? ValidUntil { get; set; }

    public bool IsValid(DateTimeOffset now) => ValidUntil is null || now < ValidUntil;
}

public sealed class CredentialSecretDocuments : IConfigureMarten
{
    public void Configure(IServiceProvider services, StoreOptions options) =>
        options.Schema.For<CredentialSecret>().Identity(s => s.Id).Index(s => s.CredentialId);
}
