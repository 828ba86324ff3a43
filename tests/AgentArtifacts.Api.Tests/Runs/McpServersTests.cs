using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using AgentArtifacts.Api.Runs;
using AgentArtifacts.Api.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Shouldly;
using Xunit;

namespace AgentArtifacts.Api.Tests.Runs;

/// <summary>
/// The third-party MCP servers of <c>tests/peers</c>, started once for the class: the MCP project's reference test server,
/// servers on the official TypeScript SDK in its four modes, a server on tmcp (an independent implementation), and
/// git-mcp-server, which answers the 2026-07-28 discovery probe with a 500.
/// </summary>
public sealed class McpNodePeers : IAsyncLifetime
{
    public NodeMcpPeer Everything { get; private set; } = null!;
    public Dictionary<string, NodeMcpPeer> Sdk { get; } = [];
    public NodeMcpPeer Tmcp { get; private set; } = null!;
    public NodeMcpPeer Git { get; private set; } = null!;
    /// <summary>A git repository with one untracked file, <c>a.txt</c>, for git-mcp-server to look at.</summary>
    public string Repository { get; } = Path.Combine(Path.GetTempPath(), $"aa-git-{Guid.NewGuid():N}");

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(Repository);
        using (var init = Process.Start(new ProcessStartInfo("git", ["init", "-q", Repository]) { UseShellExecute = false })!)
        {
            await init.WaitForExitAsync();
        }
        await File.WriteAllTextAsync(Path.Combine(Repository, "a.txt"), "hello\n");

        var git = NodeMcpPeer.GitAsync(Repository);
        var everything = NodeMcpPeer.EverythingAsync();
        var tmcp = NodeMcpPeer.TmcpAsync();
        var sdk = McpServersTests.SdkModes.ToDictionary(m => m, m => NodeMcpPeer.TypeScriptSdkAsync(m.Split('/')[0], m.Split('/')[1]));
        Task<NodeMcpPeer>[] starting = [git, everything, tmcp, .. sdk.Values];
        try
        {
            await Task.WhenAll(starting);
        }
        catch
        {
            // xunit does not dispose a fixture whose start failed: the peers that did start must not outlive the tests.
            foreach (var started in starting.Where(t => t.IsCompletedSuccessfully)) await started.Result.DisposeAsync();
            throw;
        }
        (Git, Everything, Tmcp) = (git.Result, everything.Result, tmcp.Result);
        foreach (var (mode, peer) in sdk) Sdk[mode] = peer.Result;
    }

    public async Task DisposeAsync()
    {
        foreach (var peer in Sdk.Values.Append(Everything).Append(Tmcp).Append(Git)) await peer.DisposeAsync();
        Directory.Delete(Repository, recursive: true);
    }
}

public sealed class McpServersTests(ApiFixture fixture, McpNodePeers peers) : ApiTest(fixture), IClassFixture<McpNodePeers>
{
    public static readonly string[] SdkModes = ["stateful/sse", "stateful/json", "stateless/sse", "stateless/json"];
    public static TheoryData<string> Modes => new(SdkModes);

    private TestUser? _user;
    private Guid? _workspace;

    /// <summary>One user per test (registering is a password hash, not free) and a server artifact of theirs for the peer.</summary>
    private async Task<(TestUser User, Guid Server)> ServerAsync(NodeMcpPeer peer)
    {
        var user = _user ??= await Fixture.NewUserAsync();
        var context = new JsonObject { ["transport"] = new JsonObject { ["type"] = "http", ["url"] = peer.Url.ToString() } };
        _workspace ??= await user.WorkspaceAsync();
        var server = (await user.ArtifactAsync(_workspace.Value, "Server", contentType: "application/vnd.agience.mcp-server+json",
            content: null, context: context))["id"]!.GetValue<Guid>();
        return (user, server);
    }

    private async Task<Guid> ToolAsync(TestUser user, Guid server, string toolName, int? timeoutSeconds = null)
    {
        var context = new JsonObject { ["serverId"] = server.ToString(), ["toolName"] = toolName };
        if (timeoutSeconds is { } seconds) context["timeoutSeconds"] = seconds;
        return (await user.ArtifactAsync(_workspace!.Value, toolName, contentType: "application/vnd.agience.tool+json", content: null,
            context: context))["id"]!.GetValue<Guid>();
    }

    /// <summary>A sync invoke of the server's tool; the run as answered.</summary>
    private async Task<JsonObject> CallAsync(NodeMcpPeer peer, string toolName, object? input, int? timeoutSeconds = null)
    {
        var (user, server) = await ServerAsync(peer);
        var response = await user.Client.InvokeAsync(await ToolAsync(user, server, toolName, timeoutSeconds), input);
        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        return await response.Json();
    }

    private static string Text(JsonObject run) => run["output"]!["content"]![0]!["text"]!.GetValue<string>();

    /// <summary>Fails with the run, the service's log lines about it and the server's output.</summary>
    private void ShouldHaveCompleted(JsonObject run, NodeMcpPeer peer) =>
        run["status"]!.GetValue<string>().ShouldBe("completed",
            $"{run.ToJsonString()}\n{string.Join("\n", Fixture.Host.Logs.Lines.Where(l => l.Contains(run["id"]!.GetValue<string>())))}\n{peer.Output}");

    private static void ShouldHaveFailed(JsonObject run, string code, int attempts = 1)
    {
        run["status"]!.GetValue<string>().ShouldBe("failed", run.ToJsonString());
        run["error"]!["code"]!.GetValue<string>().ShouldBe(code, run.ToJsonString());
        run["attempts"]!.GetValue<int>().ShouldBe(attempts, run.ToJsonString());
    }

    private async Task<List<RunProgressed>> ProgressAsync(JsonObject run)
    {
        await using var session = Fixture.Host.Store.QuerySession();
        return (await session.Events.FetchStreamAsync(run["id"]!.GetValue<Guid>())).Select(e => e.Data).OfType<RunProgressed>().ToList();
    }

    [Fact]
    public async Task the_reference_server_lists_its_tools_with_their_schemas_and_answers_a_sync_call()
    {
        var (user, server) = await ServerAsync(peers.Everything);

        var listed = await (await user.Client.PostJson($"/artifacts/{server}/op/list_tools", new { })).Json();
        var echoed = await CallAsync(peers.Everything, "echo", new { message = "hello" });

        ShouldHaveCompleted(listed, peers.Everything);
        var echo = listed["output"]!["tools"]!.AsArray().Single(t => t!["name"]!.GetValue<string>() == "echo")!;
        echo["description"]!.GetValue<string>().ShouldNotBeNullOrWhiteSpace();
        echo["inputSchema"]!["properties"]!["message"]!["type"]!.GetValue<string>().ShouldBe("string");
        ShouldHaveCompleted(echoed, peers.Everything);
        Text(echoed).ShouldBe("Echo: hello");
    }

    [Fact]
    public async Task an_async_call_of_the_reference_server_completes_later()
    {
        var (user, server) = await ServerAsync(peers.Everything);

        var accepted = await user.Client.InvokeAsync(await ToolAsync(user, server, "get-sum"), new { a = 2, b = 3 }, mode: "async");

        accepted.StatusCode.ShouldBe(HttpStatusCode.Accepted);
        var run = await user.Client.WaitForRunAsync((await accepted.Json())["id"]!.GetValue<Guid>(), "completed");
        Text(run).ShouldContain("5");
    }

    [Fact]
    public async Task the_reference_servers_progress_notifications_stream_as_run_events_before_the_end()
    {
        var (user, server) = await ServerAsync(peers.Everything);
        var tool = await ToolAsync(user, server, "trigger-long-running-operation");

        using var response = await user.Client.OpenStreamAsync(HttpMethod.Post, $"/artifacts/{tool}/invoke", new { input = new { duration = 1, steps = 4 } });
        var frames = await response.EventsToEndAsync();

        var names = frames.Select(f => f.Event).ToList();
        names.Last().ShouldBe("run.completed", string.Join(", ", names));
        var progressed = frames.Where(f => f.Event == "run.progressed").Select(f => f.Json).ToList();
        progressed.ShouldNotBeEmpty(string.Join(", ", names));
        progressed.Select(p => p["progress"]!.GetValue<double>()).ShouldBeInOrder(SortDirection.Ascending);
        (progressed[^1]["progress"]!.GetValue<double>(), progressed[^1]["total"]!.GetValue<double>()).ShouldBe((4, 4));
    }

    [Fact]
    public async Task the_reference_server_refusing_an_unknown_tool_or_bad_arguments_fails_the_run_with_tool_call_rejected_at_once()
    {
        var unknown = await CallAsync(peers.Everything, "nope", new { });
        var badArguments = await CallAsync(peers.Everything, "echo", new { message = 5 });

        ShouldHaveFailed(unknown, "tool_call_rejected");
        unknown["error"]!["mcpErrorCode"]!.GetValue<int>().ShouldBe(-32602);
        unknown["error"]!["detail"]!.GetValue<string>().ShouldContain("nope");
        ShouldHaveFailed(badArguments, "tool_call_rejected");
        badArguments["error"]!["mcpErrorCode"]!.GetValue<int>().ShouldBe(-32602);
    }

    [Theory, MemberData(nameof(Modes))]
    public async Task an_sdk_server_in_every_mode_answers_calls_reports_tool_errors_and_refusals_and_gets_the_runs_idempotency_key(string mode)
    {
        var peer = peers.Sdk[mode];

        var added = await CallAsync(peer, "add", new { a = 2, b = 3 });
        var failed = await CallAsync(peer, "fail", null);
        var unknown = await CallAsync(peer, "nope", null);
        var keyed = await CallAsync(peer, "idempotency_key", null);

        ShouldHaveCompleted(added, peer);
        Text(added).ShouldBe("5");
        ShouldHaveFailed(failed, "tool_error");
        failed["error"]!["detail"]!.GetValue<string>().ShouldBe("the disk is full");
        ShouldHaveFailed(unknown, "tool_call_rejected");
        ShouldHaveCompleted(keyed, peer);
        Text(keyed).ShouldBe(keyed["id"]!.GetValue<string>());
    }

    [Theory, MemberData(nameof(Modes))]
    public async Task an_sdk_servers_progress_becomes_run_events_where_its_answer_is_a_stream(string mode)
    {
        var run = await CallAsync(peers.Sdk[mode], "progress", new { steps = 3 });

        ShouldHaveCompleted(run, peers.Sdk[mode]);
        Text(run).ShouldBe("done in 3 steps");
        var progress = await ProgressAsync(run);
        if (mode.EndsWith("/json"))
        {
            progress.ShouldBeEmpty();  // a JSON answer carries the result only: the server has nowhere to send progress
            return;
        }
        progress.ShouldNotBeEmpty();
        (progress[^1].Progress, progress[^1].Total, progress[^1].Message).ShouldBe((3, 3, "step 3"));
        progress.Select(p => p.Progress).ShouldBeInOrder(SortDirection.Ascending);
        // The progress events reached the stream during the sync run: the answer is still the stored run, field for field.
        var stored = await (await _user!.Client.GetAsync($"/runs/{run["id"]}")).Json();
        JsonNode.DeepEquals(stored, run).ShouldBeTrue($"stored {stored.ToJsonString()}, answered {run.ToJsonString()}");
    }

    [Theory]
    [InlineData("stateless/json")]
    [InlineData("stateful/sse")]
    public async Task a_result_larger_than_the_response_limit_fails_the_run_with_response_too_large_and_is_not_stored(string mode)
    {
        var small = await CallAsync(peers.Sdk[mode], "big", new { bytes = 100_000 });
        var large = await CallAsync(peers.Sdk[mode], "big", new { bytes = 2_000_000 });

        ShouldHaveCompleted(small, peers.Sdk[mode]);
        Text(small).Length.ShouldBe(100_000);
        ShouldHaveFailed(large, "response_too_large");
        (await Fixture.SqlScalarAsync<int>($"select max(length(data::text)) from agentartifacts.mt_events where stream_id = '{large["id"]}'"))
            .ShouldBeLessThan(10_000);
    }

    [Fact]
    public async Task a_server_that_ends_the_calls_stream_mid_call_is_resumed_and_the_run_completes()
    {
        var run = await CallAsync(peers.Sdk["stateful/sse"], "hang_up", null);

        ShouldHaveCompleted(run, peers.Sdk["stateful/sse"]);
        Text(run).ShouldBe("resumed");
        run["attempts"]!.GetValue<int>().ShouldBe(1);
    }

    [Fact]
    public async Task a_call_retried_after_a_timeout_carries_the_same_idempotency_key_the_run_id()
    {
        var run = await CallAsync(peers.Sdk["stateless/json"], "slow_first", null, timeoutSeconds: 1);

        ShouldHaveCompleted(run, peers.Sdk["stateless/json"]);
        run["attempts"]!.GetValue<int>().ShouldBe(2);
        var id = run["id"]!.GetValue<string>();
        JsonNode.Parse(Text(run))!.AsArray().Select(k => k!.GetValue<string>()).ShouldBe([id, id]);
    }

    [Fact]
    public async Task a_tmcp_server_answers_reports_tool_errors_refuses_unknown_tools_and_bad_arguments_and_reports_progress()
    {
        var added = await CallAsync(peers.Tmcp, "add", new { a = 2, b = 3 });
        var failed = await CallAsync(peers.Tmcp, "fail", null);
        var unknown = await CallAsync(peers.Tmcp, "nope", null);
        var badArguments = await CallAsync(peers.Tmcp, "add", new { a = "two", b = 3 });
        var progressed = await CallAsync(peers.Tmcp, "progress", new { steps = 3 });

        ShouldHaveCompleted(added, peers.Tmcp);
        Text(added).ShouldBe("5");
        ShouldHaveFailed(failed, "tool_error");  // listed, and its arguments fit its schema: the tool's own error
        failed["error"]!["detail"]!.GetValue<string>().ShouldBe("the disk is full");
        ShouldHaveFailed(unknown, "tool_call_rejected");  // tmcp answers with an isError result; the server's list has no such tool
        unknown["error"]!["detail"]!.GetValue<string>().ShouldContain("no tool named 'nope'");
        ShouldHaveFailed(badArguments, "tool_call_rejected");  // an isError result for arguments the tool's listed schema rejects
        ShouldHaveCompleted(progressed, peers.Tmcp);
        var progress = await ProgressAsync(progressed);
        progress.ShouldNotBeEmpty();
        (progress[^1].Progress, progress[^1].Total).ShouldBe((3, 3));
    }

    [Fact]
    public async Task git_mcp_server_which_answers_the_discovery_probe_with_a_500_is_used_with_the_initialize_handshake()
    {
        var (user, server) = await ServerAsync(peers.Git);
        var started = Stopwatch.StartNew();

        var listed = await (await user.Client.PostJson($"/artifacts/{server}/op/list_tools", new { })).Json();
        var status = await CallAsync(peers.Git, "git_status", new { path = peers.Repository });

        ShouldHaveCompleted(listed, peers.Git);
        listed["attempts"]!.GetValue<int>().ShouldBe(1);
        listed["output"]!["tools"]!.AsArray().Select(t => t!["name"]!.GetValue<string>()).ShouldContain("git_status");
        ShouldHaveCompleted(status, peers.Git);
        status["output"]!["structuredContent"]!["untrackedFiles"]!.AsArray().Select(f => f!.GetValue<string>()).ShouldBe(["a.txt"]);
        started.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task a_server_that_completes_no_handshake_is_offered_each_protocol_version_once_and_fails_the_run_with_mcp_protocol_unsupported()
    {
        // A peer that answers the discovery probe with a 500 and every initialize with a version no client knows.
        var offered = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var builder = LoopbackPeer.CreateBuilder();
        await using var app = builder.Build();
        app.MapPost("/mcp", async (HttpContext http) =>
        {
            var request = (await JsonNode.ParseAsync(http.Request.Body))!;
            var method = request["method"]!.GetValue<string>();
            offered.Enqueue(method == "initialize" ? request["params"]!["protocolVersion"]!.GetValue<string>() : method);
            if (method != "initialize") return Results.StatusCode(500);
            return Results.Json(new JsonObject
            {
                ["jsonrpc"] = "2.0", ["id"] = request["id"]!.DeepClone(),
                ["result"] = new JsonObject
                {
                    ["protocolVersion"] = "1999-01-01", ["capabilities"] = new JsonObject(),
                    ["serverInfo"] = new JsonObject { ["name"] = "odd", ["version"] = "1" },
                },
            });
        });
        await app.StartAsync();
        var user = _user ??= await Fixture.NewUserAsync();
        _workspace ??= await user.WorkspaceAsync();
        var server = (await user.ArtifactAsync(_workspace.Value, "Odd", contentType: "application/vnd.agience.mcp-server+json", content: null,
            context: new JsonObject { ["transport"] = new JsonObject { ["type"] = "http", ["url"] = app.Url("/mcp").ToString() } }))["id"]!.GetValue<Guid>();

        var run = await (await user.Client.InvokeAsync(await ToolAsync(user, server, "add"), new { a = 1, b = 2 })).Json();

        ShouldHaveFailed(run, "mcp_protocol_unsupported");
        offered.ShouldBe(["server/discover", "2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"]);
    }

    [Fact]
    public async Task an_agents_mcp_tool_is_declared_to_the_model_with_the_schema_and_description_its_server_lists()
    {
        await using var model = await ChatPeer.StartAsync();
        model.ToolName = "add";
        model.ToolArguments = """{"a":2,"b":3}""";
        var (user, server) = await ServerAsync(peers.Sdk["stateless/json"]);
        var tool = await ToolAsync(user, server, "add");
        var agent = (await user.ArtifactAsync(_workspace!.Value, "Adder", contentType: "application/vnd.agience.agent+json", content: null,
            context: new JsonObject
            {
                ["model"] = "test-model", ["instructions"] = "Add with the tool.", ["toolIds"] = new JsonArray(tool.ToString()),
                ["endpoint"] = new JsonObject { ["url"] = model.Url("/v1").ToString() },
            }))["id"]!.GetValue<Guid>();

        var run = await (await user.Client.InvokeAsync(agent, "What is 2 + 3?")).Json();

        run["status"]!.GetValue<string>().ShouldBe("completed", run.ToJsonString());
        var declared = model.Requests.First()["tools"]!.AsArray().Single()!["function"]!;
        declared["name"]!.GetValue<string>().ShouldBe("add");
        declared["description"]!.GetValue<string>().ShouldBe("Adds two integers.");
        declared["parameters"]!["properties"]!["a"]!["type"]!.GetValue<string>().ShouldBe("integer");
        declared["parameters"]!["properties"]!["b"]!["description"]!.GetValue<string>().ShouldBe("The second addend.");
        declared["parameters"]!["required"]!.AsArray().Select(r => r!.GetValue<string>()).Order().ShouldBe(["a", "b"]);
        var toolMessage = model.Requests.Last()["messages"]!.AsArray().Single(m => m!["role"]!.GetValue<string>() == "tool")!;
        toolMessage["content"]!.ToJsonString().ShouldContain("5");
    }
}
