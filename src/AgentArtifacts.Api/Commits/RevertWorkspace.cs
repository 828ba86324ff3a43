using System.Security.Claims;
using FluentValidation;
using Marten;
using AgentArtifacts.Api.Artifacts;
using AgentArtifacts.Api.Containers;

namespace AgentArtifacts.Api.Commits;

/// <summary>Which drafts to discard.</summary>
/// <param name="ArtifactIds">The drafts to revert (1 to 5000 ids).</param>
public sealed record RevertWorkspace(IReadOnlyList<Guid> ArtifactIds)
{
    public sealed class Validator : AbstractValidator<RevertWorkspace>
    {
        public Validator() => RuleFor(x => (IReadOnlyList<Guid>?)x.ArtifactIds).NotNull().CommitArtifactIds().OverridePropertyName("artifactIds");
    }
}

/// <summary>The artifacts after a revert.</summary>
/// <param name="Items">Each reverted artifact as it is now.</param>
public sealed record RevertResponse(IReadOnlyList<ArtifactResponse> Items);

public static class RevertWorkspaceEndpoint
{
    /// <summary>
    /// Discard drafts: each named artifact goes back to its last revision (its base revision); a draft that never had a revision
    /// is archived. All or nothing.
    /// </summary>
    [KeyScope("write")]
    [WolverinePost("/workspaces/{id}/revert", OperationId = "revertWorkspace"), Tags("Commits")]
    [ProducesResponseType<RevertResponse>(200), ProducesResponseType(400), ProducesResponseType(404), ProducesResponseType(409)]
    public static Task<IResult> Post(Guid id, RevertWorkspace request, ClaimsPrincipal principal, IDocumentSession session, CancellationToken ct) =>
        RevertAsync(id, request, Caller.From(principal), session, ct);

    /// <summary>The revert itself, for the route and for the workspace's <c>revert</c> op alike.</summary>
    public static async Task<IResult> RevertAsync(Guid id, RevertWorkspace request, Caller caller, IDocumentSession session, CancellationToken ct)
    {
        var (workspace, denied) = await session.LoadContainerAsync(ContainerKind.Workspace, id, caller, ct, Permission.Update);
        if (denied is not null) return denied;
        if (workspace!.State == ArtifactState.Archived) return Problems.Result(409, "archived", "The workspace is archived.");

        var ids = request.ArtifactIds.Distinct().ToList();
        var (drafts, problem) = CommitPlan.Select(workspace, await session.LoadManyAsync<Artifact>(ct, ids), ids);
        if (problem is not null) return problem;
        var bases = drafts.Where(d => d.BaseRevision > 0).Select(d => ArtifactRevision.IdOf(d.LineId, d.BaseRevision)).ToList();
        var revisions = bases.Count == 0 ? [] : (await session.LoadManyAsync<ArtifactRevision>(ct, bases)).ToDictionary(r => r.Id);

        foreach (var draft in drafts)
        {
            session.Events.Append(draft.Id, draft.Version + 1, Decide(draft, revisions.GetValueOrDefault(ArtifactRevision.IdOf(draft.LineId, draft.BaseRevision))));
        }
        await session.SaveChangesAsync(ct);
        var reverted = await session.LoadManyAsync<Artifact>(ct, drafts.Select(d => d.Id));
        return Results.Ok(new RevertResponse(reverted.OrderBy(a => a.Id).Select(ArtifactResponse.From).ToList()));
    }

    /// <summary>Back to the base revision; a draft that never had one has nothing to go back to, so it is archived.</summary>
    public static object Decide(Artifact draft, ArtifactRevision? baseRevision) => baseRevision is null
        ? new ArtifactArchived(draft.Id)
        : new ArtifactReverted(draft.Id, baseRevision.Revision, baseRevision.Kind == ChangeKind.Archived, baseRevision.Title,
            baseRevision.Description, baseRevision.Tags, baseRevision.Context, baseRevision.Content);
}
