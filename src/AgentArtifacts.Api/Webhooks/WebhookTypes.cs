using AgentArtifacts.Api.Events;

namespace AgentArtifacts.Api.Webhooks;

/// <summary>The event types an endpoint can ask for: type globs over the public event catalogue, and <c>webhook.test</c>.</summary>
public static class WebhookTypes
{
    /// <summary>The type of the delivery <c>POST /webhooks/{id}/test</c> sends; it ignores the endpoint's filters.</summary>
    public const string Test = "webhook.test";

    /// <summary>Null when every glob is well formed and matches a type of the catalogue, else the 400 <c>unknown_event_type</c>.</summary>
    public static IResult? Problem(IReadOnlyList<string>? globs)
    {
        if (globs is null) return null;
        var known = PublicEvents.Catalogue.Keys.Append(Test).ToList();
        var bad = globs.Where(g => !WebhookRules.IsTypeGlob(g) || !known.Any(type => WebhookRules.TypeMatches([g], type))).ToList();
        return bad.Count == 0 ? null
            : Problems.Invalid("types", $"No event type matches {string.Join(", ", bad)} (docs/events.md lists them; * is a wildcard, e.g. artifact.*).",
                "unknown_event_type");
    }
}
