using System.Net.Http.Json;
using System.Text.Json.Nodes;
using AgentArtifacts.Api.Tests.Infrastructure;
using AgentArtifacts.Api.Tests.Runs;

namespace AgentArtifacts.Api.Tests.Webhooks;

/// <summary>
/// <c>tests/peers/webhook-receiver.mjs</c>: a real HTTP receiver that verifies every delivery with the <c>standardwebhooks</c>
/// npm package under each secret the test gives it, and answers the statuses the test plans (then 200).
/// </summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly NodeMcpPeer _peer;
    private readonly HttpClient _control;

    private WebhookReceiver(NodeMcpPeer peer)
    {
        _peer = peer;
        _control = new HttpClient { BaseAddress = new Uri(peer.Url.GetLeftPart(UriPartial.Authority)) };
    }

    /// <summary>Where deliveries go.</summary>
    public string Url => _peer.Url.ToString();

    public static async Task<WebhookReceiver> StartAsync() =>
        new(await NodeMcpPeer.StartAsync(["webhook-receiver.mjs"], port => new() { ["PORT"] = $"{port}" }, "/hook"));

    /// <summary>The secrets to verify each delivery with, each on its own (<c>verifiedBy</c> lists the indexes that verified it).</summary>
    public async Task TrustAsync(params string[] secrets) =>
        (await _control.PostAsJsonAsync("/_control/secrets", new { secrets })).EnsureSuccessStatusCode();

    /// <summary>The next answers, in order, e.g. <c>new { status = 500 }</c>, <c>new { status = 429, retryAfter = "1" }</c>.</summary>
    public async Task PlanAsync(params object[] responses) =>
        (await _control.PostAsJsonAsync("/_control/plan", new { responses })).EnsureSuccessStatusCode();

    public async Task<JsonArray> ReceivedAsync() => (await _control.GetFromJsonAsync<JsonArray>("/_control/received"))!;

    /// <summary>Waits until at least <paramref name="count"/> deliveries arrived (at most <paramref name="seconds"/>) and returns them all.</summary>
    public async Task<JsonArray> WaitForAsync(int count, int seconds = 15)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (true)
        {
            var received = await ReceivedAsync();
            if (received.Count >= count) return received;
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{received.Count} of {count} deliveries arrived within {seconds} s: {received.ToJsonString()}\n{_peer.Output}");
            }
            await Task.Delay(50);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _control.Dispose();
        await _peer.DisposeAsync();
    }
}

public static class WebhookArrange
{
    /// <summary>An endpoint that receives <c>webhook.test</c> deliveries only (no event of the log is of that type).</summary>
    public static readonly object OnlyTests = new { types = new[] { "webhook.test" } };

    /// <summary>Creates an endpoint; returns its id and its secret.</summary>
    public static async Task<(Guid Id, string Secret)> WebhookAsync(this HttpClient client, string url, object? extra = null)
    {
        var body = JsonNode.Parse(System.Text.Json.JsonSerializer.Serialize(extra ?? new { }, HttpExtensions.Web))!.AsObject();
        body["url"] = url;
        var response = await client.PostJson("/webhooks", body);
        response.EnsureSuccessStatusCode();
        var json = await response.Json();
        return (json["id"]!.GetValue<Guid>(), json["secret"]!.GetValue<string>());
    }

    /// <summary>The endpoint's deliveries, newest first.</summary>
    public static async Task<JsonArray> DeliveriesAsync(this HttpClient client, Guid webhookId) =>
        (await (await client.GetAsync($"/webhooks/{webhookId}/deliveries")).Json())["items"]!.AsArray();

    /// <summary>Waits until the newest delivery is in <paramref name="state"/> with at least <paramref name="attempts"/> attempts, and returns it.</summary>
    public static async Task<JsonObject> WaitForDeliveryAsync(this HttpClient client, Guid webhookId, string state, int seconds = 15, int attempts = 0)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (true)
        {
            var deliveries = await client.DeliveriesAsync(webhookId);
            if (deliveries.Count > 0 && deliveries[0]!["state"]!.GetValue<string>() == state
                && deliveries[0]!["attempts"]!.AsArray().Count >= attempts) return deliveries[0]!.AsObject();
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"No delivery reached {state}: {deliveries.ToJsonString()}");
            await Task.Delay(50);
        }
    }
}
