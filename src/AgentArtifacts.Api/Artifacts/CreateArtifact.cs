using System.Security.Claims;
using System.Text.Json.Nodes;
using FluentValidation;
using JasperFx.Events;
using Marten;
using AgentArtifacts.Api.Types;

namespace AgentArtifacts.Api.Artifacts;

/// <summary>A new artifact, created as a draft in a workspace.</summary>
/// <param name="ContainerId">The workspace to create it in (the caller needs create permission there; not a collection).</param>
/// <param name="ContentType">Its content type: a MIME type such as <c>text/markdown</c> (see GET /types); not the workspace or collection types.</param>
/// <param name="Title">The title (not blank, at most 300 characters).</param>
/// <param name="Description">A description (at most 4000 characters), or null for none.</param>
/// <param name="Tags">Tags (at most 50, each 1 to 64 characters; trimmed, duplicates dropped). None when left out.</param>
/// <param name="Context">Structured data, checked against the content type's schema. <c>{}</c> when left out.</param>
/// <param name="Content">The body text, or null for none.</param>
public sealed record CreateArtifact(Guid ContainerId, string ContentType, string Title, string? Description = null,
    IReadOnlyList<string>? Tags = null, JsonObject? Context = null, string? Content = null)
{
    public sealed class Validator : AbstractValidator<CreateArtifact>
    {
        public Validator()
        {
            RuleFor(x => x.ContainerId).NotEmpty();
            RuleFor(x => x.ContentType).NotEmpty().Must(TypeRegistry.IsValidContentType).WithMessage("contentType must be a MIME type such as text/markdown.")
                .Must(t => t is not (TypeRegistry.Workspace or TypeRegistry.Collection)).WithMessage("Create workspaces and collections with POST /workspaces and POST /collections.");
            RuleFor(x => x.Title).ArtifactTitle();
            RuleFor(x => x.Description).ArtifactDescription();
            RuleFor(x => x.Tags).ArtifactTags();
        }
    }
}

public static class CreateArtifactEndpoint
{
    /// <summary>Create an artifact as a draft in a workspace.</summary>
    [KeyScope("create")]
    [WolverinePost("/artifacts", OperationId = "createArtifact"), Tags("Artifacts")]
    [ProducesResponseType<ArtifactResponse>(201), ProducesResponseType(404)]
    public static async Task<IResult> Post(CreateArtifact request, ClaimsPrincipal principal, IDocumentSession session, TypeRegistry types,
        HttpContext http, CancellationToken ct)
    {
        var caller = Caller.From(principal);
        var (container, denied) = await session.AuthorizeAsync(request.ContainerId, caller, Permission.Create, ct, "workspace");
        if (denied is not null) return denied;
        if (!caller.ScopeAllows(request.ContentType, "create"))
        {
            return Problems.Result(403, "insufficient_scope", $"The credential's scopes do not allow creating {request.ContentType} artifacts.");
        }
        if (container is not { IsWorkspace: true } || container.State == ArtifactState.Archived)
        {
            return container is { IsContainer: true, IsWorkspace: false }
                ? Problems.Invalid("containerId", "Artifacts are created in a workspace; collections receive them by commit.", "not_a_workspace")
                : Problems.NotFound("workspace");
        }

        var context = request.Context ?? [];
        var errors = TypeRegistry.Validate(types.Resolve(request.ContentType), context);
        if (errors.Count > 0) return Problems.Validation(errors, "context does not match the content type's schema.", "invalid_context");

        var id = Guid.CreateVersion7();
        var stream = session.Events.StartStream<Artifact>(id, new ArtifactCreated(id, container.Id, request.ContentType, request.Title.Trim(),
            request.Description, Normalize(request.Tags), context, request.Content));
        await session.SaveChangesAsync(ct);

        // The saved event carries its timestamp, actor and version: fold it here rather than read the snapshot back.
        var artifact = Artifact.Create((JasperFx.Events.IEvent<ArtifactCreated>)stream.Events.Single());
        artifact.Version = stream.Events.Single().Version;
        http.Response.Headers.ETag = ETags.For(artifact.Version);
        return Results.Created($"/artifacts/{id}", ArtifactResponse.From(artifact));
    }

    public static IReadOnlyList<string> Normalize(IReadOnlyList<string>? tags) =>
        (tags ?? []).Select(t => t.Trim()).Distinct(StringComparer.Ordinal).ToList();
}
