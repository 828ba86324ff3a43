using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;

namespace AgentArtifacts.Api.Infrastructure;

/// <summary>The principal a request acts as. Every authenticated request has exactly one.</summary>
public sealed record Caller(Guid Id, string Kind, bool IsPlatformAdmin)
{
    public const string PlatformAdminClaim = "platform_admin";

    // Middleware and the endpoint all ask for the caller of one request: read the claims once per principal.
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<ClaimsPrincipal, Caller> Resolved = new();

    public static Caller From(ClaimsPrincipal user) => Resolved.GetValue(user, Read);

    private static Caller Read(ClaimsPrincipal user)
    {
        var isAdmin = user.HasClaim(PlatformAdminClaim, "true");
        var subject = user.FindFirstValue("sub") ?? user.FindFirstValue(ClaimTypes.NameIdentifier);
        var objectId = user.FindFirstValue("oid") ?? user.FindFirstValue("http://schemas.microsoft.com/identity/claims/objectidentifier");
        if (objectId is null && Guid.TryParse(subject, out var id))
        {
            return new Caller(id, "user", isAdmin);
        }

        // An external (Microsoft Entra ID) user: a stable id derived from issuer tenant and object id. Its token's claims
        // are the tenant's to shape, so it never carries our platform-admin flag.
        var tenant = user.FindFirstValue("tid") ?? user.FindFirstValue("http://schemas.microsoft.com/identity/claims/tenantid") ?? "";
        return new Caller(ExternalUserId(tenant, objectId ?? subject ?? ""), "user", IsPlatformAdmin: false);
    }

    public static Guid ExternalUserId(string tenant, string objectId)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes($"entra:{tenant}:{objectId}"));
        return new Guid(hash.AsSpan(0, 16));
    }
}
