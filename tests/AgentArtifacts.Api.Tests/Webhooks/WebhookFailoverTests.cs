using AgentArtifacts.Api.Tests.Infrastructure;
using Shouldly;
using Xunit;

namespace AgentArtifacts.Api.Tests.Webhooks;

/// <summary>Delivery state lives in PostgreSQL: a host that stops mid-delivery loses nothing, and another host finishes the job.</summary>
public sealed class WebhookFailoverTests : IAsyncLifetime
{
    private TestDatabase _database = null!;
    private WebhookReceiver _receiver = null!;

    // A first retry ~3 s out, so the first host cannot retry before it is stopped.
    private static readonly Dictionary<string, string?> SlowRetry = new() { ["Webhooks:RetryDelaysMs:0"] = "3000" };

    public async Task InitializeAsync()
    {
        _database = await TestDatabase.StartAsync();
        _receiver = await WebhookReceiver.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _receiver.DisposeAsync();
        await _database.DisposeAsync();
    }

    [Fact]
    public async Task a_delivery_left_pending_by_a_stopped_host_is_delivered_by_the_next_one_with_the_same_id()
    {
        var first = ServiceHost.Start(_database.ConnectionString, SlowRetry);
        var token = await IsolatedHostTest.RegisterAdaAsync(first);
        Guid hookId;
        string secret;
        using (var ada = first.NewClient(token))
        {
            (hookId, secret) = await ada.WebhookAsync(_receiver.Url, WebhookArrange.OnlyTests);
            await _receiver.TrustAsync(secret);
            await _receiver.PlanAsync(new { status = 503 });
            await ada.PostAsync($"/webhooks/{hookId}/test", null);
            await _receiver.WaitForAsync(1);
            // Stopped once the failed attempt is recorded (stopped before, the attempt is simply made again).
            await ada.WaitForDeliveryAsync(hookId, "pending", attempts: 1);
        }
        await first.DisposeAsync();

        await using var second = ServiceHost.Start(_database.ConnectionString, SlowRetry);

        var received = await _receiver.WaitForAsync(2);
        received[1]!["id"]!.GetValue<string>().ShouldBe(received[0]!["id"]!.GetValue<string>());
        received[1]!["verifiedBy"]!.AsArray().Count.ShouldBe(1);
        using var client = second.NewClient(token);
        var delivery = await client.WaitForDeliveryAsync(hookId, "succeeded");
        delivery["attempts"]!.AsArray().Select(a => a!["statusCode"]!.GetValue<int>()).ShouldBe([503, 200]);
    }

    [Fact]
    public async Task two_hosts_on_one_database_deliver_each_event_once_and_in_order()
    {
        await using var first = ServiceHost.Start(_database.ConnectionString);
        await using var second = ServiceHost.Start(_database.ConnectionString);
        var token = await IsolatedHostTest.RegisterAdaAsync(first);
        using var ada = first.NewClient(token);
        using var viaSecond = second.NewClient(token);
        var (hookId, secret) = await ada.WebhookAsync(_receiver.Url, new { types = new[] { "artifact.created" } });
        await _receiver.TrustAsync(secret);

        // Written through both hosts, one after another.
        var titles = new List<string>();
        for (var i = 0; i < 10; i++)
        {
            titles.Add($"Workspace {i}");
            (await (i % 2 == 0 ? ada : viaSecond).PostJson("/workspaces", new { title = titles[^1] })).EnsureSuccessStatusCode();
        }

        var received = await _receiver.WaitForAsync(10);
        await Task.Delay(1000);
        received = await _receiver.ReceivedAsync();
        received.Select(r => r!["id"]!.GetValue<string>()).ShouldBeUnique();
        received.Select(r => System.Text.Json.Nodes.JsonNode.Parse(r!["body"]!.GetValue<string>())!["data"]!["data"]!["title"]!.GetValue<string>())
            .ShouldBe(titles);
        received.ShouldAllBe(r => r!["verifiedBy"]!.AsArray().Count == 1);
    }
}
