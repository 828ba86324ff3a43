using System.Net;
using System.Text.Json.Nodes;
using AgentArtifacts.Api.Tests.Infrastructure;
using Shouldly;
using Xunit;

namespace AgentArtifacts.Api.Tests.Runs;

/// <summary>The <c>mcp_tool</c> dispatch kind against a real MCP server (<see cref="McpPeer"/>).</summary>
public sealed class McpToolTests(ApiFixture fixture) : ApiTest(fixture), IAsyncLifetime
{
    private const string ServerType = "application/vnd.agience.mcp-server+json";
    private const string ToolType = "application/vnd.agience.tool+json";
    private McpPeer _peer = null!;

    async Task IAsyncLifetime.InitializeAsync()
    {
        await Fixture.ResetAsync();
        _peer = await McpPeer.StartAsync();
    }

    async Task IAsyncLifetime.DisposeAsync() => await _peer.DisposeAsync();

    private async Task<Guid> ServerAsync(TestUser user, Guid? workspace = null, Uri? url = null, string apiKey = "k-123")
    {
        var context = new JsonObject
        {
            ["transport"] = new JsonObject
            {
                ["type"] = "http", ["url"] = (url ?? _peer.Url).ToString(), ["headers"] = new JsonObject { ["X-Api-Key"] = apiKey },
            },
        };
        return (await user.ArtifactAsync(workspace ?? await user.WorkspaceAsync(), "Peer", contentType: ServerType, content: null, context: context))["id"]!
            .GetValue<Guid>();
    }

    private static async Task<Guid> ToolAsync(TestUser user, Guid server, string toolName, Guid? workspace = null, int? timeoutSeconds = null)
    {
        var context = new JsonObject { ["serverId"] = server.ToString(), ["toolName"] = toolName };
        if (timeoutSeconds is { } seconds) context["timeoutSeconds"] = seconds;
        return (await user.ArtifactAsync(workspace ?? await user.WorkspaceAsync(), toolName, contentType: ToolType, content: null, context: context))["id"]!
            .GetValue<Guid>();
    }

    private static async Task<JsonObject> InvokeAsync(TestUser user, Guid tool, object? input)
    {
        var response = await user.Client.PostJson($"/artifacts/{tool}/invoke", new { input });
        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        return await response.Json();
    }

    private static void ShouldHaveFailed(JsonObject run, string code)
    {
        run["status"]!.GetValue<string>().ShouldBe("failed", run.ToJsonString());
        run["error"]!["code"]!.GetValue<string>().ShouldBe(code, run.ToJsonString());
        run["output"].ShouldBeNull();
    }

    [Fact]
    public async Task list_tools_on_a_server_artifact_returns_its_tools_with_their_schemas()
    {
        var ada = await Fixture.NewUserAsync();
        var server = await ServerAsync(ada);

        var response = await ada.Client.PostJson($"/artifacts/{server}/op/list_tools", new { });

        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        var run = await response.Json();
        (run["status"]!.GetValue<string>(), run["operation"]!.GetValue<string>(), run["kind"]!.GetValue<string>()).ShouldBe(("completed", "list_tools", "mcp_tool"));
        var tools = run["output"]!["tools"]!.AsArray().ToDictionary(t => t!["name"]!.GetValue<string>(), t => t!.AsObject());
        tools.Keys.Order().ShouldBe(["add", "fail", "slow", "whoami"]);
        tools["add"]["description"]!.GetValue<string>().ShouldBe("Adds two integers.");
        var schema = tools["add"]["inputSchema"]!;
        schema["type"]!.GetValue<string>().ShouldBe("object");
        schema["properties"]!["a"]!["type"]!.GetValue<string>().ShouldBe("integer");
        schema["properties"]!["b"]!["description"]!.GetValue<string>().ShouldBe("The second addend.");
        schema["required"]!.AsArray().Select(r => r!.GetValue<string>()).Order().ShouldBe(["a", "b"]);
    }

    [Fact]
    public async Task materialize_creates_one_tool_artifact_per_remote_tool_and_a_second_run_duplicates_nothing()
    {
        var ada = await Fixture.NewUserAsync();
        var server = await ServerAsync(ada);
        var target = await ada.WorkspaceAsync("Tools");

        var first = await MaterializeAsync(ada, server, target);

        first.Values.Distinct().ShouldBe(["created"]);
        first.Keys.Order().ShouldBe(["add", "fail", "slow", "summarize", "whoami"]);
        var artifacts = await ToolArtifactsAsync(ada, target);
        artifacts.Keys.Order().ShouldBe(["add", "fail", "slow", "whoami"]);
        var add = artifacts["add"];
        (add["title"]!.GetValue<string>(), add["description"]!.GetValue<string>(), add["state"]!.GetValue<string>()).ShouldBe(("add", "Adds two integers.", "draft"));
        add["context"]!["serverId"]!.GetValue<Guid>().ShouldBe(server);
        add["context"]!["inputSchema"]!["properties"]!["b"]!["description"]!.GetValue<string>().ShouldBe("The second addend.");

        var prompt = await PromptArtifactAsync(ada, target);
        (prompt["title"]!.GetValue<string>(), prompt["description"]!.GetValue<string>()).ShouldBe(("summarize", "Asks for a summary of a text."));
        prompt["content"]!.GetValue<string>().ShouldBe("Summarize in at most {{words}} words: {{text}}");
        JsonNode.DeepEquals(prompt["context"]!["arguments"], JsonNode.Parse(
            """[{"name":"text","description":"What to summarize.","required":true},{"name":"words","description":"How many words at most.","required":false}]""")).ShouldBeTrue(prompt.ToJsonString());

        var invoked = await InvokeAsync(ada, add["id"]!.GetValue<Guid>(), new { a = 2, b = 5 });
        invoked["output"]!["content"]![0]!["text"]!.GetValue<string>().ShouldBe("7");

        var events = await Fixture.EventCountAsync();
        var second = await MaterializeAsync(ada, server, target);
        second.Values.Distinct().ShouldBe(["unchanged"]);
        (await PromptArtifactAsync(ada, target))["id"]!.GetValue<Guid>().ShouldBe(prompt["id"]!.GetValue<Guid>());
        (await ToolArtifactsAsync(ada, target)).Count.ShouldBe(4);
        (await Fixture.EventCountAsync() - events).ShouldBe(3);  // the run's own events only: requested, started, completed
    }

    [Fact]
    public async Task materialize_updates_a_tool_that_no_longer_matches_its_server_as_a_draft()
    {
        var ada = await Fixture.NewUserAsync();
        var server = await ServerAsync(ada);
        var target = await ada.WorkspaceAsync("Tools");
        await MaterializeAsync(ada, server, target);
        var add = (await ToolArtifactsAsync(ada, target))["add"];
        var stale = new JsonObject
        {
            ["description"] = "An old description.",
            ["context"] = new JsonObject { ["inputSchema"] = new JsonObject { ["type"] = "object", ["properties"] = new JsonObject { ["old"] = new JsonObject() } } },
        };
        (await ada.Client.MergePatch($"/artifacts/{add["id"]}", stale, $"\"{add["version"]}\"")).StatusCode.ShouldBe(HttpStatusCode.OK);

        var again = await MaterializeAsync(ada, server, target);

        again["add"].ShouldBe("updated");
        again["whoami"].ShouldBe("unchanged");
        var updated = (await ToolArtifactsAsync(ada, target))["add"];
        updated["id"]!.GetValue<Guid>().ShouldBe(add["id"]!.GetValue<Guid>());
        updated["description"]!.GetValue<string>().ShouldBe("Adds two integers.");
        updated["context"]!["inputSchema"]!.ToJsonString().ShouldBe(add["context"]!["inputSchema"]!.ToJsonString());
    }

    [Fact]
    public async Task materialize_into_a_workspace_the_caller_cannot_write_creates_nothing()
    {
        var ada = await Fixture.NewUserAsync();
        var eve = await Fixture.NewUserAsync();
        var server = await ServerAsync(eve);
        var adasWorkspace = await ada.WorkspaceAsync("Ada's");

        var response = await eve.Client.PostJson($"/artifacts/{server}/op/materialize", new { input = new { workspaceId = adasWorkspace } });

        var run = await response.Json();
        ShouldHaveFailed(run, "not_found");
        (await ToolArtifactsAsync(ada, adasWorkspace)).ShouldBeEmpty();
    }

    private static async Task<Dictionary<string, string>> MaterializeAsync(TestUser user, Guid server, Guid workspace)
    {
        var response = await user.Client.PostJson($"/artifacts/{server}/op/materialize", new { input = new { workspaceId = workspace } });
        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        var run = await response.Json();
        run["status"]!.GetValue<string>().ShouldBe("completed", run.ToJsonString());
        run["output"]!["prompts"]!.AsArray().Select(p => p!["name"]!.GetValue<string>()).ShouldBe(["summarize"]);
        return run["output"]!["tools"]!.AsArray().Concat(run["output"]!["prompts"]!.AsArray())
            .ToDictionary(t => t!["name"]!.GetValue<string>(), t => t!["action"]!.GetValue<string>());
    }

    private async Task<JsonObject> PromptArtifactAsync(TestUser user, Guid workspace)
    {
        await Fixture.WaitForProjectionsAsync();  // the workspace listing is a projection
        var listing = await (await user.Client.GetAsync($"/workspaces/{workspace}/artifacts?contentType={Uri.EscapeDataString("application/vnd.agience.prompt+json")}")).Json();
        return await (await user.Client.GetAsync($"/artifacts/{listing["items"]!.AsArray().Single()!["id"]}")).Json();
    }

    private async Task<Dictionary<string, JsonObject>> ToolArtifactsAsync(TestUser user, Guid workspace)
    {
        await Fixture.WaitForProjectionsAsync();  // the workspace listing is a projection
        var listing = await (await user.Client.GetAsync($"/workspaces/{workspace}/artifacts?contentType={Uri.EscapeDataString(ToolType)}")).Json();
        var result = new Dictionary<string, JsonObject>();
        foreach (var item in listing["items"]!.AsArray())
        {
            var artifact = await (await user.Client.GetAsync($"/artifacts/{item!["id"]}")).Json();
            result[artifact["context"]!["toolName"]!.GetValue<string>()] = artifact;
        }
        return result;
    }

    [Fact]
    public async Task invoking_a_tool_artifact_calls_the_tool_with_the_input_as_arguments()
    {
        var ada = await Fixture.NewUserAsync();
        var tool = await ToolAsync(ada, await ServerAsync(ada), "add");

        var run = await InvokeAsync(ada, tool, new { a = 2, b = 3 });

        (run["status"]!.GetValue<string>(), run["kind"]!.GetValue<string>(), run["artifactId"]!.GetValue<Guid>()).ShouldBe(("completed", "mcp_tool", tool));
        var content = run["output"]!["content"]!.AsArray().Single()!;
        (content["type"]!.GetValue<string>(), content["text"]!.GetValue<string>()).ShouldBe(("text", "5"));
        _peer.ToolCalls.ShouldBe(1);
        var stream = $"from agentartifacts.mt_events where stream_id = '{run["id"]}'";
        (await Fixture.SqlScalarAsync<long>($"select count(*) {stream}")).ShouldBe(3);
        (await Fixture.SqlScalarAsync<string>($"select data -> 'Output' -> 'content' -> 0 ->> 'text' {stream} and type = 'run_completed'")).ShouldBe("5");
    }

    [Fact]
    public async Task the_server_artifacts_headers_arrive_at_the_server()
    {
        var ada = await Fixture.NewUserAsync();
        var tool = await ToolAsync(ada, await ServerAsync(ada), "whoami");

        var run = await InvokeAsync(ada, tool, null);

        run["status"]!.GetValue<string>().ShouldBe("completed", run.ToJsonString());
        run["output"]!["content"]![0]!["text"]!.GetValue<string>().ShouldBe("key=k-123");
        _peer.ApiKeys.ShouldNotBeEmpty();
        _peer.ApiKeys.ShouldAllBe(key => key == "k-123");
    }

    [Fact]
    public async Task a_secret_in_the_servers_headers_is_the_callers_and_never_shows_in_the_run()
    {
        var ada = await Fixture.NewUserAsync();
        (await ada.Client.PostJson("/secrets", new { name = "MCP_KEY", value = "mcp-secret-93c1d" })).StatusCode.ShouldBe(HttpStatusCode.Created);
        var tool = await ToolAsync(ada, await ServerAsync(ada, apiKey: "{{secret:MCP_KEY}}"), "whoami");

        var run = await InvokeAsync(ada, tool, null);

        _peer.ApiKeys.ShouldAllBe(key => key == "mcp-secret-93c1d");
        run["output"]!["content"]![0]!["text"]!.GetValue<string>().ShouldBe("key=[secret:MCP_KEY]");  // the tool echoed it; the run redacts it
        (await Fixture.SqlScalarAsync<long>("select count(*) from agentartifacts.mt_events where data::text like '%mcp-secret-93c1d%'")).ShouldBe(0);
    }

    [Fact]
    public async Task a_tool_that_reports_an_error_fails_the_run_with_tool_error_and_its_text()
    {
        var ada = await Fixture.NewUserAsync();
        var tool = await ToolAsync(ada, await ServerAsync(ada), "fail");

        var run = await InvokeAsync(ada, tool, new { });

        ShouldHaveFailed(run, "tool_error");
        run["error"]!["detail"]!.GetValue<string>().ShouldBe("the disk is full");
        var stream = $"from agentartifacts.mt_events where stream_id = '{run["id"]}'";
        (await Fixture.SqlScalarAsync<string>($"select data -> 'Error' ->> 'code' {stream} and type = 'run_failed'")).ShouldBe("tool_error");
    }

    [Fact]
    public async Task a_tool_name_the_server_does_not_know_fails_the_run_with_tool_call_rejected()
    {
        var ada = await Fixture.NewUserAsync();
        var tool = await ToolAsync(ada, await ServerAsync(ada), "nope");

        var run = await InvokeAsync(ada, tool, new { });

        ShouldHaveFailed(run, "tool_call_rejected");
        run["error"]!["detail"]!.GetValue<string>().ShouldContain("nope");
        run["error"]!["mcpErrorCode"]!.GetValue<int>().ShouldBe(-32602);  // JSON-RPC invalid params
    }

    [Fact]
    public async Task a_url_that_is_no_mcp_endpoint_fails_the_run_with_upstream_error_and_the_status()
    {
        var ada = await Fixture.NewUserAsync();
        var tool = await ToolAsync(ada, await ServerAsync(ada, url: new Uri(_peer.Url, "/elsewhere")), "add");

        var run = await InvokeAsync(ada, tool, new { a = 1, b = 1 });

        ShouldHaveFailed(run, "upstream_error");
        run["error"]!["status"]!.GetValue<int>().ShouldBe(404);
    }

    [Fact]
    public async Task a_server_that_is_down_fails_the_run_with_upstream_unreachable()
    {
        var ada = await Fixture.NewUserAsync();
        var tool = await ToolAsync(ada, await ServerAsync(ada, url: McpPeer.ClosedUrl()), "add");

        ShouldHaveFailed(await InvokeAsync(ada, tool, new { a = 1, b = 1 }), "upstream_unreachable");
    }

    [Fact]
    public async Task a_tool_slower_than_its_timeout_fails_the_run_with_upstream_timeout()
    {
        var ada = await Fixture.NewUserAsync();
        var tool = await ToolAsync(ada, await ServerAsync(ada), "slow", timeoutSeconds: 1);

        var run = await InvokeAsync(ada, tool, new { });

        ShouldHaveFailed(run, "upstream_timeout");
        run["attempts"]!.GetValue<int>().ShouldBe(4);  // a timeout is transient: retried per the policy, then the run fails
    }

    [Fact]
    public async Task input_that_is_not_an_object_fails_the_run_with_invalid_input_and_calls_nothing()
    {
        var ada = await Fixture.NewUserAsync();
        var tool = await ToolAsync(ada, await ServerAsync(ada), "add");

        ShouldHaveFailed(await InvokeAsync(ada, tool, new[] { 1, 2 }), "invalid_input");
        _peer.ApiKeys.ShouldBeEmpty();
    }

    [Fact]
    public async Task a_caller_who_may_invoke_the_tool_but_not_read_its_server_gets_mcp_server_unavailable()
    {
        var (ada, bob) = (await Fixture.NewUserAsync(), await Fixture.NewUserAsync());
        var serverWorkspace = await ada.WorkspaceAsync("Servers");
        var toolWorkspace = await ada.WorkspaceAsync("Tools");
        var tool = await ToolAsync(ada, await ServerAsync(ada, serverWorkspace), "add", toolWorkspace);
        var dangling = await ToolAsync(ada, Guid.NewGuid(), "add", toolWorkspace);
        (await ada.GrantAsync(toolWorkspace, bob.Id, role: "collaborator")).StatusCode.ShouldBe(HttpStatusCode.Created);

        var refused = await InvokeAsync(bob, tool, new { a = 1, b = 2 });
        var missing = await InvokeAsync(bob, dangling, new { a = 1, b = 2 });

        ShouldHaveFailed(refused, "mcp_server_unavailable");
        ShouldHaveFailed(missing, "mcp_server_unavailable");
        refused["error"]!.ToJsonString().ShouldBe(missing["error"]!.ToJsonString());  // nothing tells a hidden server from none
        _peer.ApiKeys.ShouldBeEmpty();
        (await InvokeAsync(ada, tool, new { a = 1, b = 2 }))["status"]!.GetValue<string>().ShouldBe("completed");
    }
}

/// <summary>The MCP client goes through the egress policy: with the default policy a loopback MCP server is never reached.</summary>
public sealed class McpEgressPolicyTests() : IsolatedHostTest(new Dictionary<string, string?> { ["Egress:AllowPrivateNetworks"] = "false" })
{

    [Fact]
    public async Task a_loopback_mcp_server_is_refused_and_never_called()
    {
        await using var peer = await McpPeer.StartAsync();
        using var ada = await AdaAsync();
        var workspace = (await (await ada.PostJson("/workspaces", new { title = "W" })).Json())["id"]!.GetValue<Guid>();
        var server = (await (await ada.PostJson("/artifacts", new { containerId = workspace, contentType = "application/vnd.agience.mcp-server+json",
            title = "Local", context = new { transport = new { type = "http", url = peer.Url.ToString() } } })).Json())["id"]!.GetValue<Guid>();

        var run = await (await ada.PostJson($"/artifacts/{server}/op/list_tools", new { })).Json();

        run["status"]!.GetValue<string>().ShouldBe("failed");
        run["error"]!["code"]!.GetValue<string>().ShouldBe("egress_refused", run.ToJsonString());
        peer.ApiKeys.ShouldBeEmpty();
    }
}
