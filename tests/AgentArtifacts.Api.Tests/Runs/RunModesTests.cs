using System.Net;
using System.Text.Json.Nodes;
using AgentArtifacts.Api.Tests.Infrastructure;
using Shouldly;
using Xunit;

namespace AgentArtifacts.Api.Tests.Runs;

/// <summary>Async and streaming runs, retries, cancel, the run listing and idempotent invokes, against a real HTTP peer.</summary>
public sealed class RunModesTests(ApiFixture fixture) : ApiTest(fixture), IAsyncLifetime
{
    private HttpPeer _peer = null!;

    async Task IAsyncLifetime.InitializeAsync()
    {
        await Fixture.ResetAsync();
        _peer = await HttpPeer.StartAsync();
    }

    async Task IAsyncLifetime.DisposeAsync()
    {
        _peer.Release();
        await _peer.DisposeAsync();
    }

    [Fact]
    public async Task an_async_invoke_answers_202_with_the_location_and_the_run_completes_on_the_queue()
    {
        var ada = await Fixture.NewUserAsync();
        var tool = await ada.HttpToolAsync(_peer, "/echo");

        var response = await ada.Client.InvokeAsync(tool, new { question = "ping" }, mode: "async");

        response.StatusCode.ShouldBe(HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
        var accepted = await response.Json();
        var runId = accepted["id"]!.GetValue<Guid>();
        response.Headers.Location!.ToString().ShouldBe($"/runs/{runId}");
        accepted["mode"]!.GetValue<string>().ShouldBe("async");
        var run = await ada.Client.WaitForRunAsync(runId, "completed");
        run["output"]!["echo"]!["question"]!.GetValue<string>().ShouldBe("ping");
        (await Fixture.Host.Store.RunEventNamesAsync(runId)).ShouldBe(["run_requested", "run_started", "run_completed"]);
    }

    [Fact]
    public async Task a_streaming_invoke_sends_each_event_once_in_order_and_ends_with_the_terminal_event()
    {
        var ada = await Fixture.NewUserAsync();
        var tool = await ada.HttpToolAsync(_peer, "/echo");

        using var response = await ada.Client.OpenStreamAsync(HttpMethod.Post, $"/artifacts/{tool}/invoke", new { input = new { n = 7 } });

        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        response.Content.Headers.ContentType!.MediaType.ShouldBe("text/event-stream");
        var frames = await response.EventsToEndAsync();
        frames.Select(f => f.Event).ShouldBe(["run.requested", "run.started", "run.completed"]);
        frames.Select(f => f.Id).ShouldBe([1L, 2L, 3L]);
        frames[2].Json["output"]!["echo"]!["n"]!.GetValue<int>().ShouldBe(7);
        frames[0].Json.ContainsKey("caller").ShouldBeFalse();
        frames[0].Json["callerId"]!.GetValue<Guid>().ShouldBe(ada.Id);
        response.Headers.Location!.ToString().ShouldBe($"/runs/{frames[0].Json["runId"]}");
    }

    [Fact]
    public async Task last_event_id_resumes_after_that_event_without_loss_or_duplicates()
    {
        var ada = await Fixture.NewUserAsync();
        var tool = await ada.HttpToolAsync(_peer, "/hold");
        var runId = (await (await ada.Client.InvokeAsync(tool, new { }, mode: "async")).Json())["id"]!.GetValue<Guid>();

        // Read until the run has started, then drop the connection while it runs.
        using (var first = await ada.Client.OpenStreamAsync(HttpMethod.Get, $"/runs/{runId}/events"))
        {
            await foreach (var frame in first.FramesAsync())
            {
                if (frame.Event == "run.started") break;
            }
        }
        _peer.Release();
        await ada.Client.WaitForRunAsync(runId, "completed");

        using var resumed = await ada.Client.OpenStreamAsync(HttpMethod.Get, $"/runs/{runId}/events", lastEventId: "2");
        var rest = await resumed.EventsToEndAsync();
        rest.Select(f => (f.Id, f.Event)).ShouldBe([(3L, "run.completed")]);

        using var byQuery = await ada.Client.OpenStreamAsync(HttpMethod.Get, $"/runs/{runId}/events?lastEventId=1");
        (await byQuery.EventsToEndAsync()).Select(f => f.Id).ShouldBe([2L, 3L]);
        using var bad = await ada.Client.OpenStreamAsync(HttpMethod.Get, $"/runs/{runId}/events", lastEventId: "later");
        (await bad.ProblemCode()).ShouldBe("invalid_last_event_id");
    }

    [Fact]
    public async Task a_quiet_stream_sends_heartbeats_until_the_run_ends()
    {
        var ada = await Fixture.NewUserAsync();
        var tool = await ada.HttpToolAsync(_peer, "/hold");
        var runId = (await (await ada.Client.InvokeAsync(tool, new { }, mode: "async")).Json())["id"]!.GetValue<Guid>();

        using var stream = await ada.Client.OpenStreamAsync(HttpMethod.Get, $"/runs/{runId}/events");
        var heartbeats = 0;
        var names = new List<string>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await foreach (var frame in stream.FramesAsync(timeout.Token))
        {
            if (frame.Comment == "heartbeat" && ++heartbeats == 2) _peer.Release();  // the host sends one a second while nothing happens
            if (frame.Event is { } name) names.Add(name);
        }

        heartbeats.ShouldBeGreaterThanOrEqualTo(2);
        names.ShouldBe(["run.requested", "run.started", "run.completed"]);
    }

    [Fact]
    public async Task a_transient_failure_is_retried_with_each_attempt_an_event_and_the_run_completes()
    {
        var ada = await Fixture.NewUserAsync();
        var tool = await ada.HttpToolAsync(_peer, "/flaky");
        _peer.FlakyFailures = 2;

        var run = await (await ada.Client.InvokeAsync(tool, new { x = 1 })).Json();

        run["status"]!.GetValue<string>().ShouldBe("completed");
        run["attempts"]!.GetValue<int>().ShouldBe(3);
        run["error"].ShouldBeNull();
        _peer.Calls.ShouldBe(3);
        (await Fixture.Host.Store.RunEventNamesAsync(run["id"]!.GetValue<Guid>())).ShouldBe(["run_requested",
            "run_started", "run_attempt_failed", "run_started", "run_attempt_failed", "run_started", "run_completed"]);
        JsonNode.DeepEquals(await (await ada.Client.GetAsync($"/runs/{run["id"]}")).Json(), run).ShouldBeTrue();  // the answer is the stored run
    }

    [Fact]
    public async Task a_target_that_keeps_failing_fails_the_run_after_the_last_attempt()
    {
        var ada = await Fixture.NewUserAsync();
        var tool = await ada.HttpToolAsync(_peer, "/status/503");

        var response = await ada.Client.InvokeAsync(tool, new { }, mode: "async");
        var run = await ada.Client.WaitForRunAsync((await response.Json())["id"]!.GetValue<Guid>(), "failed");

        run["attempts"]!.GetValue<int>().ShouldBe(4);
        run["error"]!["code"]!.GetValue<string>().ShouldBe("upstream_error");
        run["error"]!["status"]!.GetValue<int>().ShouldBe(503);
        _peer.Calls.ShouldBe(4);
        var names = await Fixture.Host.Store.RunEventNamesAsync(run["id"]!.GetValue<Guid>());
        names.Count(n => n == "run_attempt_failed").ShouldBe(3);
        names.Last().ShouldBe("run_failed");
    }

    [Fact]
    public async Task a_permanent_failure_fails_the_run_at_once()
    {
        var ada = await Fixture.NewUserAsync();
        var tool = await ada.HttpToolAsync(_peer, "/status/404");

        var run = await (await ada.Client.InvokeAsync(tool, new { })).Json();

        (run["status"]!.GetValue<string>(), run["attempts"]!.GetValue<int>()).ShouldBe(("failed", 1));
        _peer.Calls.ShouldBe(1);
    }

    [Fact]
    public async Task cancel_stops_the_running_call_through_its_token_and_a_finished_run_is_409()
    {
        var (ada, eve) = (await Fixture.NewUserAsync(), await Fixture.NewUserAsync());
        var tool = await ada.HttpToolAsync(_peer, "/hold");
        var runId = (await (await ada.Client.InvokeAsync(tool, new { }, mode: "async")).Json())["id"]!.GetValue<Guid>();
        await _peer.Held.WaitAsync(TimeSpan.FromSeconds(30));

        (await eve.Client.PostJson($"/runs/{runId}/cancel", new { })).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        var cancelled = await ada.Client.PostJson($"/runs/{runId}/cancel", new { });

        cancelled.StatusCode.ShouldBe(HttpStatusCode.OK, await cancelled.Content.ReadAsStringAsync());
        var run = await cancelled.Json();
        (run["status"]!.GetValue<string>(), run["error"]!["code"]!.GetValue<string>()).ShouldBe(("cancelled", "run_cancelled"));
        await WaitUntil(() => _peer.Aborted == 1);  // the outgoing call itself was cancelled, not left to finish
        _peer.Release();
        await Task.Delay(300);
        (await (await ada.Client.GetAsync($"/runs/{runId}")).Json())["status"]!.GetValue<string>().ShouldBe("cancelled");
        (await (await ada.Client.PostJson($"/runs/{runId}/cancel", new { })).ProblemCode()).ShouldBe("run_finished");
        (await Fixture.Host.Store.RunEventNamesAsync(runId)).ShouldBe(["run_requested", "run_started", "run_cancelled"]);
    }

    [Theory]
    [InlineData("sync")]
    [InlineData("async")]
    public async Task a_cancel_racing_the_runs_end_leaves_exactly_one_terminal_event(string mode)
    {
        var ada = await Fixture.NewUserAsync();
        var tool = await ada.HttpToolAsync(_peer, "/echo");
        var runs = new List<Guid>();

        for (var i = 0; i < 20; i++)
        {
            // The cancel lands before, during or after the quick call, whichever it happens to be: the outcome must be one end.
            Task<HttpResponseMessage>? invoking = null;
            Guid runId;
            if (mode == "sync")
            {
                invoking = ada.Client.InvokeAsync(tool, new { i });
                runId = await NewestRunAsync(ada.Client, tool, runs);
            }
            else runId = (await (await ada.Client.InvokeAsync(tool, new { i }, mode)).Json())["id"]!.GetValue<Guid>();
            await Task.Delay(i % 4 * 5);
            var cancel = await ada.Client.PostJson($"/runs/{runId}/cancel", new { });
            runs.Add(runId);

            var final = await (await ada.Client.GetAsync($"/runs/{runId}")).Json();
            if (cancel.StatusCode == HttpStatusCode.OK)
            {
                ((await cancel.Json())["status"]!.GetValue<string>(), final["status"]!.GetValue<string>()).ShouldBe(("cancelled", "cancelled"));
            }
            else
            {
                (await cancel.ProblemCode()).ShouldBe("run_finished");
                final["status"]!.GetValue<string>().ShouldBe("completed");
            }
            if (invoking is not null)
            {
                // The sync caller is answered with the run as it ended, whichever end won.
                (await (await invoking).Json())["status"]!.GetValue<string>().ShouldBe(final["status"]!.GetValue<string>());
            }
        }

        await Task.Delay(300);  // an execution that lost to its cancel has nothing left to record; give it the time to try
        foreach (var runId in runs)
        {
            var names = await Fixture.Host.Store.RunEventNamesAsync(runId);
            names.Count(n => n is "run_completed" or "run_failed" or "run_cancelled").ShouldBe(1, string.Join(", ", names));
            names.Last().ShouldBeOneOf("run_completed", "run_cancelled");
            (await (await ada.Client.PostJson($"/runs/{runId}/cancel", new { })).ProblemCode()).ShouldBe("run_finished");
        }
    }

    /// <summary>The id of the caller's newest run of the artifact that is not one of <paramref name="known"/>, once it is recorded.</summary>
    private static async Task<Guid> NewestRunAsync(HttpClient client, Guid artifact, IReadOnlyCollection<Guid> known)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var items = (await (await client.GetAsync($"/runs?artifactId={artifact}&limit=1")).Json())["items"]!.AsArray();
            if (items.Count == 1 && items[0]!["id"]!.GetValue<Guid>() is var id && !known.Contains(id)) return id;
            DateTime.UtcNow.ShouldBeLessThan(deadline, "the sync run was never recorded");
            await Task.Delay(5);
        }
    }

    [Fact]
    public async Task runs_are_listed_newest_first_by_artifact_and_status_and_paged()
    {
        var (ada, eve) = (await Fixture.NewUserAsync(), await Fixture.NewUserAsync());
        var echo = await ada.HttpToolAsync(_peer, "/echo");
        var failing = await ada.HttpToolAsync(_peer, "/status/400");
        var ids = new List<Guid>();
        for (var i = 0; i < 3; i++) ids.Add((await (await ada.Client.InvokeAsync(echo, new { i })).Json())["id"]!.GetValue<Guid>());
        var failed = (await (await ada.Client.InvokeAsync(failing, new { })).Json())["id"]!.GetValue<Guid>();

        var all = await (await ada.Client.GetAsync("/runs")).Json();
        all["items"]!.AsArray().Select(r => r!["id"]!.GetValue<Guid>()).ShouldBe([failed, ids[2], ids[1], ids[0]]);
        var ofEcho = await (await ada.Client.GetAsync($"/runs?artifactId={echo}&limit=2")).Json();
        ofEcho["items"]!.AsArray().Select(r => r!["id"]!.GetValue<Guid>()).ShouldBe([ids[2], ids[1]]);
        var next = await (await ada.Client.GetAsync($"/runs?artifactId={echo}&limit=2&cursor={ofEcho["nextCursor"]}")).Json();
        next["items"]!.AsArray().Select(r => r!["id"]!.GetValue<Guid>()).ShouldBe([ids[0]]);
        next["nextCursor"].ShouldBeNull();
        var onlyFailed = await (await ada.Client.GetAsync("/runs?status=failed")).Json();
        onlyFailed["items"]!.AsArray().Select(r => r!["id"]!.GetValue<Guid>()).ShouldBe([failed]);
        (await (await eve.Client.GetAsync("/runs")).Json())["items"]!.AsArray().ShouldBeEmpty();
        (await (await ada.Client.GetAsync("/runs?status=Done")).ProblemCode()).ShouldBe("invalid_status");
        (await (await ada.Client.GetAsync("/runs?cursor=nonsense")).ProblemCode()).ShouldBe("invalid_cursor");
    }

    [Theory]
    [InlineData("sync", HttpStatusCode.OK)]
    [InlineData("async", HttpStatusCode.Accepted)]
    public async Task an_invoke_retried_with_its_idempotency_key_returns_the_same_run_and_executes_once(string mode, HttpStatusCode status)
    {
        var ada = await Fixture.NewUserAsync();
        var tool = await ada.HttpToolAsync(_peer, "/echo");

        var first = await ada.Client.InvokeAsync(tool, new { q = 1 }, mode, key: "invoke-once");
        var runId = (await first.Json())["id"]!.GetValue<Guid>();
        await ada.Client.WaitForRunAsync(runId, "completed");
        var again = await ada.Client.InvokeAsync(tool, new { q = 1 }, mode, key: "invoke-once");

        (first.StatusCode, again.StatusCode).ShouldBe((status, status));
        again.Headers.GetValues("Idempotent-Replayed").ShouldBe(["true"]);
        (await again.Json())["id"]!.GetValue<Guid>().ShouldBe(runId);
        _peer.Calls.ShouldBe(1);
        (await Fixture.SqlScalarAsync<long>("select count(*) from agentartifacts.mt_streams where type = 'run'")).ShouldBe(1);
        (await (await ada.Client.InvokeAsync(tool, new { q = 2 }, mode, key: "invoke-once")).ProblemCode()).ShouldBe("idempotency_key_reused");
    }

    [Fact]
    public async Task a_streaming_invoke_retried_with_its_idempotency_key_is_sent_to_the_same_runs_events_and_executes_once()
    {
        var ada = await Fixture.NewUserAsync();
        var tool = await ada.HttpToolAsync(_peer, "/echo");
        using var noRedirects = Fixture.Host.NewClient(ada.AccessToken, new HttpClientHandler { AllowAutoRedirect = false });

        using var first = await noRedirects.OpenStreamAsync(HttpMethod.Post, $"/artifacts/{tool}/invoke", new { input = new { q = 1 } }, key: "stream-once");
        var frames = await first.EventsToEndAsync();  // streamed as it happened, not held back for the idempotency record
        var runId = frames[0].Json["runId"]!.GetValue<Guid>();
        using var again = await noRedirects.OpenStreamAsync(HttpMethod.Post, $"/artifacts/{tool}/invoke", new { input = new { q = 1 } }, key: "stream-once");

        again.StatusCode.ShouldBe(HttpStatusCode.SeeOther);
        again.Headers.GetValues("Idempotent-Replayed").ShouldBe(["true"]);
        again.Headers.Location!.ToString().ShouldBe($"/runs/{runId}/events");
        using var replay = await noRedirects.OpenStreamAsync(HttpMethod.Get, again.Headers.Location.ToString());
        (await replay.EventsToEndAsync()).Select(f => (f.Id, f.Event)).ShouldBe(frames.Select(f => (f.Id, f.Event)));
        _peer.Calls.ShouldBe(1);
    }

    [Fact]
    public async Task input_that_does_not_match_the_input_schema_is_400_with_its_paths_and_nothing_runs()
    {
        var ada = await Fixture.NewUserAsync();
        var tool = await ada.HttpToolAsync(_peer, "/echo", c => c["inputSchema"] = JsonNode.Parse(
            """{"type":"object","required":["query"],"properties":{"query":{"type":"string"},"limit":{"type":"integer","maximum":10}}}"""));
        var before = await Fixture.EventCountAsync();

        var wrong = await ada.Client.InvokeAsync(tool, new { query = 5, limit = 50 });
        var missing = await ada.Client.InvokeAsync(tool, new { limit = 1 });

        wrong.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        var problem = await wrong.Json();
        problem["code"]!.GetValue<string>().ShouldBe("invalid_input");
        problem["errors"]!.AsObject().Select(e => e.Key).Order().ShouldBe(["input.limit", "input.query"]);
        (await missing.Json())["errors"]!.AsObject().Select(e => e.Key).ShouldBe(["input.query"]);
        (await Fixture.EventCountAsync()).ShouldBe(before);
        _peer.Calls.ShouldBe(0);
        (await (await ada.Client.InvokeAsync(tool, new { query = "ok", limit = 3 })).Json())["status"]!.GetValue<string>().ShouldBe("completed");
    }

    [Theory]
    [InlineData("""{"properties":5}""")]
    [InlineData("""{"$ref":"#/definitions/missing"}""")]
    [InlineData("""{"type":"string","pattern":"["}""")]
    [InlineData("""{"$ref":"{peer}/schema.json"}""")]
    [InlineData("""{"$ref":"file:///etc/hostname"}""")]
    [InlineData("""{"$ref":"/etc/hostname"}""")]
    [InlineData("""{"type":"nonsense"}""")]
    [InlineData("""{"type":"object","properties":{"a":{"type":["string","strin"]}}}""")]
    [InlineData("""{"type":"array","items":{"anyOf":[{"type":5}]}}""")]
    public async Task an_input_schema_that_is_not_a_usable_json_schema_is_400_on_input_schema_and_nothing_runs(string schema)
    {
        var ada = await Fixture.NewUserAsync();
        // A reference outside the schema is refused, never fetched: the peer serves a valid schema there, and counts the call.
        var tool = await ada.HttpToolAsync(_peer, "/echo", c => c["inputSchema"] = JsonNode.Parse(schema.Replace("{peer}", _peer.Url("/").ToString().TrimEnd('/'))));
        var before = await Fixture.EventCountAsync();

        var sync = await ada.Client.InvokeAsync(tool, "text");
        var async = await ada.Client.InvokeAsync(tool, "text", mode: "async");

        sync.StatusCode.ShouldBe(HttpStatusCode.BadRequest, await sync.Content.ReadAsStringAsync());
        var problem = await sync.Json();
        problem["code"]!.GetValue<string>().ShouldBe("invalid_input");
        problem["errors"]!.AsObject().Select(e => e.Key).ShouldBe(["inputSchema"]);
        (await async.ProblemCode()).ShouldBe("invalid_input");
        (await Fixture.EventCountAsync()).ShouldBe(before);
        (await Fixture.SqlScalarAsync<long>("select count(*) from agentartifacts.mt_streams where type = 'run'")).ShouldBe(0);
        _peer.Calls.ShouldBe(0);
    }

    [Fact]
    public async Task a_property_named_type_and_data_holding_a_type_key_are_not_taken_for_schema_types()
    {
        var ada = await Fixture.NewUserAsync();
        var tool = await ada.HttpToolAsync(_peer, "/echo", c => c["inputSchema"] = JsonNode.Parse(
            """{"type":"object","properties":{"type":{"type":"string","enum":["car","bike"]}},"default":{"type":"boat"},"examples":[{"type":"x"}]}"""));

        var run = await (await ada.Client.InvokeAsync(tool, new { type = "car" })).Json();
        var wrong = await ada.Client.InvokeAsync(tool, new { type = "boat" });

        run["status"]!.GetValue<string>().ShouldBe("completed", run.ToJsonString());
        wrong.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await wrong.Json())["errors"]!.AsObject().Select(e => e.Key).ShouldBe(["input.type"]);
    }

    [Fact]
    public async Task a_bad_mode_or_both_input_and_arguments_is_400_and_a_stranger_cannot_see_a_run_or_its_events()
    {
        var (ada, eve) = (await Fixture.NewUserAsync(), await Fixture.NewUserAsync());
        var tool = await ada.HttpToolAsync(_peer, "/echo");

        (await (await ada.Client.InvokeAsync(tool, new { }, mode: "later")).ProblemCode()).ShouldBe("validation_failed");
        (await (await ada.Client.PostJson($"/artifacts/{tool}/invoke", new { input = new { }, arguments = new { } })).ProblemCode()).ShouldBe("validation_failed");
        var byArguments = await (await ada.Client.PostJson($"/artifacts/{tool}/invoke", new { arguments = new { a = 1 } })).Json();
        byArguments["output"]!["echo"]!["a"]!.GetValue<int>().ShouldBe(1);  // arguments is input by its MCP name
        var runId = (await (await ada.Client.InvokeAsync(tool, new { })).Json())["id"]!.GetValue<Guid>();

        (await eve.Client.GetAsync($"/runs/{runId}")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        using var events = await eve.Client.OpenStreamAsync(HttpMethod.Get, $"/runs/{runId}/events");
        events.StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await ada.Client.GetAsync($"/runs/{Guid.CreateVersion7()}/events")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!condition())
        {
            DateTime.UtcNow.ShouldBeLessThan(deadline);
            await Task.Delay(20);
        }
    }
}
