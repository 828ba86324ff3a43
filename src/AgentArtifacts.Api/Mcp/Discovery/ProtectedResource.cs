using System.Text.Json.Serialization;
using AgentArtifacts.Api.ApiKeys;
using AgentArtifacts.Api.Identity;
using AgentArtifacts.Api.Infrastructure;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Options;
using Wolverine.Http;

namespace AgentArtifacts.Api.Mcp.Discovery;

/// <summary>OAuth 2.0 protected resource metadata (RFC 9728): which tokens this MCP endpoint takes and who issues them.</summary>
/// <param name="Resource">The protected resource: the URL of the MCP endpoint this document describes.</param>
/// <param name="AuthorizationServers">The issuers whose access tokens the resource accepts: this service's own token issuer.</param>
/// <param name="ScopesSupported">The key actions a scope may grant (a scope is <c>kind:mediaRange:action</c>, e.g. <c>resource:text/*:read</c>).</param>
/// <param name="BearerMethodsSupported">How a token is sent: only in the <c>Authorization: Bearer</c> header.</param>
/// <param name="ResourceName">A human-readable name of the resource.</param>
/// <param name="ResourceDocumentation">Where the service's API is documented.</param>
public sealed record ProtectedResourceMetadataResponse(
    [property: JsonPropertyName("resource")] string Resource,
    [property: JsonPropertyName("authorization_servers")] string[] AuthorizationServers,
    [property: JsonPropertyName("scopes_supported")] IReadOnlyList<string> ScopesSupported,
    [property: JsonPropertyName("bearer_methods_supported")] string[] BearerMethodsSupported,
    [property: JsonPropertyName("resource_name")] string ResourceName,
    [property: JsonPropertyName("resource_documentation")] string ResourceDocumentation);

/// <summary>
/// Every 401 names the root document (<see cref="Path"/>); MCP clients also probe the path-suffixed form of the endpoint they
/// connect to (RFC 9728 §3.1), so <c>/mcp</c> has its own. A collection's endpoint has none: a document per collection id would
/// answer 200 for collections that do not exist (or say which do), and clients fall back to the root document. Both are
/// public and read no data.
/// </summary>
public static class ProtectedResourceEndpoint
{
    public const string Path = "/.well-known/oauth-protected-resource";

    /// <summary>Protected resource metadata of the MCP endpoint (the document every 401 names).</summary>
    [AllowAnonymous]
    [WolverineGet(Path, OperationId = "getProtectedResourceMetadata"), Tags("Identity")]
    public static ProtectedResourceMetadataResponse Get(HttpRequest request, IOptions<SigningKeyOptions> options) =>
        Describe(request, options.Value);

    /// <summary>Protected resource metadata of the MCP endpoint, at the path-suffixed address (RFC 9728 §3.1).</summary>
    [AllowAnonymous]
    [WolverineGet(Path + McpSetup.Path, OperationId = "getMcpProtectedResourceMetadata"), Tags("Identity")]
    public static ProtectedResourceMetadataResponse GetForMcp(HttpRequest request, IOptions<SigningKeyOptions> options) =>
        Describe(request, options.Value);

    private static ProtectedResourceMetadataResponse Describe(HttpRequest request, SigningKeyOptions options) =>
        new(PublicUrl.Of(request, McpSetup.Path), [options.Issuer], ApiKeyScopes.Actions, ["header"], "AgentArtifacts",
            PublicUrl.Of(request, "/docs"));
}
