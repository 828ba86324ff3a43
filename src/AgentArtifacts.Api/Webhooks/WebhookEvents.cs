using System.Text.Json;
using System.Text.Json.Nodes;
using AgentArtifacts.Api.Events;
using AgentArtifacts.Api.Identity;
using JasperFx.Events;
using Marten;
using Microsoft.Extensions.Options;

namespace AgentArtifacts.Api.Webhooks;

/// <summary>
/// Which events of the log go to an endpoint, and the body each is delivered with. The events are the public events of the
/// one mapping (<see cref="PublicEvents"/>) that match the endpoint's type globs and container, and that its owner may read
/// (<see cref="EventVisibility"/>, the decision the feed and REST share), asked when the event is queued and again just
/// before each attempt, so revoking the owner's access stops deliveries. The body follows the Standard Webhooks convention
/// <c>{"type", "timestamp", "data"}</c>, with the public event (sequence, actor, resource, payload) as <c>data</c>.
/// </summary>
public sealed class WebhookEvents(IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions> json)
{
    public sealed record Selected(long Sequence, string Type, string Payload);

    /// <summary>The events in (<paramref name="after"/>, <paramref name="upTo"/>] to deliver to the endpoint, in log order.</summary>
    public async Task<IReadOnlyList<Selected>> SelectAsync(IQuerySession session, Webhook webhook, long after, long upTo, CancellationToken ct)
    {
        var raw = await session.Events.QueryAllRawEvents().Where(e => e.Sequence > after && e.Sequence <= upTo).OrderBy(e => e.Sequence).ToListAsync(ct);
        var visible = await ForOwnerAsync(session, webhook, raw, ct);
        return visible.Select(e => new Selected(e.Sequence, e.Type, Body(e.Type, e.Time, JsonSerializer.SerializeToNode(e, json.Value.SerializerOptions)!)))
            .ToList();
    }

    /// <summary>Whether the endpoint's owner may still read the event, just before it is sent.</summary>
    public async Task<bool> StillVisibleAsync(IQuerySession session, Webhook webhook, long sequence, CancellationToken ct)
    {
        var raw = await session.Events.QueryAllRawEvents().Where(e => e.Sequence == sequence).ToListAsync(ct);
        return (await ForOwnerAsync(session, webhook, raw, ct)).Count == 1;
    }

    private static async Task<IReadOnlyList<PublicEvent>> ForOwnerAsync(IQuerySession session, Webhook webhook, IReadOnlyList<IEvent> raw,
        CancellationToken ct)
    {
        if (raw.Count == 0) return [];
        var matching = (await session.ReadAsync(raw, ct))
            .Where(e => WebhookRules.TypeMatches(webhook.Types, e.Type)
                        && (webhook.ContainerId is not { } container || e.ContainerId == container || e.ResourceId == container))
            .ToList();
        if (matching.Count == 0) return [];
        var owner = await session.LoadAsync<User>(webhook.OwnerId, ct);
        if (owner is null) return [];
        return await session.VisibleAsync(new Caller(owner.Id, Caller.User, owner.IsPlatformAdmin), matching, ct);
    }

    public static string Body(string type, DateTimeOffset timestamp, JsonNode data) =>
        new JsonObject { ["type"] = type, ["timestamp"] = timestamp.UtcDateTime.ToString("O"), ["data"] = data }.ToJsonString(JsonSerializerOptions.Web);

    /// <summary>The body of a <c>webhook.test</c> delivery.</summary>
    public static string TestBody(Guid webhookId, DateTimeOffset now) =>
        Body(WebhookTypes.Test, now, new JsonObject { ["webhookId"] = webhookId.ToString() });
}
