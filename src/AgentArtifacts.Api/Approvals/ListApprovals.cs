using System.Security.Claims;
using Marten;
using Marten.Linq.MatchesSql;
using AgentArtifacts.Api.Artifacts;
using AgentArtifacts.Api.Runs;

namespace AgentArtifacts.Api.Approvals;

public static class ListApprovalsEndpoint
{
    /// <summary>
    /// The pending approvals the caller may decide (it holds <c>admin</c> on the artifact), oldest first, cursor-paged. A page
    /// can hold fewer than <c>limit</c> items while <c>nextCursor</c> leads on: approvals the caller may not decide are
    /// dropped after the key range. Closed to API keys and servers (403 <c>permission_denied</c>): they can never decide one.
    /// </summary>
    [WolverineGet("/approvals", OperationId = "listApprovals"), Tags("Approvals")]
    [ProducesResponseType<Page<ApprovalResponse>>(200), ProducesResponseType(400), ProducesResponseType(403)]
    public static async Task<IResult> List(int? limit, string? cursor, ClaimsPrincipal principal, IQuerySession session, TimeProvider clock,
        CancellationToken ct)
    {
        if (Paging.TryRead<Guid>(limit, cursor, Guid.TryParse, out var take, out var after) is { } badPage) return badPage;
        var now = clock.GetUtcNow();
        var query = session.Query<Run>().Where(r => r.Status == RunStatus.AwaitingApproval && r.ApprovalExpiresAt > now);
        if (!string.IsNullOrEmpty(cursor)) query = query.Where(r => r.MatchesSql("CAST(d.data ->> 'ApprovalId' as uuid) > ?", after));
        var rows = await query.OrderBy(r => r.ApprovalId).Take(take + 1).ToListAsync(ct);

        var artifacts = await session.LoadManyAsync<Artifact>(ct, rows.Select(r => r.ArtifactId).Distinct());
        var decidable = (await session.PermittedAsync(artifacts, Caller.From(principal), Permission.Admin, ct)).Select(a => a.Id).ToHashSet();
        return Results.Ok(Paging.ToPage(rows, take, r => r.ApprovalId.ToString()!, r => ApprovalResponse.From(r, now),
            r => decidable.Contains(r.ArtifactId)));
    }
}
