using System.Net;
using System.Text.Json.Nodes;
using AgentArtifacts.Api.Tests.Infrastructure;
using Shouldly;
using Xunit;

namespace AgentArtifacts.Api.Tests.Runs;

/// <summary>A run accepted with 202 survives its host: the execution message waits in PostgreSQL for the next host.</summary>
public sealed class DurableRunTests : IAsyncLifetime
{
    private TestDatabase _database = null!;

    public async Task InitializeAsync() => _database = await TestDatabase.StartAsync();

    public async Task DisposeAsync() => await _database.DisposeAsync();

    [Fact]
    public async Task a_run_whose_host_stops_before_it_completes_is_executed_by_the_next_host()
    {
        await using var peer = await HttpPeer.StartAsync();
        Guid runId;
        string token;
        var first = ServiceHost.Start(_database.ConnectionString);
        try
        {
            token = await IsolatedHostTest.RegisterAdaAsync(first);
            using var ada = first.NewClient(token);
            var workspace = (await (await ada.PostJson("/workspaces", new { title = "W" })).Json())["id"]!.GetValue<Guid>();
            var tool = (await (await ada.PostJson("/artifacts", new { containerId = workspace, contentType = "application/vnd.agience.http-tool+json",
                title = "Held", context = new { endpoint = new { url = peer.Url("/hold").ToString() } } })).Json())["id"]!.GetValue<Guid>();

            var accepted = await ada.InvokeAsync(tool, new { job = 1 }, mode: "async");

            accepted.StatusCode.ShouldBe(HttpStatusCode.Accepted);
            runId = (await accepted.Json())["id"]!.GetValue<Guid>();
            await peer.Held.WaitAsync(TimeSpan.FromSeconds(30));  // executing on the first host, not finished
        }
        finally
        {
            await first.DisposeAsync();
        }
        peer.Release();

        await using var second = ServiceHost.Start(_database.ConnectionString);
        using var client = second.NewClient(token);
        var run = await client.WaitForRunAsync(runId, "completed");

        run["output"]!["held"]!.GetValue<bool>().ShouldBeTrue();
        run["attempts"]!.GetValue<int>().ShouldBe(2);
        // The first attempt's connection is cut as its host stops: the attempt may be recorded as failed before the message
        // goes back to the inbox. Either way the second host makes the second attempt, and the run completes once.
        var names = await second.Store.RunEventNamesAsync(runId);
        names.Where(n => n != "run_attempt_failed").ShouldBe(["run_requested", "run_started", "run_started", "run_completed"]);
        peer.Calls.ShouldBe(2);
        // Both hosts sent the run's id as the key: the tool can tell the second call repeats the first.
        peer.IdempotencyKeys.ShouldBe([runId.ToString(), runId.ToString()]);
    }

    [Fact]
    public async Task a_sync_run_whose_host_stops_mid_call_ends_failed_as_interrupted_and_is_not_run_again()
    {
        await using var peer = await HttpPeer.StartAsync();
        Guid runId;
        string token;
        var first = ServiceHost.Start(_database.ConnectionString);
        try
        {
            token = await IsolatedHostTest.RegisterAdaAsync(first);
            using var ada = first.NewClient(token);
            var workspace = (await (await ada.PostJson("/workspaces", new { title = "W" })).Json())["id"]!.GetValue<Guid>();
            var tool = (await (await ada.PostJson("/artifacts", new { containerId = workspace, contentType = "application/vnd.agience.http-tool+json",
                title = "Held", context = new { endpoint = new { url = peer.Url("/hold").ToString() } } })).Json())["id"]!.GetValue<Guid>();

            var invoking = ada.InvokeAsync(tool, new { job = 1 });
            await peer.Held.WaitAsync(TimeSpan.FromSeconds(30));  // executing inline in the request, not finished
            runId = (await (await ada.GetAsync($"/runs?artifactId={tool}")).Json())["items"]![0]!["id"]!.GetValue<Guid>();
            _ = invoking.ContinueWith(t => t.Exception, TaskScheduler.Default);  // the caller is cut off with the host
        }
        finally
        {
            await first.DisposeAsync();
        }
        peer.Release();

        await using var second = ServiceHost.Start(_database.ConnectionString);
        using var client = second.NewClient(token);
        var run = await client.WaitForRunAsync(runId, "failed");

        (run["error"]!["code"]!.GetValue<string>(), run["error"]!["status"]!.GetValue<int>()).ShouldBe(("interrupted", 503));
        await Task.Delay(500);  // a sync run has no queued message: nothing on the second host runs it again
        (await second.Store.RunEventNamesAsync(runId)).ShouldBe(["run_requested", "run_started", "run_failed"]);
        peer.Calls.ShouldBe(1);
    }
}
