using System.Net;
using System.Text.Json.Nodes;
using AgentArtifacts.Api.Tests.Infrastructure;
using ModelContextProtocol.Client;
using Shouldly;
using Xunit;

namespace AgentArtifacts.Api.Tests.Mcp;

/// <summary>
/// Clients that initialize (2025-06-18, 2025-11-25) are served without a session: nothing a node holds is needed by the next
/// request, so a client whose requests reach different nodes behind one address works.
/// </summary>
public sealed class McpSessionTests(ApiFixture fixture) : ApiTest(fixture)
{
    [Theory]
    [InlineData("2025-06-18")]
    [InlineData("2025-11-25")]
    public async Task the_csharp_client_of_the_initialize_generation_works_without_a_session(string version)
    {
        var ada = await Fixture.NewUserAsync();
        var id = (await ada.ArtifactAsync(await ada.WorkspaceAsync(), "Plan", content: "# Plan"))["id"]!.GetValue<Guid>();
        await using var client = await Fixture.Host.ClientAsync(ada.AccessToken, protocolVersion: version);

        var tools = await client.ListToolsAsync();
        var result = await client.CallToolAsync("get_artifact", new Dictionary<string, object?> { ["id"] = id });

        client.NegotiatedProtocolVersion.ShouldBe(version);
        client.SessionId.ShouldBeNull();
        tools.Select(t => t.Name).ShouldContain("get_artifact");
        result.IsError.ShouldNotBe(true);
        result.StructuredContent!.Value.GetProperty("title").GetString().ShouldBe("Plan");
    }

    [Fact]
    public async Task initialize_on_one_node_and_call_on_another()
    {
        var ada = await Fixture.NewUserAsync();
        var id = (await ada.ArtifactAsync(await ada.WorkspaceAsync(), "Plan", content: "# Plan"))["id"]!.GetValue<Guid>();
        await using var other = ServiceHost.Start(Fixture.Database.ConnectionString);
        using var http = new HttpClient();

        var initialized = await http.SendAsync(Fixture.Host.Post("""
            {"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}
            """, ada.AccessToken));
        using var notified = other.Post("""{"jsonrpc":"2.0","method":"notifications/initialized"}""", ada.AccessToken);
        notified.Headers.Add("MCP-Protocol-Version", "2025-11-25");
        var notification = await http.SendAsync(notified);
        using var call = other.Post("""{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"get_artifact","arguments":{"id":"ID"}}}""".Replace("ID", id.ToString()), ada.AccessToken);
        call.Headers.Add("MCP-Protocol-Version", "2025-11-25");
        var answer = await http.SendAsync(call);

        initialized.StatusCode.ShouldBe(HttpStatusCode.OK);
        initialized.Headers.Contains("Mcp-Session-Id").ShouldBeFalse();
        notification.StatusCode.ShouldBe(HttpStatusCode.Accepted);
        answer.StatusCode.ShouldBe(HttpStatusCode.OK, await answer.Content.ReadAsStringAsync());
        var text = await answer.Content.ReadAsStringAsync();
        var json = answer.Content.Headers.ContentType?.MediaType == "text/event-stream"
            ? text.Split('\n').Last(l => l.StartsWith("data:", StringComparison.Ordinal))["data:".Length..]
            : text;
        var result = JsonNode.Parse(json)!["result"]!;
        result["isError"]?.GetValue<bool>().ShouldNotBe(true);
        result["structuredContent"]!["title"]!.GetValue<string>().ShouldBe("Plan");
    }
}
