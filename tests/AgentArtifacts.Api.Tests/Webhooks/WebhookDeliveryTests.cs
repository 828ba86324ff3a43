using System.Net;
using System.Text.Json.Nodes;
using AgentArtifacts.Api.Tests.Infrastructure;
using Shouldly;
using Xunit;

namespace AgentArtifacts.Api.Tests.Webhooks;

/// <summary>Deliveries to a real receiver that checks every signature with the standardwebhooks npm package.</summary>
public sealed class WebhookDeliveryTests(ApiFixture fixture) : ApiTest(fixture), IAsyncLifetime
{
    private WebhookReceiver _receiver = null!;

    async Task IAsyncLifetime.InitializeAsync()
    {
        await Fixture.ResetAsync();
        _receiver = await WebhookReceiver.StartAsync();
    }

    async Task IAsyncLifetime.DisposeAsync() => await _receiver.DisposeAsync();

    private static int[] Statuses(JsonObject delivery) =>
        delivery["attempts"]!.AsArray().Select(a => a!["statusCode"]?.GetValue<int>() ?? 0).ToArray();

    [Fact]
    public async Task a_test_delivery_is_signed_so_the_standard_webhooks_verifier_accepts_it()
    {
        var ada = await Fixture.NewUserAsync();
        var hook = await ada.Client.WebhookAsync(_receiver.Url, WebhookArrange.OnlyTests);
        await _receiver.TrustAsync(hook.Secret, "whsec_" + Convert.ToBase64String(new byte[24]));

        var response = await ada.Client.PostAsync($"/webhooks/{hook.Id}/test", null);

        response.StatusCode.ShouldBe(HttpStatusCode.Accepted);
        var queued = await response.Json();
        queued["type"]!.GetValue<string>().ShouldBe("webhook.test");
        var received = (await _receiver.WaitForAsync(1)).Single()!;
        received["verifiedBy"]!.AsArray().Select(i => i!.GetValue<int>()).ShouldBe([0]);  // the right secret verifies, another does not
        received["id"]!.GetValue<string>().ShouldBe(queued["messageId"]!.GetValue<string>());
        var body = JsonNode.Parse(received["body"]!.GetValue<string>())!;
        body["type"]!.GetValue<string>().ShouldBe("webhook.test");
        body["data"]!["webhookId"]!.GetValue<Guid>().ShouldBe(hook.Id);
        var delivered = await ada.Client.WaitForDeliveryAsync(hook.Id, "succeeded");
        var attempt = delivered["attempts"]!.AsArray().Single()!;
        attempt["statusCode"]!.GetValue<int>().ShouldBe(200);
        attempt["responseExcerpt"]!.GetValue<string>().ShouldBe("received ");
        attempt["nextRetryAt"].ShouldBeNull();
    }

    [Fact]
    public async Task a_500_is_retried_with_the_same_webhook_id_until_it_succeeds()
    {
        var ada = await Fixture.NewUserAsync();
        var hook = await ada.Client.WebhookAsync(_receiver.Url, WebhookArrange.OnlyTests);
        await _receiver.TrustAsync(hook.Secret);
        await _receiver.PlanAsync(new { status = 500, body = "down" }, new { status = 503 });

        await ada.Client.PostAsync($"/webhooks/{hook.Id}/test", null);

        var received = await _receiver.WaitForAsync(3);
        received.Select(r => r!["id"]!.GetValue<string>()).Distinct().Count().ShouldBe(1);
        received.ShouldAllBe(r => r!["verifiedBy"]!.AsArray().Count == 1);
        var delivery = await ada.Client.WaitForDeliveryAsync(hook.Id, "succeeded");
        Statuses(delivery).ShouldBe([500, 503, 200]);
        var first = delivery["attempts"]![0]!;
        first["responseExcerpt"]!.GetValue<string>().ShouldBe("down");
        first["nextRetryAt"]!.GetValue<DateTimeOffset>().ShouldBeGreaterThan(first["at"]!.GetValue<DateTimeOffset>());
    }

    [Fact]
    public async Task a_429_is_retried_no_sooner_than_its_retry_after()
    {
        var ada = await Fixture.NewUserAsync();
        var hook = await ada.Client.WebhookAsync(_receiver.Url, WebhookArrange.OnlyTests);
        await _receiver.PlanAsync(new { status = 429, retryAfter = "2" });

        await ada.Client.PostAsync($"/webhooks/{hook.Id}/test", null);

        var received = await _receiver.WaitForAsync(2);
        // The configured pause is ~100 ms; the receiver asked for 2 s.
        (received[1]!["at"]!.GetValue<long>() - received[0]!["at"]!.GetValue<long>()).ShouldBeGreaterThanOrEqualTo(1900);
        Statuses(await ada.Client.WaitForDeliveryAsync(hook.Id, "succeeded")).ShouldBe([429, 200]);
    }

    [Fact]
    public async Task a_4xx_fails_the_delivery_at_once_and_retry_sends_it_again_with_the_same_id()
    {
        var ada = await Fixture.NewUserAsync();
        var hook = await ada.Client.WebhookAsync(_receiver.Url, WebhookArrange.OnlyTests);
        await _receiver.PlanAsync(new { status = 410 });
        await ada.Client.PostAsync($"/webhooks/{hook.Id}/test", null);
        var failed = await ada.Client.WaitForDeliveryAsync(hook.Id, "failed");
        await Task.Delay(500);  // several retry pauses: nothing more may arrive
        (await _receiver.ReceivedAsync()).Count.ShouldBe(1);
        failed["nextAttemptAt"].ShouldBeNull();

        var retried = await ada.Client.PostAsync($"/webhooks/{hook.Id}/deliveries/{failed["id"]}/retry", null);

        retried.StatusCode.ShouldBe(HttpStatusCode.Accepted);
        var received = await _receiver.WaitForAsync(2);
        received[1]!["id"]!.GetValue<string>().ShouldBe(received[0]!["id"]!.GetValue<string>());
        Statuses(await ada.Client.WaitForDeliveryAsync(hook.Id, "succeeded")).ShouldBe([410, 200]);
        (await ada.Client.PostAsync($"/webhooks/{hook.Id}/deliveries/{Guid.NewGuid()}/retry", null)).StatusCode.ShouldBe(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task a_redirect_is_not_followed()
    {
        var ada = await Fixture.NewUserAsync();
        var hook = await ada.Client.WebhookAsync(_receiver.Url, WebhookArrange.OnlyTests);
        await _receiver.PlanAsync(new { status = 307, location = _receiver.Url + "/elsewhere" });

        await ada.Client.PostAsync($"/webhooks/{hook.Id}/test", null);

        var failed = await ada.Client.WaitForDeliveryAsync(hook.Id, "failed");
        failed["attempts"]![0]!["error"]!.GetValue<string>().ShouldBe("redirect_not_followed");
        (await _receiver.ReceivedAsync()).ShouldAllBe(r => r!["path"]!.GetValue<string>() == "/hook");
    }

    [Fact]
    public async Task only_the_start_of_a_response_body_is_kept()
    {
        var ada = await Fixture.NewUserAsync();
        var hook = await ada.Client.WebhookAsync(_receiver.Url, WebhookArrange.OnlyTests);
        await _receiver.PlanAsync(new { status = 200, repeat = 100_000 });

        await ada.Client.PostAsync($"/webhooks/{hook.Id}/test", null);

        var delivered = await ada.Client.WaitForDeliveryAsync(hook.Id, "succeeded");
        delivered["attempts"]![0]!["responseExcerpt"]!.GetValue<string>().Length.ShouldBe(1024);
    }

    [Fact]
    public async Task during_a_rotation_each_delivery_verifies_under_the_old_and_the_new_secret()
    {
        var ada = await Fixture.NewUserAsync();
        var hook = await ada.Client.WebhookAsync(_receiver.Url, WebhookArrange.OnlyTests);
        var rotated = await (await ada.Client.PostAsync($"/webhooks/{hook.Id}/rotate-secret", null)).Json();
        await _receiver.TrustAsync(hook.Secret, rotated["secret"]!.GetValue<string>());

        await ada.Client.PostAsync($"/webhooks/{hook.Id}/test", null);

        var received = (await _receiver.WaitForAsync(1)).Single()!;
        received["verifiedBy"]!.AsArray().Select(i => i!.GetValue<int>()).ShouldBe([0, 1]);
        received["signature"]!.GetValue<string>().Split(' ').Length.ShouldBe(2);
        // Neither secret is ever logged, nor kept in an event.
        var secrets = new[] { hook.Secret, rotated["secret"]!.GetValue<string>() }.Select(s => s["whsec_".Length..]).ToList();
        Fixture.Host.Logs.Lines.ShouldNotContain(line => secrets.Any(line.Contains));
        (await Fixture.SqlScalarAsync<long>($"select count(*) from agentartifacts.mt_events where data::text like '%{secrets[0]}%' or data::text like '%{secrets[1]}%'"))
            .ShouldBe(0);
    }

    [Fact]
    public async Task a_slow_endpoint_does_not_hold_up_another()
    {
        var ada = await Fixture.NewUserAsync();
        await using var slow = await WebhookReceiver.StartAsync();
        await slow.PlanAsync(new { status = 200, delayMs = 8000 });
        var slowHook = await ada.Client.WebhookAsync(slow.Url, WebhookArrange.OnlyTests);
        var fastHook = await ada.Client.WebhookAsync(_receiver.Url, WebhookArrange.OnlyTests);
        await ada.Client.PostAsync($"/webhooks/{slowHook.Id}/test", null);
        await slow.WaitForAsync(1);

        var started = DateTime.UtcNow;
        await ada.Client.PostAsync($"/webhooks/{fastHook.Id}/test", null);

        await _receiver.WaitForAsync(1);
        (DateTime.UtcNow - started).ShouldBeLessThan(TimeSpan.FromSeconds(3));
    }
}

/// <summary>An endpoint that keeps failing is disabled after <c>Webhooks:DisableAfterSeconds</c> (here 1 s instead of a day).</summary>
public sealed class WebhookDisableTests() : IsolatedHostTest(new Dictionary<string, string?>
{
    ["Webhooks:DisableAfterSeconds"] = "1",
    ["Webhooks:RetryDelaysMs:3"] = "400", ["Webhooks:RetryDelaysMs:4"] = "400", ["Webhooks:RetryDelaysMs:5"] = "400", ["Webhooks:RetryDelaysMs:6"] = "400",
})
{
    [Fact]
    public async Task an_endpoint_failing_past_the_limit_is_disabled_with_webhook_disabled()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        using var ada = await AdaAsync();
        var hook = await ada.WebhookAsync(receiver.Url, WebhookArrange.OnlyTests);
        await using var watcher = await WebhookReceiver.StartAsync();
        await ada.WebhookAsync(watcher.Url, new { types = new[] { "webhook.disabled" } });
        await receiver.PlanAsync(Enumerable.Repeat<object>(new { status = 500 }, 20).ToArray());

        await ada.PostAsync($"/webhooks/{hook.Id}/test", null);

        var deadline = DateTime.UtcNow.AddSeconds(15);
        JsonObject read;
        do
        {
            await Task.Delay(100);
            read = await (await ada.GetAsync($"/webhooks/{hook.Id}")).Json();
        } while (read["enabled"]!.GetValue<bool>() && DateTime.UtcNow < deadline);
        read["enabled"]!.GetValue<bool>().ShouldBeFalse();
        read["disabledReason"]!.GetValue<string>().ShouldContain("failed");
        // The owner's other endpoint hears of it: webhook.disabled is a public event.
        var disabled = JsonNode.Parse((await watcher.WaitForAsync(1)).Single()!["body"]!.GetValue<string>())!;
        disabled["type"]!.GetValue<string>().ShouldBe("webhook.disabled");
        disabled["data"]!["data"]!["webhookId"]!.GetValue<Guid>().ShouldBe(hook.Id);
        await using (var session = Host.Store.QuerySession())
        {
            (await session.Events.FetchStreamAsync(hook.Id)).Count(e => e.Data is Api.Webhooks.WebhookDisabled).ShouldBe(1);
        }
        (await ada.PostAsync($"/webhooks/{hook.Id}/test", null)).StatusCode.ShouldBe(HttpStatusCode.Conflict);

        var resumed = await ada.SendJson(HttpMethod.Patch, $"/webhooks/{hook.Id}", new { enabled = true });
        var resumedBody = await resumed.Content.ReadAsStringAsync();
        resumed.StatusCode.ShouldBe(HttpStatusCode.OK, resumedBody);
        System.Text.Json.Nodes.JsonNode.Parse(resumedBody)!["enabled"]!.GetValue<bool>().ShouldBeTrue();
    }
}
