using System.Text.Json;
using System.Text.Json.Nodes;
using Marten;

namespace AgentArtifacts.Api.Webhooks;

/// <summary>
/// Which events of the log go to an endpoint, and the body each is delivered with. The body follows the Standard Webhooks
/// convention: <c>{"type", "timestamp", "data"}</c>.
/// </summary>
public sealed class WebhookEvents
{
    public sealed record Selected(long Sequence, string Type, string Payload);

    /// <summary>The events in (<paramref name="after"/>, <paramref name="upTo"/>] to deliver to the endpoint, in log order.</summary>
    public Task<IReadOnlyList<Selected>> SelectAsync(IQuerySession session, Webhook webhook, long after, long upTo, CancellationToken ct) =>
        Task.FromResult<IReadOnlyList<Selected>>([]);

    /// <summary>Whether the endpoint's owner may still read the event, just before it is sent.</summary>
    public Task<bool> StillVisibleAsync(IQuerySession session, Webhook webhook, long sequence, CancellationToken ct) => Task.FromResult(true);

    public static string Body(string type, DateTimeOffset timestamp, JsonNode data) =>
        new JsonObject { ["type"] = type, ["timestamp"] = timestamp.UtcDateTime.ToString("O"), ["data"] = data }.ToJsonString(JsonSerializerOptions.Web);

    /// <summary>The body of a <c>webhook.test</c> delivery.</summary>
    public static string TestBody(Guid webhookId, DateTimeOffset now) =>
        Body(WebhookTypes.Test, now, new JsonObject { ["webhookId"] = webhookId.ToString() });
}
