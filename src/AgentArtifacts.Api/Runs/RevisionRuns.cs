using Marten;
using AgentArtifacts.Api.Artifacts;

namespace AgentArtifacts.Api.Runs;

/// <summary>
/// Running a committed revision instead of the head (<c>revision</c> on invoke; a collection's MCP tools always do). The
/// revision is what runs: its content type, context (endpoint, input schema, approval) and content. Who may run it: whoever
/// holds the permission on the artifact (its grants and its workspace's), or on a collection the revision was published
/// into, since a collection's members use what was committed there as they read it. A deny on the artifact itself still wins.
/// </summary>
public static class RevisionRuns
{
    public static async Task<Authorized> AuthorizeAsync(IQuerySession session, Guid id, int revision, Caller caller, Func<Artifact, Permission> neededFor,
        CancellationToken ct)
    {
        var batch = session.CreateBatchQuery();
        var headLoading = batch.Load<Artifact>(id);
        var revisionLoading = batch.Load<ArtifactRevision>(ArtifactRevision.IdOf(id, revision));
        await batch.Execute(ct);
        var head = await headLoading;
        if (head is null || head.IsContainer) return new Authorized(null, Problems.NotFound("artifact"));
        // A checked-out copy runs its origin's revisions, as it reads them.
        if (head.OriginId is { } origin) return await AuthorizeAsync(session, origin, revision, caller, neededFor, ct);

        var committed = await revisionLoading;
        var chains = new List<(Guid? Container, Guid[] Resources)> { (head.ContainerId, Access.Chain(head).ToArray()) };
        if (committed is not null) chains.AddRange(committed.CollectionIds.Select(c => ((Guid?)c, new[] { head.Id, c })));
        var grants = await session.GrantsAsync(caller, chains.SelectMany(c => c.Resources), ct);
        var now = DateTimeOffset.UtcNow;
        var readable = chains.Select(c => (c.Container, Grants: grants.Where(g => c.Resources.Contains(g.ResourceId)).ToList()))
            .Where(c => Access.Decide(c.Grants, Permission.Read, now).Allowed && Access.KeyAllows(caller, head.Id, c.Container, false,
                committed?.ContentType ?? head.ContentType, Permission.Read))
            .ToList();
        if (readable.Count == 0) return new Authorized(null, Problems.NotFound("artifact"));
        if (committed is null) return new Authorized(null, Problems.Result(404, "revision_not_found", $"The artifact has no revision {revision}."));
        if (committed.Kind == ChangeKind.Archived)
        {
            return new Authorized(null, Problems.Result(409, "revision_archived", $"Revision {revision} archived the artifact; there is nothing to run."));
        }

        var atRevision = AtRevision(head, committed);
        var needed = neededFor(atRevision);
        var granted = readable.Where(c => needed == Permission.Read || Access.Decide(c.Grants, needed, now).Allowed).ToList();
        if (granted.Count == 0)
        {
            return new Authorized(null, Problems.Result(403, "permission_denied", $"You may read this artifact but not {needed.ToString().ToLowerInvariant()} it."));
        }
        if (!granted.Any(c => Access.KeyAllows(caller, head.Id, c.Container, false, committed.ContentType, needed)))
        {
            return new Authorized(null, Problems.Result(403, "insufficient_scope", $"The credential's scopes do not allow {needed.ToString().ToLowerInvariant()} on this artifact."));
        }
        return new Authorized(atRevision, null);
    }

    /// <summary>The artifact as its revision made it: what a pinned run executes (its version is the revision's, in the artifact's stream).</summary>
    public static Artifact AtRevision(Artifact head, ArtifactRevision r) => new()
    {
        Id = head.Id,
        Version = r.Version,
        ContainerId = head.ContainerId,
        ContentType = r.ContentType,
        Title = r.Title,
        Description = r.Description,
        Tags = r.Tags,
        Context = r.Context,
        Content = r.Content,
        State = ArtifactState.Committed,
        Revision = r.Revision,
        BaseRevision = r.Revision,
        CreatedBy = head.CreatedBy,
        CreatedAt = head.CreatedAt,
        UpdatedBy = r.CommittedBy,
        UpdatedAt = r.CommittedAt,
    };
}
