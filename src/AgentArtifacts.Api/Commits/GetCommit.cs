using System.Globalization;
using System.Security.Claims;
using Marten;
using AgentArtifacts.Api.Containers;

namespace AgentArtifacts.Api.Commits;

public static class GetCommitEndpoint
{
    /// <summary>One commit with its items; visible to whoever can see its workspace.</summary>
    [KeyScope("read")]
    [WolverineGet("/commits/{id}", OperationId = "getCommit"), Tags("Commits")]
    [ProducesResponseType<CommitResponse>(200), ProducesResponseType(404)]
    public static async Task<IResult> Get(Guid id, ClaimsPrincipal principal, IQuerySession session, CancellationToken ct)
    {
        // Read from the commit's own one-event stream, so a commit is readable the moment it is made.
        var commit = await session.Events.AggregateStreamAsync<Commit>(id, token: ct);
        if (commit is null || (await session.LoadContainerAsync(ContainerKind.Workspace, commit.WorkspaceId, Caller.From(principal), ct)).Problem is not null)
        {
            return Problems.NotFound("commit");
        }
        return Results.Ok(CommitResponse.From(commit));
    }

    /// <summary>A collection's commit history, newest first. Fed by an async projection: a commit appears once it has caught up.</summary>
    [KeyScope("read")]
    [ReadsProjections(typeof(Commit))]
    [WolverineGet("/collections/{id}/commits", OperationId = "listCollectionCommits"), Tags("Commits")]
    [ProducesResponseType<Page<CommitResponse>>(200), ProducesResponseType(400), ProducesResponseType(404)]
    public static async Task<IResult> List(Guid id, int? limit, string? cursor, ClaimsPrincipal principal, IQuerySession session, CancellationToken ct)
    {
        if (Paging.TryRead<long>(limit, cursor, long.TryParse, out var take, out var before) is { } badPage) return badPage;
        if ((await session.LoadContainerAsync(ContainerKind.Collection, id, Caller.From(principal), ct)).Problem is { } denied) return denied;

        var query = session.Query<Commit>().Where(c => c.CollectionIds.Contains(id));
        if (before > 0) query = query.Where(c => c.Sequence < before);
        var rows = await query.OrderByDescending(c => c.Sequence).Take(take + 1).ToListAsync(ct);
        return Results.Ok(Paging.ToPage(rows, take, c => c.Sequence.ToString(CultureInfo.InvariantCulture), CommitResponse.From));
    }
}
