extern alias JsonEverything;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using AgentArtifacts.Api.Tests.ApiKeys;
using AgentArtifacts.Api.Tests.Infrastructure;
using AgentArtifacts.Api.Tests.Runs;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using Shouldly;
using Xunit;
using JsonEverything::Json.Schema;

namespace AgentArtifacts.Api.Tests.Mcp;

/// <summary>The <c>invoke</c> and <c>get_run</c> tools of <c>/mcp</c>: runs as REST makes them, answered within a bounded wait.</summary>
public sealed class McpRunToolTests(ApiFixture fixture) : ApiTest(fixture), IAsyncLifetime
{
    private HttpPeer _peer = null!;

    async Task IAsyncLifetime.InitializeAsync()
    {
        await Fixture.ResetAsync();
        _peer = await HttpPeer.StartAsync();
    }

    async Task IAsyncLifetime.DisposeAsync() => await _peer.DisposeAsync();

    public static Dictionary<string, object?> Args(params (string Name, object? Value)[] args) => args.ToDictionary(a => a.Name, a => a.Value);

    public static string Text(CallToolResult result) => string.Join("\n", result.Content.OfType<TextContentBlock>().Select(c => c.Text));

    [Fact]
    public async Task invoke_of_a_quick_tool_answers_with_the_finished_run_and_its_output()
    {
        var user = await Fixture.NewUserAsync();
        var tool = await user.HttpToolAsync(_peer, "/echo");
        await using var client = await Fixture.Host.ClientAsync(user.AccessToken);

        var result = await client.CallToolAsync("invoke", Args(("artifactId", tool), ("input", new { city = "Oslo" })));

        result.IsError.ShouldNotBe(true, Text(result));
        var run = result.StructuredContent!.Value.GetProperty("run");
        var follow = result.StructuredContent!.Value.GetProperty("follow");
        run.GetProperty("status").GetString().ShouldBe("completed");
        run.GetProperty("output").GetProperty("echo").GetProperty("city").GetString().ShouldBe("Oslo");
        follow.ValueKind.ShouldBe(JsonValueKind.Null);
        var rest = await (await user.Client.GetAsync($"/runs/{run.GetProperty("id").GetGuid()}")).Json();
        (rest["status"]!.GetValue<string>(), rest["artifactId"]!.GetValue<Guid>(), rest["callerId"]!.GetValue<Guid>())
            .ShouldBe(("completed", tool, user.Id));
        _peer.Calls.ShouldBe(1);
    }

    [Fact]
    public async Task invoke_of_a_tool_that_needs_approval_answers_with_the_pending_run_and_how_to_follow_it()
    {
        var user = await Fixture.NewUserAsync();
        var tool = await user.HttpToolAsync(_peer, "/echo", c => c["requiresApproval"] = true);
        await using var client = await Fixture.Host.ClientAsync(user.AccessToken);

        var result = await client.CallToolAsync("invoke", Args(("artifactId", tool), ("input", new { amount = 3 })));

        result.IsError.ShouldNotBe(true, Text(result));
        var run = result.StructuredContent!.Value.GetProperty("run");
        var follow = result.StructuredContent!.Value.GetProperty("follow");
        run.GetProperty("status").GetString().ShouldBe("awaiting_approval");
        var id = run.GetProperty("id").GetGuid();
        follow.GetProperty("run").GetString().ShouldBe($"/runs/{id}");
        follow.GetProperty("events").GetString().ShouldBe($"/runs/{id}/events");
        follow.GetProperty("tool").GetString().ShouldBe("get_run");
        (await (await user.Client.GetAsync("/approvals")).Json())["items"]!.AsArray().Single()!["runId"]!.GetValue<Guid>().ShouldBe(id);
        _peer.Calls.ShouldBe(0);
    }

    [Fact]
    public async Task invoke_of_a_tool_that_fails_is_an_error_result_with_the_runs_error_code_and_id()
    {
        var user = await Fixture.NewUserAsync();
        var tool = await user.HttpToolAsync(_peer, "/status/422");
        await using var client = await Fixture.Host.ClientAsync(user.AccessToken);

        var result = await client.CallToolAsync("invoke", Args(("artifactId", tool), ("input", new { })));

        result.IsError.ShouldBe(true);
        result.StructuredContent.ShouldBeNull();
        var text = Text(result);
        text.ShouldStartWith("upstream_error:");
        var runs = (await (await user.Client.GetAsync($"/runs?artifactId={tool}")).Json())["items"]!.AsArray();
        var runId = runs.Single()!["id"]!.GetValue<Guid>();
        runs.Single()!["status"]!.GetValue<string>().ShouldBe("failed");
        text.ShouldContain(runId.ToString());
    }

    [Fact]
    public async Task invoke_with_input_the_tools_schema_refuses_is_an_error_and_records_no_run()
    {
        var user = await Fixture.NewUserAsync();
        var tool = await user.HttpToolAsync(_peer, "/echo",
            c => c["inputSchema"] = new JsonObject { ["type"] = "object", ["required"] = new JsonArray("city") });
        await using var client = await Fixture.Host.ClientAsync(user.AccessToken);
        var before = await Fixture.EventCountAsync();

        var result = await client.CallToolAsync("invoke", Args(("artifactId", tool), ("input", new { town = "Oslo" })));

        result.IsError.ShouldBe(true);
        Text(result).ShouldStartWith("invalid_input:");
        (await Fixture.EventCountAsync()).ShouldBe(before);
        _peer.Calls.ShouldBe(0);
    }

    [Fact]
    public async Task invoke_without_the_invoke_permission_is_permission_denied_and_appends_nothing()
    {
        var (ada, bob) = (await Fixture.NewUserAsync(), await Fixture.NewUserAsync());
        var tool = await ada.HttpToolAsync(_peer, "/echo");
        var workspace = (await (await ada.Client.GetAsync($"/artifacts/{tool}")).Json())["containerId"]!.GetValue<Guid>();
        (await ada.GrantAsync(workspace, bob.Id, role: "viewer")).StatusCode.ShouldBe(HttpStatusCode.Created);
        await using var client = await Fixture.Host.ClientAsync(bob.AccessToken);
        var before = await Fixture.EventCountAsync();

        var result = await client.CallToolAsync("invoke", Args(("artifactId", tool), ("input", new { })));

        result.IsError.ShouldBe(true);
        Text(result).ShouldStartWith("permission_denied:");
        (await Fixture.EventCountAsync()).ShouldBe(before);
        _peer.Calls.ShouldBe(0);
    }

    [Fact]
    public async Task a_key_without_an_invoke_scope_does_not_see_invoke_and_a_call_is_insufficient_scope_with_nothing_appended()
    {
        var user = await Fixture.NewUserAsync();
        var tool = await user.HttpToolAsync(_peer, "/echo");
        var reader = await user.KeyAsync("resource:*/*:read");
        await using var client = await Fixture.Host.ClientAsync(reader.Secret);
        var before = await Fixture.EventCountAsync();

        var names = (await client.ListToolsAsync()).Select(t => t.Name).ToList();
        var result = await client.CallToolAsync("invoke", Args(("artifactId", tool), ("input", new { })));

        names.ShouldNotContain("invoke");
        names.ShouldContain("get_run");
        result.IsError.ShouldBe(true);
        Text(result).ShouldStartWith("insufficient_scope:");
        (await Fixture.EventCountAsync()).ShouldBe(before);
        _peer.Calls.ShouldBe(0);
    }

    [Fact]
    public async Task a_key_that_may_read_and_invoke_tools_gets_the_result_of_its_run()
    {
        var user = await Fixture.NewUserAsync();
        var tool = await user.HttpToolAsync(_peer, "/echo");
        var invoker = await user.KeyAsync("tool:*/*:read", "tool:*/*:invoke");
        await using var client = await Fixture.Host.ClientAsync(invoker.Secret);

        var result = await client.CallToolAsync("invoke", Args(("artifactId", tool), ("input", new { n = 1 })));

        result.IsError.ShouldNotBe(true, Text(result));
        result.StructuredContent!.Value.GetProperty("run").GetProperty("output").GetProperty("echo").GetProperty("n").GetInt32().ShouldBe(1);
    }

    [Fact]
    public async Task get_run_of_another_users_run_is_not_found()
    {
        var (ada, bob) = (await Fixture.NewUserAsync(), await Fixture.NewUserAsync());
        var tool = await ada.HttpToolAsync(_peer, "/echo");
        var runId = (await (await ada.Client.InvokeAsync(tool, new { })).Json())["id"]!.GetValue<Guid>();
        await using var client = await Fixture.Host.ClientAsync(bob.AccessToken);

        var result = await client.CallToolAsync("get_run", Args(("runId", runId)));

        result.IsError.ShouldBe(true);
        Text(result).ShouldStartWith("not_found:");
    }

    [Fact]
    public async Task completed_and_pending_runs_match_the_output_schema_invoke_and_get_run_advertise()
    {
        var user = await Fixture.NewUserAsync();
        var quick = await user.HttpToolAsync(_peer, "/echo");
        var guarded = await user.HttpToolAsync(_peer, "/echo", c => c["requiresApproval"] = true);
        await using var client = await Fixture.Host.ClientAsync(user.AccessToken);
        var tools = (await client.ListToolsAsync()).ToDictionary(t => t.Name, t => t.ProtocolTool);

        var completed = await client.CallToolAsync("invoke", Args(("artifactId", quick), ("input", new { a = 1 })));
        var pending = await client.CallToolAsync("invoke", Args(("artifactId", guarded), ("input", "text")));
        var read = await client.CallToolAsync("get_run", Args(("runId", completed.StructuredContent!.Value.GetProperty("run").GetProperty("id").GetGuid())));

        McpOutputSchema.ShouldMatchOutputSchema(tools["invoke"], completed.StructuredContent!.Value);
        McpOutputSchema.ShouldMatchOutputSchema(tools["invoke"], pending.StructuredContent!.Value);
        McpOutputSchema.ShouldMatchOutputSchema(tools["get_run"], read.StructuredContent!.Value);
    }

    [Fact]
    public async Task the_run_tools_advertise_honest_hints()
    {
        var user = await Fixture.NewUserAsync();
        await using var client = await Fixture.Host.ClientAsync(user.AccessToken);

        var tools = (await client.ListToolsAsync()).ToDictionary(t => t.Name, t => t.ProtocolTool);

        var invoke = tools["invoke"].Annotations!;
        (invoke.ReadOnlyHint, invoke.IdempotentHint, invoke.OpenWorldHint).ShouldBe((false, false, true));
        var getRun = tools["get_run"].Annotations!;
        (getRun.ReadOnlyHint, getRun.IdempotentHint).ShouldBe((true, true));
        tools["invoke"].InputSchema.GetProperty("required").EnumerateArray().Select(r => r.GetString()).ShouldBe(["artifactId"]);
    }
}

/// <summary>A run longer than the MCP wait (here 1 s): invoke answers with the run under way, and get_run follows it to its end.</summary>
public sealed class McpSlowRunToolTests() : IsolatedHostTest(new Dictionary<string, string?> { ["Mcp:SyncInvokeSeconds"] = "1" })
{
    [Fact]
    public async Task invoke_of_a_slow_tool_answers_with_the_run_id_and_get_run_shows_it_completed()
    {
        await using var peer = await HttpPeer.StartAsync();
        var token = await RegisterAdaAsync(Host);
        using var ada = Host.NewClient(token);
        var workspace = (await (await ada.PostJson("/workspaces", new { title = "W" })).Json())["id"]!.GetValue<Guid>();
        var tool = (await (await ada.PostJson("/artifacts", new
        {
            containerId = workspace, contentType = "application/vnd.agience.http-tool+json", title = "Slow",
            context = new { endpoint = new { url = peer.Url("/hold").ToString() } },
        })).Json())["id"]!.GetValue<Guid>();
        await using var client = await Host.ClientAsync(token);

        var started = DateTime.UtcNow;
        var result = await client.CallToolAsync("invoke", McpRunToolTests.Args(("artifactId", tool), ("input", new { })));

        (DateTime.UtcNow - started).ShouldBeLessThan(TimeSpan.FromSeconds(10));
        result.IsError.ShouldNotBe(true, McpRunToolTests.Text(result));
        var run = result.StructuredContent!.Value.GetProperty("run");
        var follow = result.StructuredContent!.Value.GetProperty("follow");
        run.GetProperty("status").GetString().ShouldBeOneOf("pending", "running");
        var runId = run.GetProperty("id").GetGuid();
        follow.GetProperty("run").GetString().ShouldBe($"/runs/{runId}");

        await peer.Held;
        peer.Release();
        await ada.WaitForRunAsync(runId, "completed");
        var followed = await client.CallToolAsync("get_run", McpRunToolTests.Args(("runId", runId)));

        followed.IsError.ShouldNotBe(true);
        followed.StructuredContent!.Value.GetProperty("status").GetString().ShouldBe("completed");
        followed.StructuredContent!.Value.GetProperty("output").GetProperty("held").GetBoolean().ShouldBeTrue();
    }
}

public static class McpOutputSchema
{
    /// <summary>The structured content against the output schema the tool advertises (clients such as the TypeScript SDK check it).</summary>
    public static void ShouldMatchOutputSchema(this ModelContextProtocol.Protocol.Tool tool, JsonElement structured)
    {
        var schema = JsonSchema.Build(tool.OutputSchema!.Value, new BuildOptions { SchemaRegistry = new SchemaRegistry() },
            new Uri($"https://mcp.agentartifacts.test/{tool.Name}/{Guid.NewGuid()}"));
        var results = schema.Evaluate(structured, new EvaluationOptions { OutputFormat = OutputFormat.List });
        results.IsValid.ShouldBeTrue($"{tool.Name}: {JsonSerializer.Serialize(results)}\nschema: {tool.OutputSchema}\ninstance: {structured}");
    }
}
