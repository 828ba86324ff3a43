using System.Globalization;
using System.Security.Claims;
using Marten;
using AgentArtifacts.Api.Artifacts;
using AgentArtifacts.Api.Types;

namespace AgentArtifacts.Api.Containers;

/// <summary>An artifact in a listing: everything but its context and content.</summary>
/// <param name="Id">The artifact's id.</param>
/// <param name="ContainerId">The workspace that holds it; in a collection's listing, the workspace the revision was committed from.</param>
/// <param name="ContentType">Its content type (a MIME type, e.g. <c>text/markdown</c>).</param>
/// <param name="Title">Its title.</param>
/// <param name="Description">Its description; null when it has none.</param>
/// <param name="Tags">Its tags (possibly empty).</param>
/// <param name="State">Whether it is a draft, committed, or archived.</param>
/// <param name="Version">The stream version, also the artifact's ETag.</param>
/// <param name="Revision">The last committed revision of the artifact that it knows of; 0 before its first commit.</param>
/// <param name="BaseRevision">The revision its current state started from; 0 for a draft never committed.</param>
/// <param name="OriginId">For a checked-out copy, the artifact whose revisions it drafts; null for an original and in a collection's listing.</param>
/// <param name="CreatedBy">The id of the user who created it; in a collection's listing, who committed the revision.</param>
/// <param name="CreatedAt">When it was created (ISO 8601, UTC); in a collection's listing, when the revision was committed.</param>
/// <param name="UpdatedAt">When it last changed (ISO 8601, UTC); in a collection's listing, when the revision was committed.</param>
public sealed record ArtifactListItem(Guid Id, Guid? ContainerId, string ContentType, string Title, string? Description,
    IReadOnlyList<string> Tags, ArtifactState State, long Version, int Revision, int BaseRevision, Guid? OriginId, Guid CreatedBy,
    DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt)
{
    public static ArtifactListItem From(ArtifactSummary s) => new(s.Id, s.ContainerId, s.ContentType, s.Title, s.Description, s.Tags,
        s.State, s.Version, s.Revision, s.BaseRevision, s.OriginId, s.CreatedBy, s.CreatedAt, s.UpdatedAt);

    /// <summary>
    /// A collection member as its published revision: <c>containerId</c> is the workspace it was committed from, and
    /// <c>createdBy</c>/<c>createdAt</c>/<c>updatedAt</c> are the revision's committer and time.
    /// </summary>
    public static ArtifactListItem From(CollectionItem c) => new(c.ArtifactId, c.WorkspaceId, c.ContentType, c.Title, c.Description, c.Tags,
        c.State, c.Version, c.Revision, c.Revision, null, c.CommittedBy, c.CommittedAt, c.CommittedAt);
}

public static class ListContainerArtifactsEndpoint
{
    /// <summary>A workspace's artifacts (drafts and committed), oldest first; filter by <c>contentType</c> (wildcards like <c>text/*</c>) and <c>state</c>.</summary>
    /// <param name="contentType">Only artifacts of this content type (e.g. <c>text/markdown</c>), or of this family (e.g. <c>text/*</c>). All when left out.</param>
    /// <param name="state">Only artifacts in this state. All states (archived included) when left out.</param>
    [KeyScope("read")]
    [ReadsProjections(typeof(ArtifactSummary))]
    [WolverineGet("/workspaces/{id}/artifacts", OperationId = "listWorkspaceArtifacts"), Tags("Workspaces")]
    [ProducesResponseType<Page<ArtifactListItem>>(200), ProducesResponseType(400), ProducesResponseType(404)]
    public static Task<IResult> ListWorkspace(Guid id, int? limit, string? cursor, string? contentType, ArtifactState? state,
        ClaimsPrincipal principal, IQuerySession session, CancellationToken ct) =>
        List(ContainerKind.Workspace, id, limit, cursor, contentType, state, principal, session, ct);

    /// <summary>A collection's artifacts, each at the revision last committed into it (never a draft), in order of publication (most recent last).</summary>
    /// <param name="contentType">Only artifacts of this content type (e.g. <c>text/markdown</c>), or of this family (e.g. <c>text/*</c>). All when left out.</param>
    /// <param name="state">Only artifacts in this state (<c>committed</c> or <c>archived</c>). Both when left out.</param>
    [KeyScope("read")]
    [ReadsProjections(typeof(CollectionMembershipProjection))]
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
        if ((await session.LoadContainerAsync(kind, id, caller, ct)).Problem is { } denied) return denied;

        var family = contentType is not null && contentType.EndsWith("/*", StringComparison.Ordinal) ? contentType[..^1] : null;
        if (kind == ContainerKind.Collection)
        {
            var members = session.Query<CollectionItem>().Where(c => c.CollectionId == id && c.Sequence > after);
            if (family is not null) members = members.Where(c => c.ContentType.StartsWith(family));
            else if (contentType is not null) members = members.Where(c => c.ContentType == contentType);
            if (state is { } wantedState) members = members.Where(c => c.State == wantedState);
            var items = await members.OrderBy(c => c.Sequence).Take(take + 1).ToListAsync(ct);
            return Results.Ok(Paging.ToPage(items, take, c => c.Sequence.ToString(CultureInfo.InvariantCulture), ArtifactListItem.From,
                c => caller.ScopeAllows(c.ContentType, "read") && caller.ResourceAllowed(c.ArtifactId, id)));
        }

        // Whoever reads the workspace reads its contents, except what a deny grant hides from them.
        var hidden = (await session.ReadSetsAsync(caller, ct)).Denied.ToArray();
        var query = session.Query<ArtifactSummary>().Where(s => s.ContainerId == id && s.Sequence > after);
        if (hidden.Length > 0) query = query.Where(s => !s.Id.IsOneOf(hidden));
        if (family is not null) query = query.Where(s => s.ContentType.StartsWith(family));
        else if (contentType is not null) query = query.Where(s => s.ContentType == contentType);
        if (state is { } wanted) query = query.Where(s => s.State == wanted);
        var rows = await query.OrderBy(s => s.Sequence).Take(take + 1).ToListAsync(ct);
        return Results.Ok(Paging.ToPage(rows, take, s => s.Sequence.ToString(CultureInfo.InvariantCulture), ArtifactListItem.From,
            s => caller.ScopeAllows(s.ContentType, "read") && caller.ResourceAllowed(s.Id, s.ContainerId)));
    }

    private static bool IsContentTypeFilter(string contentType) =>
        TypeRegistry.IsValidContentType(contentType) || (contentType.EndsWith("/*", StringComparison.Ordinal) && TypeRegistry.IsValidContentType(contentType[..^1] + "x"));
}
