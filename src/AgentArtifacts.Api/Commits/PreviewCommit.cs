using System.Security.Claims;
using FluentValidation;
using Marten;
using AgentArtifacts.Api.Artifacts;

namespace AgentArtifacts.Api.Commits;

/// <summary>Which drafts to preview a commit of.</summary>
/// <param name="ArtifactIds">The drafts to commit (1 to 5000 ids). When left out, every artifact of the workspace with a change to commit.</param>
public sealed record PreviewCommit(IReadOnlyList<Guid>? ArtifactIds = null)
{
    public sealed class Validator : AbstractValidator<PreviewCommit>
    {
        public Validator() => RuleFor(x => x.ArtifactIds).CommitArtifactIds();
    }
}

/// <summary>What a commit would do to one draft: its change, the revision it starts from and the one it would make, and what changed.</summary>
/// <param name="ArtifactId">The artifact that would gain the revision (the original, for a checked-out copy).</param>
/// <param name="DraftId">The draft that would be committed.</param>
/// <param name="Title">The draft's title.</param>
/// <param name="ContentType">The draft's content type.</param>
/// <param name="Kind">What the commit would do: add, modify, or archive the artifact.</param>
/// <param name="BaseRevision">The revision the draft started from; 0 for a new artifact.</param>
/// <param name="NextRevision">The revision the commit would make.</param>
/// <param name="DraftVersion">The draft's version now (its ETag); the commit token pins it.</param>
/// <param name="ChangedFields">The fields changed since the base revision, among <c>title</c>, <c>description</c>, <c>tags</c>, <c>context</c> and <c>content</c>; empty for an archive.</param>
/// <param name="LinesAdded">Lines of content added since the base revision.</param>
/// <param name="LinesRemoved">Lines of content removed since the base revision.</param>
public sealed record PlannedChange(Guid ArtifactId, Guid DraftId, string Title, string ContentType, ChangeKind Kind, int BaseRevision,
    int NextRevision, long DraftVersion, IReadOnlyList<string> ChangedFields, int LinesAdded, int LinesRemoved);

/// <summary>The plan of a commit: what it would do, what stops it, and a token to commit exactly this.</summary>
/// <param name="WorkspaceId">The workspace.</param>
/// <param name="TargetCollectionIds">The collections the commit would publish to.</param>
/// <param name="Items">Each draft's planned change.</param>
/// <param name="Conflicts">What would make the commit fail with 409 <c>commit_conflict</c>; empty when it can go ahead.</param>
/// <param name="CommitToken">Pass to POST /workspaces/{id}/commit to commit exactly these drafts at these versions (opaque; for this workspace and caller).</param>
/// <param name="CommitTokenExpiresAt">When the commit token expires (ISO 8601, UTC; one hour after the preview).</param>
public sealed record CommitPreviewResponse(Guid WorkspaceId, IReadOnlyList<Guid> TargetCollectionIds, IReadOnlyList<PlannedChange> Items,
    IReadOnlyList<CommitConflict> Conflicts, string CommitToken, DateTimeOffset CommitTokenExpiresAt);

public static class PreviewCommitEndpoint
{
    /// <summary>
    /// The plan of a commit, without writing anything: each draft's change, base and next revision, a summary of what changed,
    /// the target collections, the conflicts a commit would meet, and a <c>commitToken</c> that pins the drafts at their versions.
    /// </summary>
    [KeyScope("read")]
    [WolverinePost("/workspaces/{id}/commit-preview", OperationId = "previewCommit"), Tags("Commits")]
    [ProducesResponseType<CommitPreviewResponse>(200), ProducesResponseType(400), ProducesResponseType(404), ProducesResponseType(409)]
    public static Task<IResult> Post(Guid id, PreviewCommit request, ClaimsPrincipal principal, IQuerySession session, CommitTokens tokens,
        TimeProvider clock, CancellationToken ct) =>
        PreviewAsync(id, request, Caller.From(principal), session, tokens, clock, ct);

    /// <summary>The preview itself, for the route and for the workspace's <c>commit_preview</c> op alike.</summary>
    public static async Task<IResult> PreviewAsync(Guid id, PreviewCommit request, Caller caller, IQuerySession session, CommitTokens tokens,
        TimeProvider clock, CancellationToken ct)
    {
        var (plan, problem) = await CommitPlan.LoadAsync(session, id, caller, request.ArtifactIds?.Distinct().ToList(), ct);
        if (plan is null) return problem!;

        var bases = plan.Drafts.Where(d => d.BaseRevision > 0).Select(d => ArtifactRevision.IdOf(d.LineId, d.BaseRevision)).ToList();
        var revisions = bases.Count == 0 ? [] : (await session.LoadManyAsync<ArtifactRevision>(ct, bases)).ToDictionary(r => r.Id);
        var items = plan.Drafts.Select(d => Plan(d, plan.Lines[d.LineId], revisions.GetValueOrDefault(ArtifactRevision.IdOf(d.LineId, d.BaseRevision)))).ToList();

        var expiresAt = clock.GetUtcNow().Add(CommitTokens.Lifetime);
        var token = await tokens.IssueAsync(id, caller.Id, plan.Drafts.Select(d => (d.Id, d.Version)), ct);
        return Results.Ok(new CommitPreviewResponse(id, plan.Workspace.TargetCollectionIds, items, plan.Conflicts(), token, expiresAt));
    }

    /// <summary>A draft's planned change, with what changed since its base revision (all of it for a new artifact).</summary>
    public static PlannedChange Plan(Artifact draft, Artifact line, ArtifactRevision? baseRevision)
    {
        var kind = draft.PendingChange!.Value;
        var diff = kind == ChangeKind.Archived ? null
            : ArtifactDiff.Between(baseRevision is null ? ArtifactFields.Empty : ArtifactFields.Of(baseRevision), ArtifactFields.Of(draft));
        return new PlannedChange(draft.LineId, draft.Id, draft.Title, draft.ContentType, kind, draft.BaseRevision, line.Revision + 1,
            draft.Version, diff?.ChangedFields ?? [], diff?.Content.LinesAdded ?? 0, diff?.Content.LinesRemoved ?? 0);
    }
}

public static class CommitRules
{
    public static IRuleBuilderOptions<T, IReadOnlyList<Guid>?> CommitArtifactIds<T>(this IRuleBuilder<T, IReadOnlyList<Guid>?> rule) =>
        rule.Must(ids => ids is null || (ids.Count is > 0 and <= CommitPlan.MaxDrafts && ids.All(i => i != Guid.Empty)))
            .WithMessage($"artifactIds lists 1 to {CommitPlan.MaxDrafts} artifact ids.");
}
