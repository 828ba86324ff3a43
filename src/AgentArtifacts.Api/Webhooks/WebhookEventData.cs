namespace AgentArtifacts.Api.Webhooks;

// The payloads of the webhook.* public events (Events/PublicEvents.cs maps the stream's events to them). They never carry the
// signing secret, nor the URL, whose query string often holds a token of the receiver's.

/// <summary><c>webhook.created</c>: a webhook endpoint was created.</summary>
/// <param name="WebhookId">The endpoint.</param>
/// <param name="Types">Its type globs; null for every type.</param>
/// <param name="ContainerId">Its container filter; null for none.</param>
public sealed record WebhookCreatedData(Guid WebhookId, IReadOnlyList<string>? Types, Guid? ContainerId);

/// <summary><c>webhook.updated</c>: an endpoint's URL, filters or description changed.</summary>
/// <param name="WebhookId">The endpoint.</param>
/// <param name="Changed">The fields that changed: <c>url</c>, <c>types</c>, <c>containerId</c>, <c>description</c>.</param>
/// <param name="Types">The new type globs when they changed (null: every type, or unchanged).</param>
/// <param name="ContainerId">The new container filter when it changed (null: none, or unchanged).</param>
public sealed record WebhookUpdatedData(Guid WebhookId, IReadOnlyList<string> Changed, IReadOnlyList<string>? Types, Guid? ContainerId);

/// <summary><c>webhook.secret_rotated</c>: an endpoint got a new signing secret; the previous one also signs until the given time.</summary>
/// <param name="WebhookId">The endpoint.</param>
/// <param name="PreviousSecretValidUntil">Until when the previous secret also signs deliveries (ISO 8601, UTC).</param>
public sealed record WebhookSecretRotatedData(Guid WebhookId, DateTimeOffset PreviousSecretValidUntil);

/// <summary><c>webhook.disabled</c>: deliveries to an endpoint stopped, because every attempt failed for a day, or its owner paused it.</summary>
/// <param name="WebhookId">The endpoint.</param>
/// <param name="FailingSince">Since when every attempt failed (ISO 8601, UTC); the time of the pause when its owner paused it.</param>
/// <param name="Reason">Why, for people.</param>
public sealed record WebhookDisabledData(Guid WebhookId, DateTimeOffset FailingSince, string Reason);

/// <summary><c>webhook.enabled</c> (deliveries resumed) or <c>webhook.deleted</c>.</summary>
/// <param name="WebhookId">The endpoint.</param>
public sealed record WebhookStateData(Guid WebhookId);
