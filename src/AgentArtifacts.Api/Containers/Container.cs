using AgentArtifacts.Api.Artifacts;
using AgentArtifacts.Api.Types;

namespace AgentArtifacts.Api.Containers;

/// <summary>
/// Which kind of container: a <c>workspace</c> holds drafts and commits them; a <c>collection</c> holds the committed
/// revisions published into it.
/// </summary>
public enum ContainerKind { Workspace, Collection }

/// <summary>A workspace or collection as the API shows it. Containers are artifacts of their own content types.</summary>
/// <param name="Id">The container's id.</param>
/// <param name="Kind">Whether it is a workspace or a collection.</param>
/// <param name="ContentType">The container's own content type: <c>application/vnd.agience.workspace+json</c> or <c>application/vnd.agience.collection+json</c>.</param>
/// <param name="Title">The container's title.</param>
/// <param name="Description">The container's description; null when it has none.</param>
/// <param name="TargetCollectionIds">For a workspace, the collections its commits publish to (possibly empty); null for a collection.</param>
/// <param name="State"><c>archived</c> once archived; otherwise <c>draft</c> (containers are never committed).</param>
/// <param name="Version">The container's stream version, also its ETag: send it in If-Match to update or archive only if nobody changed it since.</param>
/// <param name="CreatedBy">The id of the user who created it.</param>
/// <param name="CreatedAt">When it was created (ISO 8601, UTC).</param>
/// <param name="UpdatedAt">When it last changed (ISO 8601, UTC).</param>
public sealed record ContainerResponse(Guid Id, ContainerKind Kind, string ContentType, string Title, string? Description,
    IReadOnlyList<Guid>? TargetCollectionIds, ArtifactState State, long Version, Guid CreatedBy, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt)
{
    public static ContainerResponse From(Artifact a) => new(a.Id, KindOf(a.ContentType), a.ContentType, a.Title, a.Description,
        a.IsWorkspace ? a.TargetCollectionIds : null, a.State, a.Version, a.CreatedBy, a.CreatedAt, a.UpdatedAt);

    public static ContainerResponse From(ArtifactSummary s) => new(s.Id, KindOf(s.ContentType), s.ContentType, s.Title, s.Description,
        s.ContentType == TypeRegistry.Workspace ? s.TargetCollectionIds : null, s.State, s.Version, s.CreatedBy, s.CreatedAt, s.UpdatedAt);

    public static string ContentTypeOf(ContainerKind kind) => kind == ContainerKind.Workspace ? TypeRegistry.Workspace : TypeRegistry.Collection;

    private static ContainerKind KindOf(string contentType) => contentType == TypeRegistry.Workspace ? ContainerKind.Workspace : ContainerKind.Collection;
}
