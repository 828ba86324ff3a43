using System.Security.Claims;
using FluentValidation;
using JasperFx.Events;
using Marten;
using Wolverine;
using AgentArtifacts.Api.Artifacts;

namespace AgentArtifacts.Api.Commits;

/// <summary>What to commit, and why.</summary>
/// <param name="Message">Why: the commit message (not blank, at most 4000 characters).</param>
/// <param name="ArtifactIds">The drafts to commit (1 to 5000 ids). When left out, every artifact of the workspace with a change to commit (or those the commit token pins).</param>
/// <param name="CommitToken">A token from the commit preview: commit exactly the drafts it pins, and fail with 409 if any changed since. With <c>artifactIds</c>, both must name the same drafts.</param>
public sealed record CommitWorkspace(string Message, IReadOnlyList<Guid>? ArtifactIds = null, string? CommitToken = null)
{
    public sealed class Validator : AbstractValidator<CommitWorkspace>
    {
        public Validator()
        {
            RuleFor(x => x.Message).NotEmpty().Must(m => m.Trim().Length > 0).WithMessage("message must not be blank.").MaximumLength(4000);
            RuleFor(x => x.ArtifactIds).CommitArtifactIds();
            RuleFor(x => x.CommitToken).MaximumLength(CommitPlan.MaxDrafts * 64);
        }
    }
}

/// <summary>The command the endpoint sends through Wolverine; op dispatch sends the same one.</summary>
public sealed record CommitDrafts(Guid WorkspaceId, Caller Caller, CommitWorkspace Request);

/// <summary>Either the commit that was made or the problem that stopped it (then nothing was written).</summary>
public sealed record CommitOutcome(CommitResponse? Commit, IResult? Problem);

public static class CommitWorkspaceEndpoint
{
    /// <summary>
    /// Commit the workspace's drafts (all, the named <c>artifactIds</c>, or exactly those a <c>commitToken</c> from a preview pins)
    /// in one transaction: each becomes its artifact's next revision, the workspace's target collections receive them, and a
    /// commit record is written. 409 <c>commit_conflict</c> when a pinned draft changed after the preview or an artifact gained a
    /// revision elsewhere after its draft's base revision; then nothing is committed.
    /// </summary>
    [KeyScope("write")]
    [WolverinePost("/workspaces/{id}/commit", OperationId = "commitWorkspace"), Tags("Commits")]
    [ProducesResponseType<CommitResponse>(201), ProducesResponseType(400), ProducesResponseType(404), ProducesResponseType(409)]
    public static async Task<IResult> Post(Guid id, CommitWorkspace request, ClaimsPrincipal principal, IMessageBus bus, CancellationToken ct)
    {
        var outcome = await bus.InvokeAsync<CommitOutcome>(new CommitDrafts(id, Caller.From(principal), request), ct);
        return outcome.Problem ?? Results.Created($"/commits/{outcome.Commit!.Id}", outcome.Commit);
    }
}

public static class CommitDraftsHandler
{
    public static async Task<CommitOutcome> Handle(CommitDrafts command, IDocumentSession session, CommitTokens tokens, CancellationToken ct)
    {
        var (caller, request) = (command.Caller, command.Request);
        IReadOnlyCollection<Guid>? ids = request.ArtifactIds?.Distinct().ToList();
        IReadOnlyDictionary<Guid, long>? pinned = null;
        if (request.CommitToken is { } token)
        {
            pinned = await tokens.ReadAsync(token, command.WorkspaceId, caller.Id, ct);
            if (pinned is null) return Failed(Problems.Invalid("commitToken", "The commit token is not valid for this workspace and caller, or it expired.", "invalid_commit_token"));
            if (ids is not null && !ids.ToHashSet().SetEquals(pinned.Keys))
            {
                return Failed(Problems.Invalid("artifactIds", "artifactIds must name exactly the drafts the commit token covers.", "commit_token_mismatch"));
            }
            ids = pinned.Keys.ToList();
        }

        if (pinned is not null)
        {
            var current = (await session.LoadManyAsync<Artifact>(ct, pinned.Keys)).ToDictionary(a => a.Id, a => a.Version);
            var changed = pinned.Where(p => current.GetValueOrDefault(p.Key) != p.Value)
                .Select(p => new CommitConflict(p.Key, p.Key, "changed_since_preview", "The draft changed after the preview; preview again.")).ToList();
            if (changed.Count > 0) return Failed(CommitPlan.ConflictProblem(changed));
        }

        var (plan, problem) = await CommitPlan.LoadAsync(session, command.WorkspaceId, caller, ids, ct);
        if (plan is null) return Failed(problem!);
        if (plan.Conflicts() is { Count: > 0 } conflicts) return Failed(CommitPlan.ConflictProblem(conflicts));

        var (appends, record) = plan.Decide(Guid.CreateVersion7(), request.Message, caller);
        session.LastModifiedBy = caller.Id.ToString();
        foreach (var append in appends) session.Events.Append(append.StreamId, append.ExpectedVersion, append.Event);
        var stream = session.Events.StartStream<Commit>(record.CommitId, record);
        try
        {
            // Saved here rather than by Wolverine's transaction middleware, so that losing a race is a conflict, not an exception.
            await session.SaveChangesAsync(ct);
        }
        catch (Exception e) when (Concurrency.IsConflict(e))
        {
            session.EjectAllPendingChanges();  // or Wolverine's transaction middleware would try them again
            return Failed(CommitPlan.ConflictProblem(plan.Drafts.Select(d => new CommitConflict(d.LineId, d.Id, "changed_concurrently",
                "Another request changed these drafts while this commit was being written; preview again.")).ToList()));
        }
        return new CommitOutcome(CommitResponse.From(Commit.Create((IEvent<CommitRecorded>)stream.Events.Single())), null);
    }

    private static CommitOutcome Failed(IResult problem) => new(null, problem);
}
