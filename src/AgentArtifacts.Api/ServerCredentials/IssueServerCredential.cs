using System.Security.Claims;
using FluentValidation;
using JasperFx.Events;
using Marten;
using AgentArtifacts.Api.ApiKeys;

namespace AgentArtifacts.Api.ServerCredentials;

/// <summary>A new server credential: an OAuth2 client for the client-credentials grant.</summary>
/// <param name="Name">The credential's name, for people (1 to 200 characters).</param>
/// <param name="Scopes">What servers using it may do (1 to 50): each <c>kind:mediaRange:action</c> (e.g. <c>resource:*/*:read</c>). Its grants decide on which resources.</param>
public sealed record IssueServerCredential(string Name, IReadOnlyList<string> Scopes)
{
    public sealed class Validator : AbstractValidator<IssueServerCredential>
    {
        public Validator()
        {
            RuleFor(x => x.Name).NotEmpty().MaximumLength(200);
            RuleFor(x => x.Scopes).NotEmpty().WithMessage("At least one scope, e.g. resource:*/*:read.")
                .Must(s => s.Count <= IssueApiKey.MaxScopes).WithMessage($"At most {IssueApiKey.MaxScopes} scopes.");
            RuleForEach(x => x.Scopes).Custom((scope, context) =>
            {
                if (!ApiKeyScopes.TryParse(scope, out _, out var error)) context.AddFailure(error);
            });
        }
    }
}

public static class IssueServerCredentialEndpoint
{
    /// <summary>
    /// Create a server identity for the OAuth2 <c>client_credentials</c> grant (platform admins only). The
    /// <c>clientSecret</c> is shown only in this answer.
    /// </summary>
    [AnswersWithETag]
    [WolverinePost("/server-credentials", OperationId = "issueServerCredential"), Tags("Server credentials")]
    [SecretInResponse("clientSecret")]
    [ProducesResponseType<IssuedServerCredentialResponse>(201), ProducesResponseType(400), ProducesResponseType(403)]
    public static async Task<IResult> Post(IssueServerCredential request, ClaimsPrincipal principal, IDocumentSession session, HttpContext http,
        CancellationToken ct)
    {
        if (ServerCredentialAccess.RequireAdmin(Caller.From(principal)) is { } forbidden) return forbidden;
        var id = Guid.CreateVersion7();
        var scopes = request.Scopes.Select(s => ApiKeyScopes.TryParse(s, out var scope, out _) ? scope.ToString() : s).Distinct().ToList();
        var stream = session.Events.StartStream<ServerCredential>(id, new ServerCredentialIssued(id, request.Name.Trim(), scopes));
        var secret = Secrets.Issue(session, id, ServerCredentialAccess.SecretPrefix);
        await session.SaveChangesAsync(ct);

        var credential = ServerCredential.Create((IEvent<ServerCredentialIssued>)stream.Events.Single());
        http.Response.Headers.ETag = ETags.For(stream.Events.Single().Version);
        return Results.Created($"/server-credentials/{id}", IssuedServerCredentialResponse.From(credential, secret));
    }
}
