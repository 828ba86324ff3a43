using System.Security.Claims;
using FluentValidation;
using JasperFx.Events;
using Marten;

namespace AgentArtifacts.Api.ApiKeys;

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
