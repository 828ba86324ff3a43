using System.Net;
using System.Text.Json.Nodes;
using AgentArtifacts.Api.Tests.Infrastructure;
using Shouldly;
using Xunit;

namespace AgentArtifacts.Api.Tests.Runs;

/// <summary>Agent artifacts: a tool-calling loop against a real OpenAI-compatible server, the tool run as a run of its own.</summary>
public sealed class AgentTests(ApiFixture fixture) : ApiTest(fixture), IAsyncLifetime
{
    private HttpPeer _tools = null!;
    private ChatPeer _model = null!;

    async Task IAsyncLifetime.InitializeAsync()
    {
        await Fixture.ResetAsync();
        _tools = await HttpPeer.StartAsync();
        _model = await ChatPeer.StartAsync();
    }

    async Task IAsyncLifetime.DisposeAsync()
    {
        await _tools.DisposeAsync();
        await _model.DisposeAsync();
    }

    private const string ModelKey = "sk-test-7f3a9c1e5b";

    private async Task<(Guid Agent, Guid Tool)> AgentAsync(TestUser user, int? maxTurns = null)
    {
        (await user.Client.PostJson("/secrets", new { name = "MODEL_KEY", value = ModelKey })).StatusCode.ShouldBe(HttpStatusCode.Created);
        var workspace = await user.WorkspaceAsync();
        var tool = (await user.ArtifactAsync(workspace, "Lookup", contentType: "application/vnd.agience.http-tool+json", content: null,
            context: new { endpoint = new { url = _tools.Url("/echo").ToString() },
                inputSchema = new { type = "object", properties = new { q = new { type = "string" } } } }))["id"]!.GetValue<Guid>();
        var context = new JsonObject
        {
            ["model"] = "test-model", ["instructions"] = "Answer with the lookup tool.", ["toolIds"] = new JsonArray(tool.ToString()),
            ["endpoint"] = new JsonObject { ["url"] = _model.Url("/v1").ToString() }, ["temperature"] = 0.2, ["apiKeySecret"] = "MODEL_KEY",
        };
        if (maxTurns is { } turns) context["maxTurns"] = turns;
        var agent = (await user.ArtifactAsync(workspace, "Answerer", contentType: "application/vnd.agience.agent+json", content: null,
            context: context))["id"]!.GetValue<Guid>();
        return (agent, tool);
    }

    [Fact]
    public async Task an_agent_calls_its_tool_as_a_child_run_streams_its_deltas_and_answers()
    {
        var ada = await Fixture.NewUserAsync();
        var (agent, tool) = await AgentAsync(ada);

        var run = await (await ada.Client.InvokeAsync(agent, "What is the answer?")).Json();

        run["status"]!.GetValue<string>().ShouldBe("completed", run.ToJsonString());
        (run["output"]!["text"]!.GetValue<string>(), run["output"]!["turns"]!.GetValue<int>()).ShouldBe(("The answer is 42.", 2));
        var runId = run["id"]!.GetValue<Guid>();
        // The agent's own events reached the stream during the run, so the answer is the stored run, not the caller session's copy.
        var stored = await (await ada.Client.GetAsync($"/runs/{runId}")).Json();
        JsonNode.DeepEquals(stored, run).ShouldBeTrue($"stored {stored.ToJsonString()}, answered {run.ToJsonString()}");
        await using var session = Fixture.Host.Store.QuerySession();
        var events = await session.Events.FetchStreamAsync(runId);
        var called = events.Select(e => e.Data).OfType<Api.Runs.RunToolCalled>().Single();
        (called.ToolId, called.Name, called.Arguments!["q"]!.GetValue<string>()).ShouldBe((tool, "Lookup", "forty-two"));
        var returned = events.Select(e => e.Data).OfType<Api.Runs.RunToolReturned>().Single();
        returned.Status.ShouldBe("completed");
        var deltas = events.Select(e => e.Data).OfType<Api.Runs.RunOutputDelta>().Select(d => d.Text).ToList();
        deltas.Count.ShouldBeGreaterThanOrEqualTo(2);
        string.Concat(deltas).ShouldBe("The answer is 42.");

        // The tool's own run: linked to the agent's, run as its caller, with the model's arguments as input.
        var child = await (await ada.Client.GetAsync($"/runs/{returned.ChildRunId}")).Json();
        (child["parentRunId"]!.GetValue<Guid>(), child["artifactId"]!.GetValue<Guid>(), child["status"]!.GetValue<string>()).ShouldBe((runId, tool, "completed"));
        child["input"]!["q"]!.GetValue<string>().ShouldBe("forty-two");
        _tools.Calls.ShouldBe(1);
        var children = await (await ada.Client.GetAsync($"/runs?parentRunId={runId}")).Json();
        children["items"]!.AsArray().Select(r => r!["id"]!.GetValue<Guid>()).ShouldBe([returned.ChildRunId!.Value]);

        // What the model saw: the caller's secret as its key, the instructions, the question, its tool declared with its
        // schema, then the tool's output. The key appears nowhere in the run's events.
        _model.Authorizations.ShouldAllBe(a => a == $"Bearer {ModelKey}");
        (await Fixture.SqlScalarAsync<long>($"select count(*) from agentartifacts.mt_events where data::text like '%{ModelKey}%'")).ShouldBe(0);
        var requests = _model.Requests.ToList();
        requests.Count.ShouldBe(2);
        requests[0]["model"]!.GetValue<string>().ShouldBe("test-model");
        requests[0]["messages"]![0]!["content"]!.ToJsonString().ShouldContain("Answer with the lookup tool.");
        requests[0]["tools"]![0]!["function"]!["name"]!.GetValue<string>().ShouldBe("Lookup");
        var toolMessage = requests[1]["messages"]!.AsArray().Single(m => m!["role"]!.GetValue<string>() == "tool")!;
        toolMessage["content"]!.ToJsonString().ShouldContain("forty-two");
    }

    [Fact]
    public async Task a_streamed_agent_run_shows_the_tool_call_and_the_deltas_as_they_happen()
    {
        var ada = await Fixture.NewUserAsync();
        var (agent, _) = await AgentAsync(ada);

        using var stream = await ada.Client.OpenStreamAsync(HttpMethod.Post, $"/artifacts/{agent}/invoke", new { input = "What is the answer?" });
        var frames = await stream.EventsToEndAsync();

        var names = frames.Select(f => f.Event!).ToList();
        names.ShouldContain("run.tool_called");
        names.ShouldContain("run.tool_returned");
        names.IndexOf("run.tool_returned").ShouldBeLessThan(names.IndexOf("run.output_delta"));
        names.Last().ShouldBe("run.completed");
        string.Concat(frames.Where(f => f.Event == "run.output_delta").Select(f => f.Json["text"]!.GetValue<string>())).ShouldBe("The answer is 42.");
        frames.Select(f => f.Id!.Value).ShouldBe(Enumerable.Range(1, frames.Count).Select(i => (long)i));
    }

    [Fact]
    public async Task an_agent_that_keeps_calling_tools_fails_after_its_turns_and_one_whose_tool_the_caller_cannot_see_fails_before_the_model()
    {
        var (ada, bob) = (await Fixture.NewUserAsync(), await Fixture.NewUserAsync());
        var (looping, _) = await AgentAsync(ada, maxTurns: 2);
        _model.AlwaysCallTools = true;

        var run = await (await ada.Client.InvokeAsync(looping, "Loop")).Json();

        (run["status"]!.GetValue<string>(), run["error"]!["code"]!.GetValue<string>()).ShouldBe(("failed", "max_turns_exceeded"));
        _tools.Calls.ShouldBe(2);

        // Bob's agent names Ada's tool, which Bob cannot read.
        var adaTool = (await ada.ArtifactAsync(await ada.WorkspaceAsync(), "Private", contentType: "application/vnd.agience.http-tool+json",
            content: null, context: new { endpoint = new { url = _tools.Url("/echo").ToString() } }))["id"]!.GetValue<Guid>();
        var bobAgent = (await bob.ArtifactAsync(await bob.WorkspaceAsync(), "Borrower", contentType: "application/vnd.agience.agent+json",
            content: null, context: new { model = "m", instructions = "i", toolIds = new[] { adaTool }, endpoint = new { url = _model.Url("/v1").ToString() } }))["id"]!.GetValue<Guid>();
        var requestsBefore = _model.Requests.Count;

        var refused = await (await bob.Client.InvokeAsync(bobAgent, "Use it")).Json();

        (refused["status"]!.GetValue<string>(), refused["error"]!["code"]!.GetValue<string>()).ShouldBe(("failed", "tool_unavailable"));
        _model.Requests.Count.ShouldBe(requestsBefore);
        _tools.Calls.ShouldBe(2);
    }

    [Fact]
    public async Task an_endpoint_that_ignores_stream_and_answers_one_json_body_still_gives_the_agent_its_tool_call_and_its_answer()
    {
        var ada = await Fixture.NewUserAsync();
        var (agent, _) = await AgentAsync(ada);
        _model.AnswerAsJson = true;

        var run = await (await ada.Client.InvokeAsync(agent, "What is the answer?")).Json();

        run["status"]!.GetValue<string>().ShouldBe("completed", run.ToJsonString());
        (run["output"]!["text"]!.GetValue<string>(), run["output"]!["turns"]!.GetValue<int>()).ShouldBe(("The answer is 42.", 2));
        _tools.Calls.ShouldBe(1);
        var events = await Fixture.Host.Store.RunEventNamesAsync(run["id"]!.GetValue<Guid>());
        events.ShouldContain("run_output_delta");  // the answer reached the run's stream too, as one delta
    }

    [Fact]
    public async Task a_run_retried_after_the_model_failed_on_turn_two_replays_the_tool_result_instead_of_calling_the_tool_again()
    {
        var ada = await Fixture.NewUserAsync();
        var (agent, _) = await AgentAsync(ada);
        _model.FailuresAfterToolResult = 1;

        var run = await (await ada.Client.InvokeAsync(agent, "What is the answer?")).Json();

        run["status"]!.GetValue<string>().ShouldBe("completed", run.ToJsonString());
        (run["output"]!["text"]!.GetValue<string>(), run["output"]!["turns"]!.GetValue<int>(), run["attempts"]!.GetValue<int>())
            .ShouldBe(("The answer is 42.", 2, 2));
        _tools.Calls.ShouldBe(1);
        await using var session = Fixture.Host.Store.QuerySession();
        var events = (await session.Events.FetchStreamAsync(run["id"]!.GetValue<Guid>())).Select(e => e.Data).ToList();
        events.OfType<Api.Runs.RunToolCalled>().Count().ShouldBe(1);
        events.OfType<Api.Runs.RunAttemptFailed>().Single().Error["status"]!.GetValue<int>().ShouldBe(500);
        // Turn 1 and the failed turn 2, then turn 2 again: the model got the recorded call and its result, as the first time.
        var requests = _model.Requests.ToList();
        requests.Count.ShouldBe(3);
        var retried = requests[2]["messages"]!.AsArray();
        retried.Select(m => m!["role"]!.GetValue<string>()).ShouldBe(["system", "user", "assistant", "tool"]);
        retried[2]!["tool_calls"]![0]!["function"]!["name"]!.GetValue<string>().ShouldBe("Lookup");
        retried[3]!["content"]!.ToJsonString().ShouldContain("forty-two");
        retried[3]!["tool_call_id"]!.GetValue<string>().ShouldBe(retried[2]!["tool_calls"]![0]!["id"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("Nope", """{"q":"forty-two"}""", null)]
    [InlineData("Lookup", """{"q":5}""", "input.q")]
    public async Task a_call_of_an_unknown_tool_or_with_arguments_outside_its_schema_is_tool_call_rejected_and_the_model_hears_why(
        string name, string arguments, string? failingPath)
    {
        var ada = await Fixture.NewUserAsync();
        var (agent, _) = await AgentAsync(ada);
        (_model.ToolName, _model.ToolArguments) = (name, arguments);

        var run = await (await ada.Client.InvokeAsync(agent, "What is the answer?")).Json();

        run["status"]!.GetValue<string>().ShouldBe("completed", run.ToJsonString());  // the model heard the refusal and answered
        _tools.Calls.ShouldBe(0);
        await using var session = Fixture.Host.Store.QuerySession();
        var returned = (await session.Events.FetchStreamAsync(run["id"]!.GetValue<Guid>())).Select(e => e.Data).OfType<Api.Runs.RunToolReturned>().Single();
        (returned.Status, returned.ChildRunId).ShouldBe(("rejected", null));
        returned.Result!["error"]!["code"]!.GetValue<string>().ShouldBe("tool_call_rejected");
        if (failingPath is not null) returned.Result["error"]!["errors"]!.AsObject().Select(e => e.Key).ShouldBe([failingPath]);
        var toolMessage = _model.Requests.Last()["messages"]!.AsArray().Single(m => m!["role"]!.GetValue<string>() == "tool")!;
        toolMessage["content"]!.ToJsonString().ShouldContain("tool_call_rejected");
    }

    [Fact]
    public async Task a_model_endpoint_that_answers_429_asking_for_longer_than_the_service_waits_fails_the_run_saying_so()
    {
        var ada = await Fixture.NewUserAsync();
        var (agent, _) = await AgentAsync(ada);
        (_model.FailuresAfterToolResult, _model.FailureStatus, _model.FailureRetryAfter) = (1, 429, "120");

        var run = await (await ada.Client.InvokeAsync(agent, "What is the answer?")).Json();

        (run["status"]!.GetValue<string>(), run["error"]?["code"]?.GetValue<string>()).ShouldBe(("failed", "upstream_retry_after_too_long"), run.ToJsonString());
        (run["error"]!["status"]!.GetValue<int>(), run["error"]!["retryAfterSeconds"]!.GetValue<long>(), run["attempts"]!.GetValue<int>()).ShouldBe((429, 120, 1));
        _model.Requests.Count.ShouldBe(2);
    }

    [Fact]
    public async Task an_endpoint_that_answers_200_with_neither_a_stream_nor_a_completion_fails_the_run_instead_of_completing_it_empty()
    {
        var ada = await Fixture.NewUserAsync();
        var (agent, _) = await AgentAsync(ada);
        _model.AnswerPageOfType = "text/html";

        var run = await (await ada.Client.InvokeAsync(agent, "What is the answer?")).Json();

        (run["status"]!.GetValue<string>(), run["error"]?["code"]?.GetValue<string>(), run["attempts"]!.GetValue<int>())
            .ShouldBe(("failed", "upstream_invalid_response", 1), run.ToJsonString());
        run["error"]!["detail"]!.GetValue<string>().ShouldContain("text/html");
        _tools.Calls.ShouldBe(0);
    }
}
