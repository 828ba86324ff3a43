using Marten;
using AgentArtifacts.Api.Artifacts;
using AgentArtifacts.Api.Containers;

namespace AgentArtifacts.Api.Commits;

/// <summary>Why a draft cannot be committed as it is.</summary>
/// <param name="ArtifactId">The artifact the draft would revise (the original, for a checked-out copy).</param>
/// <param name="DraftId">The draft in conflict.</param>
/// <param name="Reason">Stable, snake_case: <c>revised_elsewhere</c> (the artifact gained a revision after the draft's base revision), <c>drafted_twice</c> (two drafts of one artifact in one commit) or <c>changed_since_preview</c> (a draft the commit token pins changed).</param>
/// <param name="Detail">What to do about it, for people.</param>
public sealed record CommitConflict(Guid ArtifactId, Guid DraftId, string Reason, string Detail);

/// <summary>
/// The rules commit-preview and commit share: which drafts a commit covers, which of them conflict, and the events that
/// commit them. The loading is here too, so both slices see the same drafts the same way; the rules are pure.
/// </summary>
public sealed record CommitPlan(Artifact Workspace, IReadOnlyList<Artifact> Drafts, IReadOnlyDictionary<Guid, Artifact> Lines)
{
    public const int MaxDrafts = 5000;

    /// <summary>The workspace, the drafts to commit (every pending one, or those named) and the lines they belong to; or the problem.</summary>
    public static async Task<(CommitPlan? Plan, IResult? Problem)> LoadAsync(IQuerySession session, Guid workspaceId, Caller caller,
        IReadOnlyCollection<Guid>? artifactIds, CancellationToken ct)
    {
        var (workspace, denied) = await session.LoadContainerAsync(ContainerKind.Workspace, workspaceId, caller, ct, Permission.Update);
        if (workspace is null) return (null, denied);
        if (workspace.State == ArtifactState.Archived) return (null, Problems.Result(409, "archived", "The workspace is archived."));
        if (await TargetsProblemAsync(session, workspace, caller, ct) is { } targetsProblem) return (null, targetsProblem);

        var candidates = artifactIds is null
            ? await session.Query<Artifact>().Where(a => a.ContainerId == workspaceId && a.State != ArtifactState.Committed).ToListAsync(ct)
            : await session.LoadManyAsync<Artifact>(ct, artifactIds);
        var (drafts, problem) = Select(workspace, candidates, artifactIds);
        if (problem is not null) return (null, problem);

        var lines = drafts.Where(d => d.LineId == d.Id).ToDictionary(d => d.Id);
        var origins = drafts.Select(d => d.LineId).Where(id => !lines.ContainsKey(id)).Distinct().ToList();
        if (origins.Count > 0)
        {
            foreach (var origin in await session.LoadManyAsync<Artifact>(ct, origins)) lines.TryAdd(origin.Id, origin);
        }
        return (new CommitPlan(workspace, drafts, lines), null);
    }

    /// <summary>Publishing needs each target to be a live collection, and the <c>add</c> permission on it.</summary>
    private static async Task<IResult?> TargetsProblemAsync(IQuerySession session, Artifact workspace, Caller caller, CancellationToken ct)
    {
        if (workspace.TargetCollectionIds.Count == 0) return null;
        var targets = await session.LoadManyAsync<Artifact>(ct, workspace.TargetCollectionIds);
        var live = targets.Where(c => c.ContentType == Types.TypeRegistry.Collection && c.State != ArtifactState.Archived).ToList();
        var gone = workspace.TargetCollectionIds.Except(live.Select(c => c.Id)).ToList();
        if (gone.Count > 0)
        {
            return Problems.Result(409, "target_collection_unavailable",
                $"Target collections that are archived or gone: {string.Join(", ", gone)}. Change the workspace's targetCollectionIds.");
        }
        var permitted = (await session.PermittedAsync(live, caller, Permission.Add, ct)).Select(c => c.Id).ToHashSet();
        var refused = live.Select(c => c.Id).Where(id => !permitted.Contains(id)).ToList();
        return refused.Count == 0 ? null
            : Problems.Result(403, "permission_denied", $"Publishing needs the add permission on the target collections {string.Join(", ", refused)}.");
    }

    /// <summary>The drafts a commit covers: every artifact of the workspace with a pending change, or exactly the named ones.</summary>
    public static (IReadOnlyList<Artifact> Drafts, IResult? Problem) Select(Artifact workspace, IReadOnlyList<Artifact> candidates,
        IReadOnlyCollection<Guid>? artifactIds)
    {
        var drafts = candidates.Where(a => a.ContainerId == workspace.Id && !a.IsContainer && a.PendingChange is not null)
            .OrderBy(a => a.Id).ToList();
        if (artifactIds is not null)
        {
            var notDrafts = artifactIds.Except(drafts.Select(d => d.Id)).ToList();
            if (notDrafts.Count > 0)
            {
                return ([], Problems.Invalid("artifactIds",
                    $"Not drafts with changes in this workspace: {string.Join(", ", notDrafts)}.", "not_a_draft"));
            }
        }
        if (drafts.Count == 0) return ([], Problems.Result(400, "nothing_to_commit", "The workspace has no drafts with changes to commit."));
        if (drafts.Count > MaxDrafts)
        {
            return ([], Problems.Result(400, "too_many_drafts", $"A commit covers at most {MaxDrafts} drafts; name them with artifactIds."));
        }
        return (drafts, null);
    }

    /// <summary>
    /// Drafts that cannot be committed: their artifact gained a revision elsewhere after the draft's base revision (two
    /// workspaces editing one artifact), or the artifact is drafted twice in this commit.
    /// </summary>
    public IReadOnlyList<CommitConflict> Conflicts()
    {
        var conflicts = new List<CommitConflict>();
        foreach (var group in Drafts.GroupBy(d => d.LineId))
        {
            if (group.Count() > 1)
            {
                conflicts.AddRange(group.Select(d => new CommitConflict(d.LineId, d.Id, "drafted_twice",
                    "The artifact has more than one draft in this commit; revert all but one.")));
                continue;
            }
            var draft = group.Single();
            var line = Lines.GetValueOrDefault(draft.LineId);
            if (line is null || line.Revision != draft.BaseRevision)
            {
                conflicts.Add(new CommitConflict(draft.LineId, draft.Id, "revised_elsewhere",
                    $"The artifact is at revision {line?.Revision} since this draft started from revision {draft.BaseRevision}; revert the draft and edit the new revision."));
            }
        }
        return conflicts;
    }

    /// <summary>One event to append: the stream, the version it must have after the append, and the event.</summary>
    public sealed record Append(Guid StreamId, long ExpectedVersion, object Event);

    /// <summary>The events of the commit: a revision on every draft's line (and an echo on a checked-out copy), and the commit record.</summary>
    public (IReadOnlyList<Append> Appends, CommitRecorded Record) Decide(Guid commitId, string message, Caller caller)
    {
        var appends = new List<Append>();
        var items = new List<CommitItem>();
        var targets = Workspace.TargetCollectionIds;
        foreach (var draft in Drafts)
        {
            var line = Lines[draft.LineId];
            var kind = draft.PendingChange!.Value;
            var revision = line.Revision + 1;
            ArtifactCommitted On(Guid stream) => new(stream, line.Id, draft.Id, commitId, revision, kind, Workspace.Id, targets,
                draft.ContentType, draft.Title, draft.Description, draft.Tags, draft.Context, draft.Content);
            appends.Add(new Append(line.Id, line.Version + 1, On(line.Id)));
            if (draft.Id != line.Id) appends.Add(new Append(draft.Id, draft.Version + 1, On(draft.Id)));
            items.Add(new CommitItem(line.Id, draft.Id, draft.Title, draft.ContentType, kind, draft.BaseRevision, revision));
        }
        var record = new CommitRecorded(commitId, Workspace.Id, targets, caller.Id, ActorChain(caller), message.Trim(), items);
        return (appends, record);
    }

    /// <summary>Who made the commit, outermost first: a key's owner then the key; a user or a server alone.</summary>
    public static IReadOnlyList<CommitActor> ActorChain(Caller caller) => caller.ApiKeyId is { } key
        ? [new CommitActor(Caller.User, caller.Id), new CommitActor(Caller.ApiKey, key)]
        : [new CommitActor(caller.Kind, caller.Id)];

    public static IResult ConflictProblem(IReadOnlyList<CommitConflict> conflicts)
    {
        var problem = Problems.Create(409, "commit_conflict",
            $"Nothing was committed: {conflicts.Count} draft(s) conflict ({string.Join(", ", conflicts.Select(c => c.ArtifactId).Distinct())}).");
        problem.Extensions["conflicts"] = conflicts;
        return Problems.Result(problem);
    }
}
