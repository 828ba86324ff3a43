using System.Net;
using System.Text.Json.Nodes;
using AgentArtifacts.Api.Tests.Infrastructure;
using Shouldly;
using Xunit;

namespace AgentArtifacts.Api.Tests.Webhooks;

/// <summary>Public events of the log, delivered to a real receiver that verifies them with the standardwebhooks npm package.</summary>
public sealed class WebhookEventDeliveryTests(ApiFixture fixture) : ApiTest(fixture), IAsyncLifetime
{
    private WebhookReceiver _receiver = null!;

    async Task IAsyncLifetime.InitializeAsync()
    {
        await Fixture.ResetAsync();
        _receiver = await WebhookReceiver.StartAsync();
    }

    async Task IAsyncLifetime.DisposeAsync() => await _receiver.DisposeAsync();

    private static JsonNode Body(JsonNode? received) => JsonNode.Parse(received!["body"]!.GetValue<string>())!;

    [Fact]
    public async Task events_arrive_in_log_order_verified_and_a_retried_one_holds_back_those_after_it()
    {
        var ada = await Fixture.NewUserAsync();
        var hook = await ada.Client.WebhookAsync(_receiver.Url, new { types = new[] { "artifact.created" } });
        await _receiver.TrustAsync(hook.Secret);
        await _receiver.PlanAsync(new { status = 200 }, new { status = 500 }, new { status = 429 });
        var workspace = await ada.WorkspaceAsync();
        var titles = Enumerable.Range(1, 5).Select(i => $"Note {i}").ToList();
        foreach (var title in titles) await ada.ArtifactAsync(workspace, title);

        var received = await _receiver.WaitForAsync(8);

        received.ShouldAllBe(r => r!["verifiedBy"]!.AsArray().Count == 1);
        // Each message once, except the retried one, whose attempts come one after another before the next message.
        var ids = received.Select(r => r!["id"]!.GetValue<string>()).ToList();
        ids.Distinct().Count().ShouldBe(6);
        ids[1].ShouldBe(ids[2]);
        ids[2].ShouldBe(ids[3]);
        var distinct = received.Where((r, i) => i == 0 || ids[i] != ids[i - 1]).Select(Body).ToList();
        var sequences = distinct.Select(b => b["data"]!["sequence"]!.GetValue<long>()).ToList();
        sequences.ShouldBe(sequences.Order().ToList());
        distinct.ShouldAllBe(b => b["type"]!.GetValue<string>() == "artifact.created");
        distinct.Skip(1).Select(b => b["data"]!["data"]!["title"]!.GetValue<string>()).ShouldBe(titles);
        ids.ShouldAllBe(id => id.StartsWith("msg_"));
    }

    [Fact]
    public async Task only_events_of_the_webhooks_container_are_delivered()
    {
        var ada = await Fixture.NewUserAsync();
        var watched = await ada.WorkspaceAsync("Watched");
        var other = await ada.WorkspaceAsync("Other");
        var hook = await ada.Client.WebhookAsync(_receiver.Url, new { containerId = watched, types = new[] { "artifact.*" } });

        await ada.ArtifactAsync(other, "Elsewhere");
        await ada.ArtifactAsync(watched, "Here");

        var received = await _receiver.WaitForAsync(1);
        await Task.Delay(1500);
        received = await _receiver.ReceivedAsync();
        received.Select(r => Body(r)["data"]!["data"]!["title"]!.GetValue<string>()).ShouldBe(["Here"]);
    }

    [Fact]
    public async Task only_events_the_owner_may_read_are_delivered_and_a_revoked_grant_stops_them()
    {
        var ada = await Fixture.NewUserAsync();
        var bob = await Fixture.NewUserAsync();
        var adas = await ada.WorkspaceAsync("Ada's");
        var hook = await bob.Client.WebhookAsync(_receiver.Url, new { types = new[] { "artifact.created" } });

        // Bob's own workspaces are markers he may read: once one arrives, every event before it has been decided.
        await ada.ArtifactAsync(adas, "Private");
        await bob.WorkspaceAsync("Bob's 1");
        await _receiver.WaitForAsync(1);
        var grant = (await (await ada.GrantAsync(adas, bob.Id, "viewer")).Json())["id"]!.GetValue<Guid>();
        await ada.ArtifactAsync(adas, "Shared");
        await _receiver.WaitForAsync(2);
        (await ada.Client.DeleteAsync($"/grants/{grant}")).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        await ada.ArtifactAsync(adas, "Private again");
        await bob.WorkspaceAsync("Bob's 2");

        var received = await _receiver.WaitForAsync(3);

        received.Select(r => Body(r)["data"]!["data"]!["title"]!.GetValue<string>()).ShouldBe(["Bob's 1", "Shared", "Bob's 2"]);
    }

    [Fact]
    public async Task replay_delivers_again_everything_after_a_position_with_the_same_webhook_ids()
    {
        var ada = await Fixture.NewUserAsync();
        var hook = await ada.Client.WebhookAsync(_receiver.Url, new { types = new[] { "artifact.created" } });
        var workspace = await ada.WorkspaceAsync();
        await ada.ArtifactAsync(workspace, "One");
        await ada.ArtifactAsync(workspace, "Two");
        var first = await _receiver.WaitForAsync(3);
        var after = Body(first[0])["data"]!["sequence"]!.GetValue<long>();

        var response = await ada.Client.PostJson($"/webhooks/{hook.Id}/replay", new { after });

        response.StatusCode.ShouldBe(HttpStatusCode.Accepted);
        var all = await _receiver.WaitForAsync(5);
        all.Skip(3).Select(r => r!["id"]!.GetValue<string>()).ShouldBe(first.Skip(1).Select(r => r!["id"]!.GetValue<string>()));
        all.Skip(3).Select(r => Body(r)["data"]!["data"]!["title"]!.GetValue<string>()).ShouldBe(["One", "Two"]);
    }

    [Fact]
    public async Task an_unknown_event_type_glob_is_400()
    {
        var ada = await Fixture.NewUserAsync();

        var response = await ada.Client.PostJson("/webhooks", new { url = _receiver.Url, types = new[] { "artifact.exploded" } });

        (await response.ProblemCode()).ShouldBe("unknown_event_type");
    }
}

/// <summary>New events wake the deliverers (the event feed's append signal), not their poll, here 30 s.</summary>
public sealed class WebhookWakeTests() : IsolatedHostTest(new Dictionary<string, string?> { ["Webhooks:PollMilliseconds"] = "30000" })
{
    [Fact]
    public async Task an_event_is_delivered_within_two_seconds_of_its_commit_without_waiting_for_the_poll()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        using var ada = await AdaAsync();
        await ada.WebhookAsync(receiver.Url, new { types = new[] { "artifact.created" } });
        await Task.Delay(500);  // the deliverers are idle, waiting

        var written = DateTimeOffset.UtcNow;
        (await ada.PostJson("/workspaces", new { title = "Woken" })).EnsureSuccessStatusCode();

        var received = (await receiver.WaitForAsync(1, seconds: 10)).Single()!;
        (DateTimeOffset.FromUnixTimeMilliseconds(received["at"]!.GetValue<long>()) - written).ShouldBeLessThan(TimeSpan.FromSeconds(2));
    }
}
