using System.Security.Claims;
using Marten;
using AgentArtifacts.Api.Artifacts;

namespace AgentArtifacts.Api.Containers;

public static class ArchiveContainerEndpoint
{
    /// <summary>Archive a workspace. Its artifacts stay readable by id; nothing new can be created in it.</summary>
    [KeyScope("delete")]
    [WolverineDelete("/workspaces/{id}", OperationId = "archiveWorkspace"), Tags("Workspaces")]
    [ProducesResponseType(204), ProducesResponseType(404), ProducesResponseType(409), ProducesResponseType(412)]
    public static Task<IResult> DeleteWorkspace(Guid id, ClaimsPrincipal principal, IDocumentSession session, HttpContext http, CancellationToken ct) =>
        ArtifactTransitions.Run(id, principal, session, http, ct, Permission.Delete, c => Decide(ContainerKind.Workspace, c), noContent: true);

    /// <summary>Archive a collection. Its revisions stay readable by id.</summary>
    [KeyScope("delete")]
    [WolverineDelete("/collections/{id}", OperationId = "archiveCollection"), Tags("Collections")]
    [ProducesResponseType(204), ProducesResponseType(404), ProducesResponseType(409), ProducesResponseType(412)]
    public static Task<IResult> DeleteCollection(Guid id, ClaimsPrincipal principal, IDocumentSession session, HttpContext http, CancellationToken ct) =>
        ArtifactTransitions.Run(id, principal, session, http, ct, Permission.Delete, c => Decide(ContainerKind.Collection, c), noContent: true);

    public static object? Decide(ContainerKind kind, Artifact container) =>
        container.ContentType != ContainerResponse.ContentTypeOf(kind) ? null
        : container.State == ArtifactState.Archived ? Problems.Result(409, "already_archived", "It is already archived.")
        : new ArtifactArchived(container.Id);
}
