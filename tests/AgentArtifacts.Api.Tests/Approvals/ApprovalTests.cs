using System.Net;
using System.Text.Json.Nodes;
using AgentArtifacts.Api.Tests.ApiKeys;
using AgentArtifacts.Api.Tests.Infrastructure;
using AgentArtifacts.Api.Tests.Runs;
using Shouldly;
using Xunit;

namespace AgentArtifacts.Api.Tests.Approvals;

/// <summary>Runs of operations that require approval: they wait, and run only once an admin of the artifact approves.</summary>
public sealed class ApprovalTests(ApiFixture fixture) : ApiTest(fixture), IAsyncLifetime
{
    private HttpPeer _peer = null!;

    async Task IAsyncLifetime.InitializeAsync()
    {
        await Fixture.ResetAsync();
        _peer = await HttpPeer.StartAsync();
    }

    async Task IAsyncLifetime.DisposeAsync() => await _peer.DisposeAsync();

    /// <summary>Ada's tool that needs approval, which Bob (a collaborator on its workspace) may invoke but not approve.</summary>
    private async Task<(TestUser Ada, TestUser Bob, Guid Tool)> GuardedToolAsync()
    {
        var (ada, bob) = (await Fixture.NewUserAsync(), await Fixture.NewUserAsync());
        var tool = await ada.HttpToolAsync(_peer, "/echo", c => c["requiresApproval"] = true);
        var workspace = (await (await ada.Client.GetAsync($"/artifacts/{tool}")).Json())["containerId"]!.GetValue<Guid>();
        (await ada.GrantAsync(workspace, bob.Id, role: "collaborator")).StatusCode.ShouldBe(HttpStatusCode.Created);
        return (ada, bob, tool);
    }

    [Fact]
    public async Task a_run_that_needs_approval_waits_and_executes_once_an_admin_approves()
    {
        var (ada, bob, tool) = await GuardedToolAsync();

        var requested = await bob.Client.InvokeAsync(tool, new { amount = 10 });

        requested.StatusCode.ShouldBe(HttpStatusCode.Accepted);
        var run = await requested.Json();
        run["status"]!.GetValue<string>().ShouldBe("awaiting_approval");
        var approvalId = run["approvalId"]!.GetValue<Guid>();
        var pending = (await (await ada.Client.GetAsync("/approvals")).Json())["items"]!.AsArray();
        pending.Select(a => a!["id"]!.GetValue<Guid>()).ShouldBe([approvalId]);
        (pending[0]!["status"]!.GetValue<string>(), pending[0]!["requestedBy"]!.GetValue<Guid>()).ShouldBe(("pending", bob.Id));
        pending[0]!["input"]!["amount"]!.GetValue<int>().ShouldBe(10);
        (await (await bob.Client.GetAsync("/approvals")).Json())["items"]!.AsArray().ShouldBeEmpty();
        (await (await bob.Client.PostJson($"/approvals/{approvalId}/approve", new { })).ProblemCode()).ShouldBe("permission_denied");
        await Task.Delay(200);
        _peer.Calls.ShouldBe(0);

        var approved = await ada.Client.PostJson($"/approvals/{approvalId}/approve", new { note = "fine" });

        approved.StatusCode.ShouldBe(HttpStatusCode.OK, await approved.Content.ReadAsStringAsync());
        (await approved.Json())["status"]!.GetValue<string>().ShouldBe("approved");
        var done = await bob.Client.WaitForRunAsync(run["id"]!.GetValue<Guid>(), "completed");
        done["output"]!["echo"]!["amount"]!.GetValue<int>().ShouldBe(10);
        _peer.Calls.ShouldBe(1);
        (await Fixture.Host.Store.RunEventNamesAsync(run["id"]!.GetValue<Guid>())).ShouldBe(
            ["run_requested", "run_approval_requested", "run_approved", "run_started", "run_completed"]);
        (await (await ada.Client.PostJson($"/approvals/{approvalId}/reject", new { })).ProblemCode()).ShouldBe("approval_decided");
        (await (await ada.Client.GetAsync("/approvals")).Json())["items"]!.AsArray().ShouldBeEmpty();
    }

    [Fact]
    public async Task a_rejected_run_is_cancelled_and_never_executes()
    {
        var (ada, bob, tool) = await GuardedToolAsync();
        var run = await (await bob.Client.InvokeAsync(tool, new { }, mode: "async")).Json();
        var approvalId = run["approvalId"]!.GetValue<Guid>();

        var rejected = await ada.Client.PostJson($"/approvals/{approvalId}/reject", new { note = "not today" });

        rejected.StatusCode.ShouldBe(HttpStatusCode.OK);
        var approval = await rejected.Json();
        (approval["status"]!.GetValue<string>(), approval["note"]!.GetValue<string>(), approval["decidedBy"]!.GetValue<Guid>()).ShouldBe(("rejected", "not today", ada.Id));
        var after = await (await bob.Client.GetAsync($"/runs/{run["id"]}")).Json();
        (after["status"]!.GetValue<string>(), after["error"]!["code"]!.GetValue<string>()).ShouldBe(("cancelled", "approval_rejected"));
        (await (await ada.Client.PostJson($"/approvals/{approvalId}/approve", new { })).ProblemCode()).ShouldBe("approval_decided");
        await Task.Delay(300);
        _peer.Calls.ShouldBe(0);
    }

    [Fact]
    public async Task two_decisions_at_once_record_exactly_one()
    {
        var (ada, bob, tool) = await GuardedToolAsync();
        var approvalId = (await (await bob.Client.InvokeAsync(tool, new { })).Json())["approvalId"]!.GetValue<Guid>();

        var decisions = await Task.WhenAll(
            ada.Client.PostJson($"/approvals/{approvalId}/approve", new { }),
            ada.Client.PostJson($"/approvals/{approvalId}/reject", new { }),
            ada.Client.PostJson($"/approvals/{approvalId}/approve", new { }));

        decisions.Count(d => d.StatusCode == HttpStatusCode.OK).ShouldBe(1);
        decisions.Count(d => d.StatusCode == HttpStatusCode.Conflict).ShouldBe(2);
        var runId = (await Fixture.SqlScalarAsync<Guid>($"select id from agentartifacts.mt_doc_run where data ->> 'ApprovalId' = '{approvalId}'"));
        (await Fixture.Host.Store.RunEventNamesAsync(runId)).Count(n => n is "run_approved" or "run_rejected").ShouldBe(1);
    }

    [Fact]
    public async Task unknown_approvals_and_strangers_are_404_and_cancelling_a_waiting_run_withdraws_it()
    {
        var (ada, bob, tool) = await GuardedToolAsync();
        var eve = await Fixture.NewUserAsync();
        var run = await (await bob.Client.InvokeAsync(tool, new { })).Json();
        var approvalId = run["approvalId"]!.GetValue<Guid>();

        (await eve.Client.PostJson($"/approvals/{approvalId}/approve", new { })).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await ada.Client.PostJson($"/approvals/{Guid.CreateVersion7()}/approve", new { })).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await (await eve.Client.GetAsync("/approvals")).Json())["items"]!.AsArray().ShouldBeEmpty();
        (await ada.Client.PostJson($"/approvals/{approvalId}/approve", new { note = new string('x', 2001) })).StatusCode.ShouldBe(HttpStatusCode.BadRequest);

        (await bob.Client.PostJson($"/runs/{run["id"]}/cancel", new { })).StatusCode.ShouldBe(HttpStatusCode.OK);

        (await (await ada.Client.PostJson($"/approvals/{approvalId}/approve", new { })).ProblemCode()).ShouldBe("approval_decided");
        (await (await ada.Client.GetAsync("/approvals")).Json())["items"]!.AsArray().ShouldBeEmpty();
        _peer.Calls.ShouldBe(0);
    }

    [Fact]
    public async Task an_api_key_cannot_decide_an_approval_whatever_its_scopes_and_the_approval_stays_pending()
    {
        var (ada, bob, tool) = await GuardedToolAsync();
        var run = await (await bob.Client.InvokeAsync(tool, new { })).Json();
        var approvalId = run["approvalId"]!.GetValue<Guid>();
        // Ada holds admin on the tool; her key has every scope a key can have on it, yet deciding is no key action.
        var key = await ada.KeyAsync("tool:*/*:read", "tool:*/*:write", "tool:*/*:create", "tool:*/*:delete", "tool:*/*:invoke",
            "resource:*/*:read", "resource:*/*:write");
        using var adasKey = Fixture.Host.NewClient(key.Secret);
        var before = await Fixture.EventCountAsync();

        var approve = await adasKey.PostJson($"/approvals/{approvalId}/approve", new { note = "by key" });
        var reject = await adasKey.PostJson($"/approvals/{approvalId}/reject", new { });
        var list = await adasKey.GetAsync("/approvals");

        (approve.StatusCode, reject.StatusCode, list.StatusCode).ShouldBe((HttpStatusCode.Forbidden, HttpStatusCode.Forbidden, HttpStatusCode.Forbidden));
        (await approve.ProblemCode()).ShouldBe("permission_denied");
        (await reject.ProblemCode()).ShouldBe("permission_denied");
        (await list.ProblemCode()).ShouldBe("permission_denied");
        (await Fixture.EventCountAsync()).ShouldBe(before);
        var pending = (await (await ada.Client.GetAsync("/approvals")).Json())["items"]!.AsArray().Single()!;
        (pending["id"]!.GetValue<Guid>(), pending["status"]!.GetValue<string>()).ShouldBe((approvalId, "pending"));
        pending["decidedBy"].ShouldBeNull();
        (await (await bob.Client.GetAsync($"/runs/{run["id"]}")).Json())["status"]!.GetValue<string>().ShouldBe("awaiting_approval");
        _peer.Calls.ShouldBe(0);
    }
}

/// <summary>Approvals that nobody decides in time: on a host whose approvals expire after a second and a half.</summary>
public sealed class ApprovalExpiryTests(ApiFixture fixture) : ApiTest(fixture)
{
    [Fact]
    public async Task an_undecided_approval_expires_the_run_which_never_executes_and_a_late_decision_is_409()
    {
        await using var peer = await HttpPeer.StartAsync();
        await using var host = ServiceHost.Start(Fixture.Database.ConnectionString, new Dictionary<string, string?> { ["Approvals:ExpiryMinutes"] = "0.025" });
        var ada = await Fixture.NewUserAsync();
        using var client = host.NewClient(ada.AccessToken);
        var context = new JsonObject { ["endpoint"] = new JsonObject { ["url"] = peer.Url("/echo").ToString() }, ["requiresApproval"] = true };
        var workspace = (await (await client.PostJson("/workspaces", new { title = "W" })).Json())["id"]!.GetValue<Guid>();
        var tool = (await (await client.PostJson("/artifacts", new { containerId = workspace, contentType = "application/vnd.agience.http-tool+json",
            title = "Guarded", context })).Json())["id"]!.GetValue<Guid>();
        var first = await (await client.InvokeAsync(tool, new { })).Json();
        var second = await (await client.InvokeAsync(tool, new { })).Json();

        // Nobody decides the first: the scheduled expiry ends it.
        var expired = await client.WaitForRunAsync(first["id"]!.GetValue<Guid>(), "expired");
        expired["error"]!["code"]!.GetValue<string>().ShouldBe("approval_expired");
        // The second was requested later, so its time may not be up yet on a slow machine: wait until the pending list drops it.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while ((await (await client.GetAsync("/approvals")).Json())["items"]!.AsArray().Count > 0)
        {
            DateTime.UtcNow.ShouldBeLessThan(deadline, "the second approval never expired");
            await Task.Delay(50);
        }
        // The second is decided too late, whether or not its expiry message has run yet.
        var late = await client.PostJson($"/approvals/{second["approvalId"]}/approve", new { });
        late.StatusCode.ShouldBe(HttpStatusCode.Conflict);
        (await late.ProblemCode()).ShouldBeOneOf("approval_expired", "approval_decided");
        await client.WaitForRunAsync(second["id"]!.GetValue<Guid>(), "expired");
        peer.Calls.ShouldBe(0);
        (await host.Store.RunEventNamesAsync(first["id"]!.GetValue<Guid>())).ShouldBe(["run_requested", "run_approval_requested", "run_expired"]);
    }
}
