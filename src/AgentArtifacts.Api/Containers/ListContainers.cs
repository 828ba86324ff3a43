using System.Globalization;
using System.Security.Claims;
using Marten;
using AgentArtifacts.Api.Artifacts;

namespace AgentArtifacts.Api.Containers;

public static class ListContainersEndpoint
{
    /// <summary>The workspaces visible to the caller, oldest first. Archived ones only with <c>state=archived</c>.</summary>
    /// <param name="state">Only workspaces in this state; <c>archived</c> lists the archived ones. When left out, all but the archived.</param>
    [KeyScope("read")]
    [ReadsProjections(typeof(ArtifactSummary))]
    [WolverineGet("/workspaces", OperationId = "listWorkspaces"), Tags("Workspaces")]
    [ProducesResponseType<Page<ContainerResponse>>(200), ProducesResponseType(400)]
    public static Task<IResult> ListWorkspaces(int? limit, string? cursor, ArtifactState? state, ClaimsPrincipal principal, IQuerySession session, CancellationToken ct) =>
        List(ContainerKind.Workspace, limit, cursor, state, principal, session, ct);

    /// <summary>The collections visible to the caller, oldest first. Archived ones only with <c>state=archived</c>.</summary>
    /// <param name="state">Only collections in this state; <c>archived</c> lists the archived ones. When left out, all but the archived.</param>
    [KeyScope("read")]
    [ReadsProjections(typeof(ArtifactSummary))]
    [WolverineGet("/collections", OperationId = "listCollections"), Tags("Collections")]
    [ProducesResponseType<Page<ContainerResponse>>(200), ProducesResponseType(400)]
    public static Task<IResult> ListCollections(int? limit, string? cursor, ArtifactState? state, ClaimsPrincipal principal, IQuerySession session, CancellationToken ct) =>
        List(ContainerKind.Collection, limit, cursor, state, principal, session, ct);

    private static async Task<IResult> List(ContainerKind kind, int? limit, string? cursor, ArtifactState? state, ClaimsPrincipal principal,
        IQuerySession session, CancellationToken ct)
    {
        if (Paging.TryRead<long>(limit, cursor, long.TryParse, out var take, out var after) is { } badPage) return badPage;
        var caller = Caller.From(principal);
        var contentType = ContainerResponse.ContentTypeOf(kind);
        var readable = (await session.ReadSetsAsync(caller, ct)).Readable.ToArray();
        var query = session.Query<ArtifactSummary>().Where(s => s.Id.IsOneOf(readable) && s.ContentType == contentType && s.Sequence > after);
        query = state is { } wanted ? query.Where(s => s.State == wanted) : query.Where(s => s.State != ArtifactState.Archived);
        var rows = await query.OrderBy(s => s.Sequence).Take(take + 1).ToListAsync(ct);
        return Results.Ok(Paging.ToPage(rows, take, s => s.Sequence.ToString(CultureInfo.InvariantCulture), ContainerResponse.From));
    }
}
