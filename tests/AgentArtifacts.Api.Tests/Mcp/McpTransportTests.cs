using System.Net;
using AgentArtifacts.Api.Tests.Infrastructure;
using Shouldly;
using Xunit;

namespace AgentArtifacts.Api.Tests.Mcp;

/// <summary>The MCP endpoint's transport: both client generations connect, and no node keeps a session for them.</summary>
public sealed class McpTransportTests(ApiFixture fixture) : ApiTest(fixture)
{
    [Fact]
    public async Task a_client_that_initializes_connects_with_a_user_token_and_pings()
    {
        var user = await Fixture.NewUserAsync();
        await using var client = await Fixture.Host.ClientAsync(user.AccessToken, protocolVersion: McpConnect.InitializeGeneration);

        client.ServerInfo!.Name.ShouldBe("agentartifacts");
        client.NegotiatedProtocolVersion.ShouldBe(McpConnect.InitializeGeneration);
        await client.PingAsync();
    }

    [Fact]
    public async Task a_client_of_the_stateless_generation_connects_without_initialize()
    {
        var user = await Fixture.NewUserAsync();
        await using var client = await Fixture.Host.ClientAsync(user.AccessToken);

        client.ServerInfo!.Name.ShouldBe("agentartifacts");
        client.NegotiatedProtocolVersion.ShouldBe("2026-07-28");
    }

    [Fact]
    public async Task initialize_issues_no_session_so_the_next_request_may_reach_any_node()
    {
        var user = await Fixture.NewUserAsync();
        using var http = new HttpClient();
        using var request = Fixture.Host.Post("""
            {"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}
            """, user.AccessToken);
        using var response = await http.SendAsync(request);

        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        response.Headers.Contains("Mcp-Session-Id").ShouldBeFalse();
        (await response.Content.ReadAsStringAsync()).ShouldContain("\"protocolVersion\":\"2025-11-25\"");
    }
}
