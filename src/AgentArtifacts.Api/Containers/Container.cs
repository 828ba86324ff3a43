using AgentArtifacts.Api.Artifacts;
using AgentArtifacts.Api.Types;

namespace AgentArtifacts.Api.Containers;

public enum ContainerKind { Workspace, Collection }

/// <summary>A workspace or collection as the API shows it. Containers are artifacts of their own content types.</summary>
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
