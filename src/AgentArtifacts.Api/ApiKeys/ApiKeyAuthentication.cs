using System.Text.Encodings.Web;
using Marten;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace AgentArtifacts.Api.ApiKeys;

/// <summary>
/// Authenticates <c>Authorization: Bearer aa_…</c>: one query finds the secret's verifier by its SHA-256 together with its
/// key and usage row. Unknown, rotated-out (past the overlap), revoked and expired keys all fail the same way (401).
/// Looked up on every request, not cached, so a revocation holds at once on every node.
/// </summary>
public sealed class ApiKeyAuthentication(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder,
    IDocumentStore store, TimeProvider clock) : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    /// <summary>lastUsedAt is written when the stored value is older than this: at most about one write per key per minute.</summary>
    public static readonly TimeSpan UsageResolution = TimeSpan.FromMinutes(1);

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (Auth.BearerToken(Request) is not { } presented || !presented.StartsWith(IssueApiKeyEndpoint.Prefix, StringComparison.Ordinal))
        {
            return AuthenticateResult.NoResult();
        }

        await using var session = store.QuerySession();
        ApiKey? key = null;
        ApiKeyUsage? usage = null;
        var hash = Secrets.Hash(presented);
        var secret = await session.Query<CredentialSecret>()
            .Include<ApiKey>(s => s.CredentialId, k => key = k)
            .Include<ApiKeyUsage>(s => s.CredentialId, u => usage = u)
            .Where(s => s.Id == hash).SingleOrDefaultAsync(Context.RequestAborted);
        var now = clock.GetUtcNow();
        if (secret is null || key is null || !key.IsUsable(now) || !secret.IsValid(now))
        {
            return AuthenticateResult.Fail("The API key is invalid, expired or revoked.");
        }

        if (usage is null || now - usage.LastUsedAt >= UsageResolution) await RecordUseAsync(key.Id, now);
        var principal = Caller.ForApiKey(key.OwnerId, key.Id, key.Scopes, key.ResourceIds);
        return AuthenticateResult.Success(new AuthenticationTicket(principal, Scheme.Name));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties) =>
        Auth.WriteUnauthorized(Context, invalid: Auth.BearerToken(Request) is not null);

    private async Task RecordUseAsync(Guid keyId, DateTimeOffset now)
    {
        await using var session = store.LightweightSession();
        session.Store(new ApiKeyUsage { Id = keyId, LastUsedAt = now });
        await session.SaveChangesAsync(Context.RequestAborted);
    }
}
