using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using AgentArtifacts.Api.Tests.ApiKeys;
using AgentArtifacts.Api.Tests.Infrastructure;
using Shouldly;
using Xunit;

namespace AgentArtifacts.Api.Tests.Mcp;

/// <summary>
/// Clients written by others against the MCP endpoint, run with Node from <c>tests/peers</c>: the official TypeScript SDK's
/// client (<c>mcp-client-check.mjs</c>) and the MCP project's conformance suite (<c>mcp-conformance.mjs</c>), both with an
/// API key in the <c>Authorization</c> header, as a user configures a client with "URL + key".
/// </summary>
public sealed class McpIndependentClientTests(ApiFixture fixture) : ApiTest(fixture)
{
    /// <summary>
    /// The server scenarios that apply to this endpoint; conformance-not-applicable.md in tests/peers says why the others do not.
    /// </summary>
    public static readonly string[] ConformanceScenarios =
        ["server-initialize", "ping", "logging-set-level", "tools-list", "resources-list", "prompts-list"];

    [Theory]
    [InlineData(null, "2025-11-25")]
    [InlineData("2025-06-18", "2025-06-18")]
    public async Task the_typescript_sdk_client_connects_with_an_api_key_lists_and_calls_tools(string? asks, string negotiated)
    {
        var ada = await Fixture.NewUserAsync();
        var artifact = await ada.ArtifactAsync(await ada.WorkspaceAsync(), "Notes", content: "# Notes from TypeScript");
        var key = await ada.KeyAsync("resource:*/*:read", "resource:*/*:search");
        var before = await Fixture.EventCountAsync();

        var summary = await NodeAsync("mcp-client-check.mjs", Endpoint, key.Secret, artifact["id"]!.GetValue<string>(), asks ?? "");

        summary["protocolVersion"]!.GetValue<string>().ShouldBe(negotiated);
        summary["server"]!["name"]!.GetValue<string>().ShouldBe("agentartifacts");
        summary["pinged"]!.GetValue<bool>().ShouldBeTrue();
        summary["sessionIds"]!.AsArray().ShouldBeEmpty("a stateless endpoint issues no session id");
        summary["statuses"]!.AsArray().Select(s => s!.GetValue<int>()).ShouldAllBe(status => status >= 200 && status < 300);
        summary["tools"]!.AsArray().Select(t => t!.GetValue<string>()).ShouldContain("get_artifact");
        summary["toolsWithoutDescription"]!.AsArray().ShouldBeEmpty();
        var read = summary["getArtifact"]!;
        read["isError"]!.GetValue<bool>().ShouldBeFalse(read.ToJsonString());
        read["structuredContent"]!["title"]!.GetValue<string>().ShouldBe("Notes");
        read["structuredContent"]!["content"]!.GetValue<string>().ShouldBe("# Notes from TypeScript");
        var missing = summary["getMissingArtifact"]!;
        missing["isError"]!.GetValue<bool>().ShouldBeTrue();
        missing["structuredContent"].ShouldBeNull();
        missing["text"]![0]!.GetValue<string>().ShouldStartWith("not_found:");
        if (summary["search"] is { } search) search["isError"]!.GetValue<bool>().ShouldBeFalse(search.ToJsonString());
        (await Fixture.EventCountAsync()).ShouldBe(before);
    }

    [Fact]
    public async Task the_conformance_suite_passes_the_scenarios_that_apply()
    {
        var ada = await Fixture.NewUserAsync();
        await ada.ArtifactAsync(await ada.WorkspaceAsync());
        var key = await ada.KeyAsync("resource:*/*:read", "resource:*/*:search");

        var results = await NodeAsync("mcp-conformance.mjs", [Endpoint, key.Secret, .. ConformanceScenarios]);

        foreach (var scenario in ConformanceScenarios)
        {
            results[scenario]!["passed"]!.GetValue<bool>().ShouldBeTrue($"{scenario}:\n{results[scenario]!["output"]}");
        }
    }

    [Fact]
    public async Task every_server_scenario_of_the_suite_is_run_or_explained()
    {
        var peers = Repository.PathOf("tests", "peers");
        var list = await Command.RunAsync(peers, "node",
            ["--import", "./conformance-node20.mjs", "node_modules/@modelcontextprotocol/conformance/dist/index.js", "list", "--server"]);
        list.ExitCode.ShouldBe(0, list.Output);
        var suite = Regex.Matches(list.StandardOutput, @"^\s+- ([a-z0-9-]+)", RegexOptions.Multiline).Select(m => m.Groups[1].Value).ToList();
        var explained = Regex.Matches(File.ReadAllText(Path.Combine(peers, "conformance-not-applicable.md")), @"^\| `([a-z0-9-]+)` \|", RegexOptions.Multiline)
            .Select(m => m.Groups[1].Value).ToList();

        suite.Count.ShouldBeGreaterThan(20);
        explained.ShouldBeUnique();
        explained.Intersect(ConformanceScenarios).ShouldBeEmpty();
        explained.Concat(ConformanceScenarios).ShouldBe(suite, ignoreOrder: true);
    }

    private string Endpoint => new Uri(Fixture.Host.BaseAddress, "/mcp").ToString();

    private static async Task<JsonObject> NodeAsync(string script, params string[] arguments)
    {
        var run = await Command.RunAsync(Repository.PathOf("tests", "peers"), "node", [script, .. arguments]);
        var last = run.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault();
        last.ShouldNotBeNull($"node {script} printed nothing:\n{run.Output}");
        var summary = JsonNode.Parse(last)!.AsObject();
        run.ExitCode.ShouldBe(0, $"node {script} failed:\n{run.Output}");
        return summary;
    }
}
