using System.Security.Claims;
using FluentValidation;
using Marten;
using AgentArtifacts.Api.Artifacts;

namespace AgentArtifacts.Api.Containers;

/// <summary>A new workspace or collection.</summary>
/// <param name="Title">The title (not blank, at most 300 characters).</param>
/// <param name="Description">A description (at most 4000 characters), or null for none.</param>
/// <param name="TargetCollectionIds">For a workspace, the collections its commits publish to (at most 20; each a collection the caller may add to, not archived). Not allowed for a collection. None when left out.</param>
public sealed record CreateContainer(string Title, string? Description = null, IReadOnlyList<Guid>? TargetCollectionIds = null)
{
    public const int MaxTargets = 20;

    public sealed class Validator : AbstractValidator<CreateContainer>
    {
        public Validator()
        {
            RuleFor(x => x.Title).ArtifactTitle();
            RuleFor(x => x.Description).ArtifactDescription();
            RuleFor(x => x.TargetCollectionIds).Must(ids => ids is null || ids.Count <= MaxTargets).WithMessage($"At most {MaxTargets} target collections.");
        }
    }
}

public static class CreateContainerEndpoint
{
    /// <summary>Create a workspace: a staging area for drafts, optionally naming the collections its commits publish to.</summary>
    [KeyScope("create")]
    [WolverinePost("/workspaces", OperationId = "createWorkspace"), Tags("Workspaces")]
    [ProducesResponseType<ContainerResponse>(201), ProducesResponseType(400)]
    public static Task<IResult> PostWorkspace(CreateContainer request, ClaimsPrincipal principal, IDocumentSession session, HttpContext http, CancellationToken ct) =>
        Create(ContainerKind.Workspace, request, principal, session, http, ct);

    /// <summary>Create a collection: where committed revisions are published and shared.</summary>
    [KeyScope("create")]
    [WolverinePost("/collections", OperationId = "createCollection"), Tags("Collections")]
    [ProducesResponseType<ContainerResponse>(201), ProducesResponseType(400)]
    public static Task<IResult> PostCollection(CreateContainer request, ClaimsPrincipal principal, IDocumentSession session, HttpContext http, CancellationToken ct) =>
        Create(ContainerKind.Collection, request, principal, session, http, ct);

    private static async Task<IResult> Create(ContainerKind kind, CreateContainer request, ClaimsPrincipal principal, IDocumentSession session,
        HttpContext http, CancellationToken ct)
    {
        if (kind == ContainerKind.Collection && request.TargetCollectionIds is not null)
        {
            return Problems.Invalid("targetCollectionIds", "Only a workspace has target collections.");
        }
        var targets = request.TargetCollectionIds?.Distinct().ToList() ?? [];
        if (await TargetCollections.FindInvalid(session, targets, Caller.From(principal), ct) is { } invalid) return invalid;

        var id = Guid.CreateVersion7();
        session.Events.StartStream<Artifact>(id, [
            new ArtifactCreated(id, null, ContainerResponse.ContentTypeOf(kind), request.Title.Trim(), request.Description, [], [], null),
            .. targets.Count > 0 ? new object[] { new WorkspaceTargetsChanged(id, targets) } : []]);
        // The creator of a container is its admin: an ordinary grant, so it shows in the grant listings and can be audited.
        var owner = Access.OwnerGrant(id, Caller.From(principal).Id);
        session.Events.StartStream<Grant>(owner.GrantId, owner);
        await session.SaveChangesAsync(ct);

        var container = (await session.LoadAsync<Artifact>(id, ct))!;
        http.Response.Headers.ETag = ETags.For(container.Version);
        return Results.Created($"/{(kind == ContainerKind.Workspace ? "workspaces" : "collections")}/{id}", ContainerResponse.From(container));
    }
}

public static class TargetCollections
{
    /// <summary>A 400 naming the ids that are not collections the caller can see, or null when all are.</summary>
    public static async Task<IResult?> FindInvalid(IQuerySession session, IReadOnlyList<Guid> ids, Caller caller, CancellationToken ct)
    {
        if (ids.Count == 0) return null;
        var found = await session.LoadManyAsync<Artifact>(ct, ids);
        var valid = (await session.PermittedAsync(found, caller, Permission.Add, ct))
            .Where(c => c.ContentType == Types.TypeRegistry.Collection && c.State != ArtifactState.Archived)
            .Select(c => c.Id).ToHashSet();
        var missing = ids.Where(id => !valid.Contains(id)).ToList();
        return missing.Count == 0 ? null
            : Problems.Invalid("targetCollectionIds", $"Not collections you can use: {string.Join(", ", missing)}.", "invalid_target_collections");
    }
}
