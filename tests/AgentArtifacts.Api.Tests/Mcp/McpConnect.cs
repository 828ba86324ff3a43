using AgentArtifacts.Api.Tests.Infrastructure;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace AgentArtifacts.Api.Tests.Mcp;

/// <summary>
/// The official C# MCP client against the real host. A plain HttpClient: the MCP endpoints are JSON-RPC, outside the
/// OpenAPI contract that <see cref="ServiceHost.NewClient"/> checks every response against.
/// </summary>
public static class McpConnect
{
    /// <summary>The 2025 generation: <c>initialize</c> first, then requests. A non-null version is also the minimum the client accepts.</summary>
    public const string InitializeGeneration = "2025-11-25";

    public static async Task<McpClient> ClientAsync(this ServiceHost host, string bearer, string path = "/mcp", string? protocolVersion = null)
    {
        var transport = new HttpClientTransport(new HttpClientTransportOptions
        {
            Endpoint = new Uri(host.BaseAddress, path),
            TransportMode = HttpTransportMode.StreamableHttp,
            AdditionalHeaders = new Dictionary<string, string> { ["Authorization"] = $"Bearer {bearer}" },
            EnableStandaloneGetStream = false,
        }, new HttpClient(), ownsHttpClient: true);
        return await McpClient.CreateAsync(transport, new McpClientOptions
        {
            ClientInfo = new Implementation { Name = "agentartifacts-tests", Version = "1.0" },
            ProtocolVersion = protocolVersion,
        });
    }

    /// <summary>A raw JSON-RPC POST, for what a well-behaved client never sends.</summary>
    public static HttpRequestMessage Post(this ServiceHost host, string json, string? bearer, string path = "/mcp")
    {
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(host.BaseAddress, path))
        {
            Content = new StringContent(json, System.Text.Encoding.UTF8, "application/json"),
        };
        request.Headers.Accept.ParseAdd("application/json");
        request.Headers.Accept.ParseAdd("text/event-stream");
        if (bearer is not null) request.Headers.Authorization = new("Bearer", bearer);
        return request;
    }
}
