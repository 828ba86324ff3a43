using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using AgentArtifacts.Api.Grants;
using AgentArtifacts.Api.Runs;
using AgentArtifacts.Api.StoredSecrets;
using Marten;

namespace AgentArtifacts.Api.Webhooks;

/// <summary>An endpoint as the API shows it: never its secret.</summary>
/// <param name="Id">The webhook's id.</param>
/// <param name="Url">Where deliveries are POSTed.</param>
/// <param name="Types">Only events whose type matches one of these globs (e.g. <c>artifact.*</c>) are delivered; null for all.</param>
/// <param name="ContainerId">Only events inside this container (or about it) are delivered; null for all the owner may read.</param>
/// <param name="Description">A note for people; null if none.</param>
/// <param name="Enabled">Whether deliveries run. An endpoint failing for a day is disabled; PATCH <c>enabled: true</c> resumes it.</param>
/// <param name="DisabledReason">Why it was disabled; null while enabled.</param>
/// <param name="CreatedAt">When it was created (ISO 8601, UTC).</param>
/// <param name="SecretRotatedAt">When its secret was last rotated (ISO 8601, UTC); null if never.</param>
public sealed record WebhookResponse(Guid Id, string Url, IReadOnlyList<string>? Types, Guid? ContainerId, string? Description, bool Enabled,
    string? DisabledReason, DateTimeOffset CreatedAt, DateTimeOffset? SecretRotatedAt)
{
    public static WebhookResponse From(Webhook w) =>
        new(w.Id, w.Url, w.Types, w.ContainerId, w.Description, w.Enabled, w.DisabledReason, w.CreatedAt, w.SecretRotatedAt);
}

/// <summary>An endpoint with its signing secret, answered once by create and rotate-secret.</summary>
/// <param name="Id">The webhook's id.</param>
/// <param name="Secret">The signing secret (<c>whsec_</c> and base64), for a Standard Webhooks verifier. Shown only in this answer; null in an idempotent replay.</param>
/// <param name="Url">Where deliveries are POSTed.</param>
/// <param name="Types">Only events whose type matches one of these globs are delivered; null for all.</param>
/// <param name="ContainerId">Only events inside this container are delivered; null for all the owner may read.</param>
/// <param name="Description">A note for people; null if none.</param>
/// <param name="Enabled">Whether deliveries run.</param>
/// <param name="CreatedAt">When it was created (ISO 8601, UTC).</param>
/// <param name="PreviousSecretValidUntil">After a rotation: until when the previous secret also signs every delivery (ISO 8601, UTC); otherwise null.</param>
public sealed record WebhookWithSecretResponse(Guid Id, string? Secret, string Url, IReadOnlyList<string>? Types, Guid? ContainerId, string? Description,
    bool Enabled, DateTimeOffset CreatedAt, DateTimeOffset? PreviousSecretValidUntil)
{
    public static WebhookWithSecretResponse From(Webhook w, string secret, DateTimeOffset? previousValidUntil) =>
        new(w.Id, secret, w.Url, w.Types, w.ContainerId, w.Description, w.Enabled, w.CreatedAt, previousValidUntil);
}

public static partial class WebhookRules
{
    public const int MaxUrlLength = 2000;
    public const int MaxDescriptionLength = 500;
    public const int MaxTypes = 50;

    /// <summary>The caller's own endpoint, unless deleted: anyone else's does not exist for them (404).</summary>
    public static async Task<Webhook?> LoadOwnAsync(this IQuerySession session, Guid id, Caller caller, CancellationToken ct) =>
        await session.LoadAsync<Webhook>(id, ct) is { DeletedAt: null } w && w.OwnerId == caller.Id ? w : null;

    /// <summary>
    /// A URL deliveries may go to: absolute http(s) (https only, when <c>Webhooks:RequireHttps</c>), without credentials, whose
    /// host resolves to addresses the egress policy of invocations allows. Null when fine, else the 400 to answer.
    /// </summary>
    public static async Task<IResult?> UrlProblemAsync(string url, EgressPolicy egress, WebhookOptions options, CancellationToken ct)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || url.Length > MaxUrlLength)
        {
            return Problems.Invalid("url", $"url must be an absolute http(s) URL of at most {MaxUrlLength} characters.", "invalid_url");
        }
        if (options.RequireHttps && uri.Scheme != "https")
        {
            return Problems.Invalid("url", "This service delivers webhooks only to https URLs.", "https_required");
        }
        if (uri.UserInfo.Length > 0)
        {
            return Problems.Invalid("url", "The URL must not carry credentials; the signature authenticates deliveries.", "invalid_url");
        }
        try
        {
            if ((await egress.AllowedAddressesAsync(uri.IdnHost, ct)).Length == 0)
            {
                return Problems.Invalid("url", $"{uri.Host} resolves only to private or loopback addresses, which this service may not reach.", "egress_refused");
            }
        }
        catch (SocketException)
        {
            return Problems.Invalid("url", $"{uri.Host} does not resolve.", "url_unresolvable");
        }
        return null;
    }

    /// <summary>The container filter must name a container the caller may read. Null when fine (or none), else the 400.</summary>
    public static async Task<IResult?> ContainerProblemAsync(Guid? containerId, Caller caller, IQuerySession session, CancellationToken ct) =>
        containerId is not { } id || await session.LoadVisibleAsync(id, caller, ct) is { IsContainer: true } ? null
            : Problems.Invalid("containerId", "containerId names no container you can read.", "unknown_container");

    /// <summary>A type glob: dotted lower-case names with <c>*</c> wildcards (<c>artifact.*</c>, <c>*.created</c>, <c>*</c>).</summary>
    public static bool IsTypeGlob(string glob) => glob.Length <= 100 && TypeGlob().IsMatch(glob);

    public static bool TypeMatches(IReadOnlyList<string>? globs, string type) =>
        globs is null || globs.Any(g => Regex.IsMatch(type, "^" + Regex.Escape(g).Replace("\\*", "[a-z0-9_.]*") + "$"));

    [GeneratedRegex("^([a-z0-9_]+|\\*)(\\.([a-z0-9_]+|\\*))*$")]
    private static partial Regex TypeGlob();
}

/// <summary>Standard Webhooks secrets and signatures (https://www.standardwebhooks.com/).</summary>
public static class WebhookSigning
{
    public const string SecretPrefix = "whsec_";

    /// <summary>A new secret: <c>whsec_</c> and 24 random bytes in base64 (the form every Standard Webhooks library reads).</summary>
    public static string NewSecret() => SecretPrefix + Convert.ToBase64String(RandomNumberGenerator.GetBytes(24));

    /// <summary>
    /// The <c>webhook-signature</c> header: <c>v1,</c> and the base64 HMAC-SHA256 of <c>{id}.{timestamp}.{body}</c> under each
    /// secret (the base64 after <c>whsec_</c>, decoded), space-separated, so a receiver holding either secret verifies it.
    /// </summary>
    public static string Signature(string messageId, long timestamp, string body, IEnumerable<string> secrets)
    {
        var content = Encoding.UTF8.GetBytes($"{messageId}.{timestamp}.{body}");
        return string.Join(' ', secrets.Select(s => "v1," + Convert.ToBase64String(HMACSHA256.HashData(Convert.FromBase64String(s[SecretPrefix.Length..]), content))));
    }

    /// <summary>Stores a new secret of the endpoint, encrypted, in the caller's session; returns it.</summary>
    public static string Issue(IDocumentSession session, SecretVault vault, Guid webhookId, DateTimeOffset now)
    {
        var secret = NewSecret();
        var id = Guid.CreateVersion7();
        session.Insert(new WebhookSecret { Id = id, WebhookId = webhookId, CreatedAt = now, Ciphertext = vault.Encrypt(id, webhookId, "webhook", secret) });
        return secret;
    }

    /// <summary>The secrets that sign a delivery now: the current one, and during a rotation's overlap the previous ones too.</summary>
    public static async Task<IReadOnlyList<string>> SigningSecretsAsync(IQuerySession session, SecretVault vault, Guid webhookId, DateTimeOffset now,
        CancellationToken ct) =>
        (await session.Query<WebhookSecret>().Where(s => s.WebhookId == webhookId).ToListAsync(ct))
            .Where(s => s.IsValid(now)).OrderByDescending(s => s.CreatedAt).Select(s => vault.Decrypt(s.Ciphertext)).ToList();
}
