using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using AgentArtifacts.Api.ApiKeys;

namespace AgentArtifacts.Api.Infrastructure;

/// <summary>
/// The principal a request acts as. Every authenticated request has exactly one: a user (a JWT of ours or of Entra ID), an
/// API key (its owner, narrowed by the key's scopes and resource list), or a server (client credentials).
/// </summary>
public sealed record Caller(Guid Id, string Kind, bool IsPlatformAdmin)
{
    public const string User = "user";
    public const string ApiKey = "apiKey";
    public const string Server = "server";

    public const string PlatformAdminClaim = "platform_admin";
    /// <summary>The principal kind in tokens we issue ("server"); absent means a user.</summary>
    public const string KindClaim = "kind";
    /// <summary>Space-separated scopes (RFC 8693 §4.2 / RFC 9068 style).</summary>
    public const string ScopeClaim = "scope";
    public const string ApiKeyIdClaim = "api_key_id";
    public const string ResourceIdsClaim = "resource_ids";
    /// <summary>Identities whose kind and scope claims we trust, because we made them: our own JWTs and API keys.</summary>
    public const string LocalAuthentication = "local";
    public const string ApiKeyAuthentication = "apiKey";

    /// <summary>For an API key: the key's id (<see cref="Id"/> is its owner's). Null for users and servers.</summary>
    public Guid? ApiKeyId { get; init; }

    /// <summary>The scopes that narrow this principal; null for a user, who is not narrowed.</summary>
    public IReadOnlyList<ApiKeyScope>? Scopes { get; init; }

    /// <summary>For an API key limited to some resources: those ids (artifacts or containers); null means any.</summary>
    public IReadOnlyList<Guid>? ResourceIds { get; init; }

    /// <summary>An API key or a server: acts only within its scopes.</summary>
    public bool IsNarrowed => Scopes is not null;

    /// <summary>Whether the principal's scopes allow <paramref name="action"/> on an artifact of this content type. Always true for users.</summary>
    public bool ScopeAllows(string contentType, string action) => Scopes is null || ApiKeyScopes.Allows(Scopes, contentType, action);

    /// <summary>Whether any scope has this action (the route-level check, before a resource is loaded). Always true for users.</summary>
    public bool ActionAllowed(string action) => Scopes is null || ApiKeyScopes.AllowsAction(Scopes, action);

    /// <summary>
    /// Whether a key limited to resource ids may touch this resource: one of its ids, or an artifact inside one of its
    /// containers. Always true for users, servers and unrestricted keys.
    /// </summary>
    public bool ResourceAllowed(Guid resourceId, Guid? containerId) =>
        ResourceIds is null || ResourceIds.Contains(resourceId) || (containerId is { } c && ResourceIds.Contains(c));

    // Middleware and the endpoint all ask for the caller of one request: read the claims once per principal.
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<ClaimsPrincipal, Caller> Resolved = new();

    public static Caller From(ClaimsPrincipal user) => Resolved.GetValue(user, Read);

    /// <summary>
    /// A principal that stands for this caller, to run one of the service's operations on its behalf outside the request
    /// that authenticated it (a run): <see cref="From"/> answers exactly this caller for it, narrowing included.
    /// </summary>
    public ClaimsPrincipal ToPrincipal()
    {
        var principal = new ClaimsPrincipal(new ClaimsIdentity([new Claim("sub", Id.ToString())], IsNarrowed ? ApiKeyAuthentication : LocalAuthentication, "sub", null));
        Resolved.AddOrUpdate(principal, this);
        return principal;
    }

    /// <summary>The principal of a request made with an API key: the owner, narrowed by the key, never a platform admin.</summary>
    public static ClaimsPrincipal ForApiKey(Guid ownerId, Guid keyId, IReadOnlyList<string> scopes, IReadOnlyList<Guid>? resourceIds)
    {
        var claims = new List<Claim>
        {
            new("sub", ownerId.ToString()),
            new(KindClaim, ApiKey),
            new(ApiKeyIdClaim, keyId.ToString()),
            new(ScopeClaim, string.Join(' ', scopes)),
        };
        if (resourceIds is not null) claims.Add(new Claim(ResourceIdsClaim, string.Join(' ', resourceIds)));
        return new ClaimsPrincipal(new ClaimsIdentity(claims, ApiKeyAuthentication, "sub", null));
    }

    private static Caller Read(ClaimsPrincipal user)
    {
        var subject = user.FindFirstValue("sub") ?? user.FindFirstValue(ClaimTypes.NameIdentifier);
        if (user.Identity?.AuthenticationType is LocalAuthentication or ApiKeyAuthentication && Guid.TryParse(subject, out var local))
        {
            var kind = user.FindFirstValue(KindClaim) ?? User;
            if (kind == User) return new Caller(local, User, user.HasClaim(PlatformAdminClaim, "true"));
            // Narrowed principals never carry platform-admin power, whatever their owner holds.
            return new Caller(local, kind, IsPlatformAdmin: false)
            {
                ApiKeyId = Guid.TryParse(user.FindFirstValue(ApiKeyIdClaim), out var keyId) ? keyId : null,
                Scopes = ApiKeyScopes.ParseStored(Split(user.FindFirstValue(ScopeClaim))),
                ResourceIds = user.FindFirstValue(ResourceIdsClaim) is { } ids ? Split(ids).Select(Guid.Parse).ToList() : null,
            };
        }

        var objectId = user.FindFirstValue("oid") ?? user.FindFirstValue("http://schemas.microsoft.com/identity/claims/objectidentifier");
        if (objectId is null && Guid.TryParse(subject, out var id))
        {
            return new Caller(id, User, IsPlatformAdmin: false);
        }

        // An external (Microsoft Entra ID) user: a stable id derived from issuer tenant and object id. Its token's claims
        // are the tenant's to shape, so it never carries our platform-admin flag, nor a kind or scopes of ours.
        var tenant = user.FindFirstValue("tid") ?? user.FindFirstValue("http://schemas.microsoft.com/identity/claims/tenantid") ?? "";
        return new Caller(ExternalUserId(tenant, objectId ?? subject ?? ""), User, IsPlatformAdmin: false);
    }

    private static string[] Split(string? value) => (value ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries);

    public static Guid ExternalUserId(string tenant, string objectId)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes($"entra:{tenant}:{objectId}"));
        return new Guid(hash.AsSpan(0, 16));
    }
}
