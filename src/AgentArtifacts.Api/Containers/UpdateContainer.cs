using System.Security.Claims;
using FluentValidation;
using Marten;
using AgentArtifacts.Api.Artifacts;

namespace AgentArtifacts.Api.Containers;

/// <summary>Rename, describe, or (for a workspace) set the target collections. Absent fields stay as they are.</summary>
/// <param name="Title">The new title (not blank, at most 300 characters); unchanged when null or left out.</param>
/// <param name="Description">The new description (at most 4000 characters); unchanged when null or left out.</param>
/// <param name="TargetCollectionIds">For a workspace, the collections its commits publish to, replacing the old list (at most 20; each a collection the caller may add to, not archived). Not allowed for a collection. Unchanged when null or left out.</param>
public sealed record UpdateContainer(string? Title = null, string? Description = null, IReadOnlyList<Guid>? TargetCollectionIds = null)
{
    public sealed class Validator : AbstractValidator<UpdateContainer>
    {
        public Validator()
        {
            RuleFor(x => x.Title!).ArtifactTitle().When(x => x.Title is not null);
            RuleFor(x => x.Description).ArtifactDescription();
            RuleFor(x => x.TargetCollectionIds).Must(ids => ids is null || ids.Count <= CreateContainer.MaxTargets)
                .WithMessage($"At most {CreateContainer.MaxTargets} target collections.");
        }
    }
}

public static class UpdateContainerEndpoint
{
    /// <summary>Rename or describe a workspace, or set the collections its commits publish to; absent fields stay as they are.</summary>
    [KeyScope("write")]
    [WolverinePatch("/workspaces/{id}", OperationId = "updateWorkspace"), Tags("Workspaces")]
    [ProducesResponseType<ContainerResponse>(200), ProducesResponseType(400), ProducesResponseType(404), ProducesResponseType(412)]
    public static Task<IResult> PatchWorkspace(Guid id, UpdateContainer request, ClaimsPrincipal principal, IDocumentSession session, HttpContext http, CancellationToken ct) =>
        Update(ContainerKind.Workspace, id, request, principal, session, http, ct);

    /// <summary>Rename or describe a collection; absent fields stay as they are.</summary>
    [KeyScope("write")]
    [WolverinePatch("/collections/{id}", OperationId = "updateCollection"), Tags("Collections")]
    [ProducesResponseType<ContainerResponse>(200), ProducesResponseType(400), ProducesResponseType(404), ProducesResponseType(412)]
    public static Task<IResult> PatchCollection(Guid id, UpdateContainer request, ClaimsPrincipal principal, IDocumentSession session, HttpContext http, CancellationToken ct) =>
        Update(ContainerKind.Collection, id, request, principal, session, http, ct);

    private static async Task<IResult> Update(ContainerKind kind, Guid id, UpdateContainer request, ClaimsPrincipal principal,
        IDocumentSession session, HttpContext http, CancellationToken ct)
    {
        if (!ETags.TryReadIfMatch(http.Request, out var expected)) return ETags.PreconditionFailed();
        var caller = Caller.From(principal);
        var (container, denied) = await session.LoadContainerAsync(kind, id, caller, ct, Permission.Update);
        if (container is null) return denied!;
        if (expected is not null && expected != container.Version) return ETags.PreconditionFailed();
        if (request.TargetCollectionIds is { } targets
            && await TargetCollections.FindInvalid(session, targets.Distinct().ToList(), caller, ct) is { } invalid) return invalid;

        var (events, problem) = Decide(container, request);
        if (problem is not null) return problem;
        return Results.Ok(ContainerResponse.From(await ArtifactTransitions.AppendAsync(session, container, events, http, ct)));
    }

    public static (IReadOnlyList<object> Events, IResult? Problem) Decide(Artifact container, UpdateContainer request)
    {
        if (container.State == ArtifactState.Archived) return ([], Problems.Result(409, "archived", "The container is archived."));
        if (!container.IsWorkspace && request.TargetCollectionIds is not null)
        {
            return ([], Problems.Invalid("targetCollectionIds", "Only a workspace has target collections."));
        }

        var events = new List<object>();
        if (request.Title is { } title && title.Trim() != container.Title) events.Add(new ArtifactRetitled(container.Id, title.Trim()));
        if (request.Description is { } description && description != container.Description) events.Add(new ArtifactDescribed(container.Id, description));
        if (request.TargetCollectionIds?.Distinct().ToList() is { } targets && !targets.SequenceEqual(container.TargetCollectionIds))
        {
            events.Add(new WorkspaceTargetsChanged(container.Id, targets));
        }
        return (events, null);
    }
}
