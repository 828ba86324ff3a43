using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using AgentArtifacts.Api.Tests.ApiKeys;
using AgentArtifacts.Api.Tests.Infrastructure;
using Shouldly;
using Xunit;

namespace AgentArtifacts.Api.Tests.Mcp;

/// <summary>What the README tells an MCP user to do: its client configurations and its request by hand.</summary>
public sealed partial class McpReadmeTests(ApiFixture fixture) : ApiTest(fixture)
{
    private static string McpSection()
    {
        var readme = File.ReadAllText(Repository.PathOf("README.md"));
        var start = readme.IndexOf("### The same service over MCP", StringComparison.Ordinal);
        start.ShouldBeGreaterThan(0, "the README has no MCP section");
        var end = readme.IndexOf("\n## ", start, StringComparison.Ordinal);
        return readme[start..(end < 0 ? readme.Length : end)];
    }

    [Fact]
    public void every_client_configuration_in_the_readme_is_json_naming_the_endpoint_and_a_bearer_header()
    {
        var blocks = JsonBlock().Matches(McpSection()).Select(m => m.Groups[1].Value).ToList();

        blocks.Count.ShouldBe(3);
        foreach (var block in blocks)
        {
            var config = JsonNode.Parse(block)!.ToJsonString();
            config.ShouldContain("http://127.0.0.1:8080/mcp");
            config.ShouldContain("Authorization");
            config.ShouldContain("Bearer ");
        }
    }

    [Fact]
    public async Task a_tools_call_posted_by_hand_as_the_readme_shows_answers_one_event_with_the_json_rpc_response()
    {
        var ada = await Fixture.NewUserAsync();
        var id = (await ada.ArtifactAsync(await ada.WorkspaceAsync(), "Notes"))["id"]!.GetValue<Guid>();
        var key = await ada.KeyAsync("resource:*/*:read", "resource:*/*:search", "prompt:*/*:read", "prompt:*/*:search");
        McpSection().ShouldContain("\"resource:*/*:read\",\"resource:*/*:search\",\"prompt:*/*:read\",\"prompt:*/*:search\"");
        using var http = new HttpClient();

        // No initialize and no session: one POST, Accept naming both JSON and event streams.
        using var response = await http.SendAsync(Fixture.Host.Post(
            """{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_artifact","arguments":{"id":"ID"}}}""".Replace("ID", id.ToString()),
            key.Secret));

        response.IsSuccessStatusCode.ShouldBeTrue();
        var data = (await response.Content.ReadAsStringAsync()).Split('\n').Single(l => l.StartsWith("data: ", StringComparison.Ordinal))["data: ".Length..];
        var answer = JsonDocument.Parse(data).RootElement;
        answer.GetProperty("result").GetProperty("structuredContent").GetProperty("title").GetString().ShouldBe("Notes");
    }

    [GeneratedRegex("```json\\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex JsonBlock();
}
