using System.Security.Claims;
using AgentArtifacts.Api.Runs;
using FluentValidation;
using Marten;
using Microsoft.Extensions.Options;

namespace AgentArtifacts.Api.Webhooks;

/// <summary>Change an endpoint: only the fields given change.</summary>
/// <param name="Url">A new URL (the same rules as at creation).</param>
/// <param name="Types">New type globs (1 to 50); an empty list removes the filter (every type).</param>
/// <param name="ContainerId">A new container filter; <c>00000000-0000-0000-0000-000000000000</c> removes it.</param>
/// <param name="Description">A new note (at most 500 characters).</param>
/// <param name="Enabled"><c>true</c> resumes a disabled endpoint (from where it stopped); <c>false</c> pauses deliveries.</param>
public sealed record UpdateWebhook(string? Url = null, IReadOnlyList<string>? Types = null, Guid? ContainerId = null, string? Description = null,
    bool? Enabled = null)
{
    public sealed class Validator : AbstractValidator<UpdateWebhook>
    {
        public Validator()
        {
            RuleFor(x => x.Url).NotEmpty().When(x => x.Url is not null);
            RuleFor(x => x.Types).Must(t => t!.Count <= WebhookRules.MaxTypes).When(x => x.Types is not null)
                .WithMessage($"types holds at most {WebhookRules.MaxTypes} globs.");
            RuleFor(x => x.Description).MaximumLength(WebhookRules.MaxDescriptionLength);
        }
    }
}

public static class UpdateWebhookEndpoint
{
    /// <summary>Change one of your webhook endpoints (URL, filters, description), or resume (<c>enabled: true</c>) or pause it.</summary>
    [AnswersWithETag]
    [WolverinePatch("/webhooks/{id}", OperationId = "updateWebhook"), Tags("Webhooks")]
    [ProducesResponseType<WebhookResponse>(200), ProducesResponseType(400), ProducesResponseType(404), ProducesResponseType(412)]
    public static async Task<IResult> Patch(Guid id, UpdateWebhook request, ClaimsPrincipal principal, IDocumentSession session, EgressPolicy egress,
        IOptions<WebhookOptions> options, TimeProvider clock, HttpContext http, CancellationToken ct)
    {
        if (!ETags.TryReadIfMatch(http.Request, out var expected)) return ETags.PreconditionFailed();
        var caller = Caller.From(principal);
        var webhook = await session.LoadOwnAsync(id, caller, ct);
        if (webhook is null) return Problems.NotFound("webhook");
        if (expected is not null && expected != webhook.Version) return ETags.PreconditionFailed();
        if (request.Url is { } url && await WebhookRules.UrlProblemAsync(url, egress, options.Value, ct) is { } badUrl) return badUrl;
        if (request.Types is { Count: > 0 } && WebhookTypes.Problem(request.Types) is { } badTypes) return badTypes;
        if (request.ContainerId is { } c && c != Guid.Empty && await WebhookRules.ContainerProblemAsync(c, caller, session, ct) is { } badContainer)
        {
            return badContainer;
        }

        var events = Decide(webhook, request, clock.GetUtcNow());
        if (events.Count > 0)
        {
            session.Events.Append(id, webhook.Version + events.Count, events.ToArray());
            if (events.Any(e => e is WebhookEnabled))
            {
                // Resumed: the failure clock starts again, and deliveries go on from where they stopped.
                session.QueueSqlCommand($"update {session.DocumentStore.Options.DatabaseSchemaName}.{WebhookStream.Endpoints} " +
                    "set active = true, failing_since = null where webhook_id = ?", id);
            }
            if (events.Any(e => e is WebhookDisabled))
            {
                session.QueueSqlCommand($"update {session.DocumentStore.Options.DatabaseSchemaName}.{WebhookStream.Endpoints} set active = false where webhook_id = ?", id);
            }
            await session.SaveChangesAsync(ct);
            webhook = (await session.LoadAsync<Webhook>(id, ct))!;
        }
        http.Response.Headers.ETag = ETags.For(webhook.Version);
        return Results.Ok(WebhookResponse.From(webhook));
    }

    public static IReadOnlyList<object> Decide(Webhook webhook, UpdateWebhook request, DateTimeOffset now)
    {
        var events = new List<object>();
        var url = request.Url?.Trim() is { } u && u != webhook.Url ? u : null;
        var clearTypes = request.Types is { Count: 0 } && webhook.Types is not null;
        var types = request.Types is { Count: > 0 } t && (webhook.Types is null || !t.Distinct().SequenceEqual(webhook.Types)) ? t.Distinct().ToList() : null;
        var clearContainer = request.ContainerId == Guid.Empty && webhook.ContainerId is not null;
        var container = request.ContainerId is { } c && c != Guid.Empty && c != webhook.ContainerId ? c : (Guid?)null;
        var description = request.Description?.Trim() is { } d && d != webhook.Description ? d : null;
        if (url is not null || clearTypes || types is not null || clearContainer || container is not null || description is not null)
        {
            events.Add(new WebhookChanged(webhook.Id, url, types, clearTypes, container, clearContainer, description));
        }
        if (request.Enabled == true && !webhook.Enabled) events.Add(new WebhookEnabled(webhook.Id));
        if (request.Enabled == false && webhook.Enabled) events.Add(new WebhookDisabled(webhook.Id, now, "Paused by its owner."));
        return events;
    }
}
