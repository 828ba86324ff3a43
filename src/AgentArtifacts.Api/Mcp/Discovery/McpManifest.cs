using AgentArtifacts.Api.ApiKeys;
using AgentArtifacts.Api.Infrastructure;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Options;
using ModelContextProtocol.Server;
using Wolverine.Http;

namespace AgentArtifacts.Api.Mcp.Discovery;

/// <summary>What an MCP client needs before it connects: where the server is, how it is spoken to, and which credentials it takes.</summary>
/// <param name="Name">The server's name, as <c>serverInfo.name</c> in the MCP handshake.</param>
/// <param name="Title">Its display name.</param>
/// <param name="Version">Its version.</param>
/// <param name="Description">What the server offers.</param>
/// <param name="Transport">The transport and the URL of the service's MCP endpoint.</param>
/// <param name="CollectionEndpoint">The URL template of a collection's own MCP endpoint (its committed tools and prompts); <c>{id}</c> is the collection's id.</param>
/// <param name="Authentication">The credentials the endpoints take.</param>
public sealed record McpManifestResponse(string Name, string Title, string Version, string Description, McpTransportInfo Transport,
    string CollectionEndpoint, McpAuthenticationInfo Authentication);

/// <summary>How to reach an MCP endpoint.</summary>
/// <param name="Type">The MCP transport: <c>streamable-http</c> (JSON-RPC over POST; stateless, so no session id is needed).</param>
/// <param name="Endpoint">The endpoint's URL.</param>
public sealed record McpTransportInfo(string Type, string Endpoint);

/// <summary>The credentials the MCP endpoints take, all sent as <c>Authorization: Bearer …</c>.</summary>
/// <param name="Required">Whether every request needs a credential: always.</param>
/// <param name="Schemes">The HTTP authentication schemes: <c>bearer</c>.</param>
/// <param name="Credentials">What may follow <c>Bearer</c>: <c>jwt</c> (an access token of this service's issuer, or of Microsoft Entra ID when configured) or <c>api_key</c> (a key this service issued).</param>
/// <param name="ApiKeyPrefix">How an API key starts.</param>
/// <param name="TokenEndpoint">Where access tokens are issued (OAuth2 password, refresh_token and client_credentials grants).</param>
/// <param name="ProtectedResourceMetadata">The protected resource metadata document (RFC 9728) every 401 names.</param>
public sealed record McpAuthenticationInfo(bool Required, string[] Schemes, string[] Credentials, string ApiKeyPrefix, string TokenEndpoint,
    string ProtectedResourceMetadata);

public static class McpManifestEndpoint
{
    public const string Path = "/.well-known/mcp.json";

    /// <summary>The MCP server card: the endpoint, its transport and the credentials it takes, readable before connecting.</summary>
    [AllowAnonymous]
    [WolverineGet(Path, OperationId = "getMcpManifest"), Tags("Identity")]
    public static McpManifestResponse Get(HttpRequest request, IOptions<McpServerOptions> server)
    {
        var info = server.Value.ServerInfo;
        return new McpManifestResponse(info?.Name ?? "agentartifacts", info?.Title ?? "AgentArtifacts", info?.Version ?? "1.0.0",
            server.Value.ServerInstructions ?? "",
            new McpTransportInfo("streamable-http", PublicUrl.Of(request, McpSetup.Path)),
            PublicUrl.Base(request) + "/collections/{id}/mcp",
            new McpAuthenticationInfo(true, ["bearer"], ["jwt", "api_key"], IssueApiKeyEndpoint.Prefix, PublicUrl.Of(request, "/auth/token"),
                PublicUrl.Of(request, ProtectedResourceEndpoint.Path)));
    }
}
