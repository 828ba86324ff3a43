using System.Security.Claims;
using Marten;
using Marten.Linq.MatchesSql;

namespace AgentArtifacts.Api.Runs;

public static class GetRunEndpoint
{
    /// <summary>One run; visible to the principal that requested it.</summary>
    [WolverineGet("/runs/{id}", OperationId = "getRun"), Tags("Runs")]
    [KeyScope("read")]
    [ProducesResponseType<RunResponse>(200), ProducesResponseType(404)]
    public static async Task<IResult> Get(Guid id, ClaimsPrincipal principal, IQuerySession session, CancellationToken ct) =>
        await session.LoadOwnRunAsync(id, principal, ct) is { } run ? Results.Ok(RunResponse.From(run)) : Problems.NotFound("run");

    /// <summary>The run when the caller requested it, else null (a stranger cannot tell whether it exists).</summary>
    public static async Task<Run?> LoadOwnRunAsync(this IQuerySession session, Guid id, ClaimsPrincipal principal, CancellationToken ct) =>
        await session.LoadAsync<Run>(id, ct) is { } run && run.CallerId == Caller.From(principal).Id ? run : null;
}

public static class ListRunsEndpoint
{
    /// <summary>
    /// The caller's runs, newest first, optionally of one artifact, made by one run (an agent's tool calls: <c>parentRunId</c>), and in one status (<c>pending</c>, <c>awaiting_approval</c>,
    /// <c>running</c>, <c>completed</c>, <c>failed</c>, <c>cancelled</c>, <c>expired</c>); cursor-paged.
    /// </summary>
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

        var callerId = Caller.From(principal).Id;
        var query = session.Query<Run>().Where(r => r.CallerId == callerId);
        if (artifactId is { } artifact) query = query.Where(r => r.ArtifactId == artifact);
        if (parentRunId is { } parent) query = query.Where(r => r.ParentRunId == parent);
        if (wanted is { } s) query = query.Where(r => r.Status == s);
        if (!string.IsNullOrEmpty(cursor)) query = query.Where(r => r.MatchesSql("d.id < ?", before));
        var rows = await query.OrderByDescending(r => r.Id).Take(take + 1).ToListAsync(ct);
        return Results.Ok(Paging.ToPage(rows, take, r => r.Id.ToString(), RunResponse.From));
    }
}
