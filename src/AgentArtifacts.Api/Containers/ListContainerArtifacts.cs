using System.Globalization;
using System.Security.Claims;
using Marten;
using AgentArtifacts.Api.Artifacts;
using AgentArtifacts.Api.Types;

namespace AgentArtifacts.Api.Containers;

/// <summary>An artifact in a listing: everything but its context and content.</summary>
public sealed record ArtifactListItem(Guid Id, Guid? ContainerId, string ContentType, string Title, string? Description,
    IReadOnlyList<string> Tags, ArtifactState State, long Version, int Revision, Guid CreatedBy, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt)
{
    public static ArtifactListItem From(ArtifactSummary s) => new(s.Id, s.ContainerId, s.ContentType, s.Title, s.Description, s.Tags,
        s.State, s.Version, s.Revision, s.CreatedBy, s.CreatedAt, s.UpdatedAt);
}

public static class ListContainerArtifactsEndpoint
{
    /// <summary>A workspace's artifacts (drafts and committed), oldest first; filter by <c>contentType</c> (wildcards like <c>text/*</c>) and <c>state</c>.</summary>
    [WolverineGet("/workspaces/{id}/artifacts", OperationId = "listWorkspaceArtifacts"), Tags("Workspaces")]
    [ProducesResponseType<Page<ArtifactListItem>>(200), ProducesResponseType(400), ProducesResponseType(404)]
    public static Task<IResult> ListWorkspace(Guid id, int? limit, string? cursor, string? contentType, ArtifactState? state,
        ClaimsPrincipal principal, IQuerySession session, CancellationToken ct) =>
        List(ContainerKind.Workspace, id, limit, cursor, contentType, state, principal, session, ct);

    /// <summary>A collection's artifacts. Collections receive artifacts through commits.</summary>
    [WolverineGet("/collections/{id}/artifacts", OperationId = "listCollectionArtifacts"), Tags("Collections")]
    [ProducesResponseType<Page<ArtifactListItem>>(200), ProducesResponseType(400), ProducesResponseType(404)]
    public static Task<IResult> ListCollection(Guid id, int? limit, string? cursor, string? contentType, ArtifactState? state,
        ClaimsPrincipal principal, IQuerySession session, CancellationToken ct) =>
        List(ContainerKind.Collection, id, limit, cursor, contentType, state, principal, session, ct);

    private static async Task<IResult> List(ContainerKind kind, Guid id, int? limit, string? cursor, string? contentType, ArtifactState? state,
        ClaimsPrincipal principal, IQuerySession session, CancellationToken ct)
    {
        if (Paging.TryRead<long>(limit, cursor, long.TryParse, out var take, out var after) is { } badPage) return badPage;
        if (contentType is not null && !IsContentTypeFilter(contentType))
        {
            return Problems.Invalid("contentType", "contentType is a MIME type, or a family such as text/*.", "invalid_content_type");
        }
        var caller = Caller.From(principal);
        if (await session.LoadContainerAsync(kind, id, caller, ct) is null) return Problems.NotFound(kind.ToString().ToLowerInvariant());

        var query = session.Query<ArtifactSummary>().Where(s => s.ContainerId == id && s.CreatedBy == caller.Id && s.Sequence > after);
        if (contentType is not null)
        {
            var family = contentType.EndsWith("/*", StringComparison.Ordinal) ? contentType[..^1] : null;
            query = family is null ? query.Where(s => s.ContentType == contentType) : query.Where(s => s.ContentType.StartsWith(family));
        }
        if (state is { } wanted) query = query.Where(s => s.State == wanted);
        var rows = await query.OrderBy(s => s.Sequence).Take(take + 1).ToListAsync(ct);
        return Results.Ok(Paging.ToPage(rows, take, s => s.Sequence.ToString(CultureInfo.InvariantCulture), ArtifactListItem.From));
    }

    private static bool IsContentTypeFilter(string contentType) =>
        TypeRegistry.IsValidContentType(contentType) || (contentType.EndsWith("/*", StringComparison.Ordinal) && TypeRegistry.IsValidContentType(contentType[..^1] + "x"));
}
