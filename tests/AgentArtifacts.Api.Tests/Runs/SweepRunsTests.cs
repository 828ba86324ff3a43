using System.Net;
using System.Text.Json.Nodes;
using AgentArtifacts.Api.Infrastructure;
using AgentArtifacts.Api.Runs;
using AgentArtifacts.Api.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Shouldly;
using Xunit;

namespace AgentArtifacts.Api.Tests.Runs;

/// <summary>
/// The sweeper, on a host that sweeps every 0.2 s with the default limit (a sync run unfinished 15 minutes after it started),
/// and a clock the test moves: nothing is old enough until the test says so.
/// </summary>
public sealed class SweepRunsTests : IsolatedHostTest
{
    private readonly ManualClock _clock;

    public SweepRunsTests() : this(new ManualClock(DateTimeOffset.UtcNow)) { }

    private SweepRunsTests(ManualClock clock)
        : base(new Dictionary<string, string?> { ["Runs:SweepSeconds"] = "0.2" }, services => services.AddSingleton<TimeProvider>(clock)) =>
        _clock = clock;

    /// <summary>Past the limit for every run the test started (and within its users' token lifetime).</summary>
    private void PastTheLimit() => _clock.Advance(TimeSpan.FromMinutes(30));

    private static async Task<Guid> HttpToolAsync(HttpClient client, HttpPeer peer, string path)
    {
        var workspace = (await (await client.PostJson("/workspaces", new { title = "W" })).Json())["id"]!.GetValue<Guid>();
        return (await (await client.PostJson("/artifacts", new { containerId = workspace, contentType = "application/vnd.agience.http-tool+json",
            title = "Tool", context = new { endpoint = new { url = peer.Url(path).ToString() } } })).Json())["id"]!.GetValue<Guid>();
    }

    [Fact]
    public async Task a_sync_run_left_running_by_a_dead_host_fails_as_interrupted_and_finished_or_queued_runs_are_left_alone()
    {
        await using var peer = await HttpPeer.StartAsync();
        using var ada = await AdaAsync();
        var adaId = (await (await ada.GetAsync("/auth/me")).Json())["id"]!.GetValue<Guid>();
        var (echo, held) = (await HttpToolAsync(ada, peer, "/echo"), await HttpToolAsync(ada, peer, "/hold"));
        var completed = (await (await ada.InvokeAsync(echo, new { n = 1 })).Json())["id"]!.GetValue<Guid>();
        var queued = (await (await ada.InvokeAsync(held, new { n = 2 }, mode: "async")).Json())["id"]!.GetValue<Guid>();
        await peer.Held.WaitAsync(TimeSpan.FromSeconds(30));  // running, on the queue, since before the stuck run started

        // A sync run as a host killed mid-call leaves it: requested and started in its first transaction, then nothing.
        var stuck = Guid.CreateVersion7();
        await using (var session = Host.Store.LightweightSession())
        {
            session.LastModifiedBy = adaId.ToString();
            session.Events.StartStream<Run>(stuck, new RunRequested(stuck, echo, 1, "invoke", "http", new JsonObject { ["n"] = 3 }, RunModes.Sync,
                new Caller(adaId, Caller.User, IsPlatformAdmin: true)), new RunStarted(stuck, 1));
            await session.SaveChangesAsync();
        }
        using var events = await ada.OpenStreamAsync(HttpMethod.Get, $"/runs/{stuck}/events");
        await Task.Delay(500);  // sweeps happen meanwhile: too young to be swept
        (await (await ada.GetAsync($"/runs/{stuck}")).Json())["status"]!.GetValue<string>().ShouldBe("running");

        PastTheLimit();
        var failed = await ada.WaitForRunAsync(stuck, "failed");

        (failed["error"]!["code"]!.GetValue<string>(), failed["error"]!["status"]!.GetValue<int>()).ShouldBe(("run_interrupted", 503));
        failed["finishedAt"].ShouldNotBeNull();
        var frames = await events.EventsToEndAsync();
        frames.Select(f => f.Event).ShouldBe(["run.requested", "run.started", "run.failed"]);
        frames[2].Json["error"]!["code"]!.GetValue<string>().ShouldBe("run_interrupted");
        (await Host.Store.RunEventNamesAsync(stuck)).ShouldBe(["run_requested", "run_started", "run_failed"]);
        (await Host.Store.RunEventNamesAsync(completed)).ShouldBe(["run_requested", "run_started", "run_completed"]);
        (await (await ada.GetAsync($"/runs/{queued}")).Json())["status"]!.GetValue<string>().ShouldBe("running");
        peer.Release();
        await ada.WaitForRunAsync(queued, "completed");
        (await Host.Store.RunEventNamesAsync(queued)).ShouldBe(["run_requested", "run_started", "run_completed"]);
    }

    [Fact]
    public async Task a_sync_run_still_executing_past_the_limit_is_failed_as_interrupted_and_its_call_is_stopped()
    {
        await using var peer = await HttpPeer.StartAsync();
        using var ada = await AdaAsync();
        var held = await HttpToolAsync(ada, peer, "/hold");
        var invoking = ada.InvokeAsync(held, new { });
        await peer.Held.WaitAsync(TimeSpan.FromSeconds(30));

        PastTheLimit();
        var response = await invoking;

        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        var run = await response.Json();
        (run["status"]!.GetValue<string>(), run["error"]!["code"]!.GetValue<string>()).ShouldBe(("failed", "run_interrupted"));
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (peer.Aborted == 0)
        {
            DateTime.UtcNow.ShouldBeLessThan(deadline, "the peer's call was never stopped");
            await Task.Delay(20);
        }
        (await Host.Store.RunEventNamesAsync(run["id"]!.GetValue<Guid>())).ShouldBe(["run_requested", "run_started", "run_failed"]);
    }
}
