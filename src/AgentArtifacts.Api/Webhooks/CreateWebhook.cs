using System.Security.Claims;
using AgentArtifacts.Api.Runs;
using AgentArtifacts.Api.StoredSecrets;
using FluentValidation;
using JasperFx.Events;
using Marten;
using Microsoft.Extensions.Options;

namespace AgentArtifacts.Api.Webhooks;

/// <summary>A new webhook endpoint: events you may read are POSTed to it, signed per Standard Webhooks.</summary>
/// <param name="Url">Where to POST deliveries: an absolute http(s) URL (at most 2000 characters) that the service's egress policy lets it reach.</param>
/// <param name="Types">Deliver only events whose type matches one of these globs (1 to 50, e.g. <c>artifact.*</c>, <c>run.completed</c>); left out for every type.</param>
/// <param name="ContainerId">Deliver only events inside this container (a workspace or collection you can read); left out for all.</param>
/// <param name="Description">A note for people (at most 500 characters).</param>
public sealed record CreateWebhook(string Url, IReadOnlyList<string>? Types = null, Guid? ContainerId = null, string? Description = null)
{
    public sealed class Validator : AbstractValidator<CreateWebhook>
    {
        public Validator()
        {
            RuleFor(x => x.Url).NotEmpty();
            RuleFor(x => x.Types).Must(t => t is null || t.Count is > 0 and <= WebhookRules.MaxTypes)
                .WithMessage($"types, when given, holds 1 to {WebhookRules.MaxTypes} globs; leave it out for every type.");
            RuleFor(x => x.Description).MaximumLength(WebhookRules.MaxDescriptionLength);
        }
    }
}

public static class CreateWebhookEndpoint
{
    /// <summary>
    /// Create a webhook endpoint. The answer holds its signing <c>secret</c>, shown only here. Deliveries start with the events
    /// after this one; <c>POST /webhooks/{id}/test</c> sends a <c>webhook.test</c> at once.
    /// </summary>
    [AnswersWithETag]
    [WolverinePost("/webhooks", OperationId = "createWebhook"), Tags("Webhooks")]
    [SecretInResponse("secret")]
    [ProducesResponseType<WebhookWithSecretResponse>(201), ProducesResponseType(400), ProducesResponseType(503)]
    public static async Task<IResult> Post(CreateWebhook request, ClaimsPrincipal principal, IDocumentSession session, SecretVault vault,
        EgressPolicy egress, IOptions<WebhookOptions> options, TimeProvider clock, HttpContext http, CancellationToken ct)
    {
        var caller = Caller.From(principal);
        if (await WebhookRules.UrlProblemAsync(request.Url, egress, options.Value, ct) is { } badUrl) return badUrl;
        if (WebhookTypes.Problem(request.Types) is { } badTypes) return badTypes;
        if (await WebhookRules.ContainerProblemAsync(request.ContainerId, caller, session, ct) is { } badContainer) return badContainer;
        if (!vault.IsAvailable) return SecretAccess.Unavailable();

        var id = Guid.CreateVersion7();
        var stream = session.Events.StartStream<Webhook>(id, Decide(id, caller.Id, request));
        var secret = WebhookSigning.Issue(session, vault, id, clock.GetUtcNow());
        // Deliveries begin after the newest event written so far.
        session.QueueSqlCommand($"insert into {session.DocumentStore.Options.DatabaseSchemaName}.{WebhookStream.Endpoints} (webhook_id, cursor) " +
            $"select ?, coalesce(max(seq_id), 0) from {session.DocumentStore.Options.DatabaseSchemaName}.mt_events", id);
        await session.SaveChangesAsync(ct);

        var webhook = Webhook.Create((IEvent<WebhookCreated>)stream.Events.Single());
        http.Response.Headers.ETag = ETags.For(stream.Events.Single().Version);
        return Results.Created($"/webhooks/{id}", WebhookWithSecretResponse.From(webhook, secret, null));
    }

    public static WebhookCreated Decide(Guid id, Guid owner, CreateWebhook request) => new(id, owner, request.Url.Trim(),
        request.Types?.Distinct().ToList(), request.ContainerId, string.IsNullOrWhiteSpace(request.Description) ? null : request.Description.Trim());
}
