using System.Security.Claims;
using Marten;
using Marten.Linq.MatchesSql;
using AgentArtifacts.Api.Artifacts;

namespace AgentArtifacts.Api.Runs;

/// <summary>
/// Who may see and cancel a run. A run belongs to the principal that requested it (for an API key: the key's owner), and
/// only that principal sees it. An API key or server is narrowed further, as for the artifact that ran: it sees a run only
/// when its scopes allow <c>read</c> on that artifact (its content type, and its <c>resourceIds</c> if it has any), and
/// cancels one only when they also allow <c>invoke</c> on it. So a run's input and output never reach a credential that
/// may not read the artifact that produced them.
/// </summary>
public static class RunAccess
{
    /// <summary>
    /// Loads the run and checks <paramref name="needed"/> on it: 404 when the caller may not see it (absent and hidden look
    /// the same), 403 <c>insufficient_scope</c> when a narrowed caller sees it but its scopes do not allow that on the artifact.
    /// </summary>
    public static async Task<(Run? Run, IResult? Problem)> AuthorizeRunAsync(this IQuerySession session, Guid id, Caller caller, Permission needed,
        CancellationToken ct)
    {
        if (await session.LoadAsync<Run>(id, ct) is not { } run || run.CallerId != caller.Id) return (null, Problems.NotFound("run"));
        if (!caller.IsNarrowed) return (run, null);
        var artifact = await session.LoadAsync<Artifact>(run.ArtifactId, ct);
        if (artifact is null || !Access.KeyAllows(caller, artifact, Permission.Read)) return (null, Problems.NotFound("run"));
        if (!Access.KeyAllows(caller, artifact, needed))
        {
            return (null, Problems.Result(403, "insufficient_scope",
                $"The credential's scopes do not allow {needed.ToString().ToLowerInvariant()} on the artifact this run runs."));
        }
        return (run, null);
    }

    /// <summary>Of the caller's runs, those a narrowed caller's scopes let it see (one query for their artifacts).</summary>
    public static async Task<Func<Run, bool>> VisibleAsync(this IQuerySession session, IReadOnlyList<Run> runs, Caller caller, CancellationToken ct)
    {
        if (!caller.IsNarrowed || runs.Count == 0) return _ => true;
        var artifacts = (await session.LoadManyAsync<Artifact>(ct, runs.Select(r => r.ArtifactId).Distinct()))
            .ToDictionary(a => a.Id);
        return run => artifacts.TryGetValue(run.ArtifactId, out var artifact) && Access.KeyAllows(caller, artifact, Permission.Read);
    }
}

public static class GetRunEndpoint
{
    /// <summary>One run; visible to the principal that requested it (an API key: only when it may read the artifact that ran).</summary>
    [WolverineGet("/runs/{id}", OperationId = "getRun"), Tags("Runs")]
    [KeyScope("read")]
    [ProducesResponseType<RunResponse>(200), ProducesResponseType(404)]
    public static async Task<IResult> Get(Guid id, ClaimsPrincipal principal, IQuerySession session, CancellationToken ct)
    {
        var (run, problem) = await session.AuthorizeRunAsync(id, Caller.From(principal), Permission.Read, ct);
        return problem ?? Results.Ok(RunResponse.From(run!));
    }
}

public static class ListRunsEndpoint
{
    /// <summary>
    /// The caller's runs, newest first, optionally of one artifact, made by one run (an agent's tool calls: <c>parentRunId</c>), and in one status (<c>pending</c>, <c>awaiting_approval</c>,
    /// <c>running</c>, <c>completed</c>, <c>failed</c>, <c>cancelled</c>, <c>expired</c>); cursor-paged. An API key sees only the runs of
    /// artifacts it may read: its page can hold fewer than <c>limit</c> items while <c>nextCursor</c> leads on.
    /// </summary>
    /// <param name="artifactId">Only the runs of this artifact.</param>
    /// <param name="parentRunId">Only the runs this run made (an agent run's tool calls).</param>
    /// <param name="status">Only runs in this status: <c>pending</c>, <c>awaiting_approval</c>, <c>running</c>, <c>completed</c>, <c>failed</c>, <c>cancelled</c> or <c>expired</c>.</param>
    [WolverineGet("/runs", OperationId = "listRuns"), Tags("Runs")]
    [KeyScope("read")]
    [ProducesResponseType<Page<RunResponse>>(200), ProducesResponseType(400)]
    public static async Task<IResult> List(Guid? artifactId, Guid? parentRunId, string? status, int? limit, string? cursor, ClaimsPrincipal principal,
        IQuerySession session, CancellationToken ct)
    {
        if (Paging.TryRead<Guid>(limit, cursor, Guid.TryParse, out var take, out var before) is { } badPage) return badPage;
        RunStatus? wanted = null;
        if (status is not null)
        {
            if (!Enum.TryParse<RunStatus>(status.Replace("_", ""), ignoreCase: true, out var parsed) || status.Any(char.IsUpper))
            {
                return Problems.Invalid("status", "status is one of pending, awaiting_approval, running, completed, failed, cancelled, expired.", "invalid_status");
            }
            wanted = parsed;
        }

        var caller = Caller.From(principal);
        var query = session.Query<Run>().Where(r => r.CallerId == caller.Id);
        if (artifactId is { } artifact) query = query.Where(r => r.ArtifactId == artifact);
        if (parentRunId is { } parent) query = query.Where(r => r.ParentRunId == parent);
        if (wanted is { } s) query = query.Where(r => r.Status == s);
        if (!string.IsNullOrEmpty(cursor)) query = query.Where(r => r.MatchesSql("d.id < ?", before));
        var rows = await query.OrderByDescending(r => r.Id).Take(take + 1).ToListAsync(ct);
        var visible = await session.VisibleAsync(rows.Take(take).ToList(), caller, ct);
        return Results.Ok(Paging.ToPage(rows, take, r => r.Id.ToString(), RunResponse.From, visible));
    }
}
