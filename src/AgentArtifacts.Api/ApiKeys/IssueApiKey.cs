using System.Security.Claims;
using FluentValidation;
using JasperFx.Events;
using Marten;

namespace AgentArtifacts.Api.ApiKeys;

/// <summary>A new API key: it acts as you, narrowed by its scopes and resources.</summary>
/// <param name="Name">The key's name, for people (1 to 200 characters).</param>
/// <param name="Scopes">What the key may do (1 to 50): each <c>kind:mediaRange:action</c>, kind one of <c>resource</c>, <c>tool</c>, <c>prompt</c>; action one of <c>read</c>, <c>write</c>, <c>create</c>, <c>delete</c>, <c>search</c>, <c>invoke</c> (e.g. <c>resource:text/*:read</c>, <c>tool:*/*:invoke</c>).</param>
/// <param name="ResourceIds">The only resources the key may reach (1 to 100 artifact, workspace or collection ids; a container covers its artifacts). When left out, all of yours.</param>
/// <param name="ExpiresInDays">Days until the key expires: 30, 60, 90 or 365. When left out or null, it never expires.</param>
public sealed record IssueApiKey(string Name, IReadOnlyList<string> Scopes, IReadOnlyList<Guid>? ResourceIds = null, int? ExpiresInDays = null)
{
    public static readonly int[] ExpiryChoices = [30, 60, 90, 365];
    public const int MaxScopes = 50;
    public const int MaxResourceIds = 100;

    public sealed class Validator : AbstractValidator<IssueApiKey>
    {
        public Validator()
        {
            RuleFor(x => x.Name).NotEmpty().MaximumLength(200);
            RuleFor(x => x.Scopes).NotEmpty().WithMessage("At least one scope, e.g. resource:*/*:read.")
                .Must(s => s.Count <= MaxScopes).WithMessage($"At most {MaxScopes} scopes.");
            RuleForEach(x => x.Scopes).Custom((scope, context) =>
            {
                if (!ApiKeyScopes.TryParse(scope, out _, out var error)) context.AddFailure(error);
            });
            RuleFor(x => x.ResourceIds).Must(ids => ids is null || ids.Count is > 0 and <= MaxResourceIds)
                .WithMessage($"resourceIds, when given, names 1 to {MaxResourceIds} ids; omit it for a key on all of your resources.");
            RuleForEach(x => x.ResourceIds).NotEmpty();
            RuleFor(x => x.ExpiresInDays).Must(d => d is null || ExpiryChoices.Contains(d.Value))
                .WithMessage("expiresInDays is 30, 60, 90, 365, or null for a key that never expires.");
        }
    }
}

public static class IssueApiKeyEndpoint
{
    public const string Prefix = "aa_";

    /// <summary>Issue an API key acting as you, narrowed by its scopes and resources. The <c>key</c> is shown only in this answer.</summary>
    [AnswersWithETag]
    [WolverinePost("/api-keys", OperationId = "issueApiKey"), Tags("API keys")]
    [SecretInResponse("key")]
    [ProducesResponseType<IssuedApiKeyResponse>(201), ProducesResponseType(400), ProducesResponseType(403)]
    public static async Task<IResult> Post(IssueApiKey request, ClaimsPrincipal principal, IDocumentSession session, TimeProvider clock,
        HttpContext http, CancellationToken ct)
    {
        var id = Guid.CreateVersion7();
        var stream = session.Events.StartStream<ApiKey>(id, Decide(id, Caller.From(principal).Id, request, clock.GetUtcNow()));
        var secret = Secrets.Issue(session, id, Prefix);
        await session.SaveChangesAsync(ct);

        var key = ApiKey.Create((IEvent<ApiKeyIssued>)stream.Events.Single());
        http.Response.Headers.ETag = ETags.For(stream.Events.Single().Version);
        return Results.Created($"/api-keys/{id}", IssuedApiKeyResponse.From(key, secret, null));
    }

    public static ApiKeyIssued Decide(Guid id, Guid owner, IssueApiKey request, DateTimeOffset now) => new(id, owner, request.Name.Trim(),
        request.Scopes.Select(s => ApiKeyScopes.TryParse(s, out var scope, out _) ? scope.ToString() : s).Distinct().ToList(),
        request.ResourceIds?.Distinct().ToList(),
        request.ExpiresInDays is { } days ? now.AddDays(days) : null);
}
