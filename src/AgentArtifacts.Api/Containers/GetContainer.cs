using System.Security.Claims;
using Marten;
using AgentArtifacts.Api.Artifacts;
using AgentArtifacts.Api.Types;

namespace AgentArtifacts.Api.Containers;

public static class GetContainerEndpoint
{
    /// <summary>One workspace. ETag = version; If-None-Match → 304.</summary>
    [KeyScope("read")]
    [WolverineGet("/workspaces/{id}", OperationId = "getWorkspace"), Tags("Workspaces")]
    [ProducesResponseType<ContainerResponse>(200), ProducesResponseType(304), ProducesResponseType(404)]
    public static Task<IResult> GetWorkspace(Guid id, ClaimsPrincipal principal, IQuerySession session, HttpContext http, CancellationToken ct) =>
        Get(ContainerKind.Workspace, id, principal, session, http, ct);

    /// <summary>One collection. ETag = version; If-None-Match → 304.</summary>
    [KeyScope("read")]
    [WolverineGet("/collections/{id}", OperationId = "getCollection"), Tags("Collections")]
    [ProducesResponseType<ContainerResponse>(200), ProducesResponseType(304), ProducesResponseType(404)]
    public static Task<IResult> GetCollection(Guid id, ClaimsPrincipal principal, IQuerySession session, HttpContext http, CancellationToken ct) =>
        Get(ContainerKind.Collection, id, principal, session, http, ct);

    private static async Task<IResult> Get(ContainerKind kind, Guid id, ClaimsPrincipal principal, IQuerySession session, HttpContext http, CancellationToken ct)
    {
        var (container, denied) = await session.LoadContainerAsync(kind, id, Caller.From(principal), ct);
        return denied ?? ETags.Conditional(http, container!.Version, ContainerResponse.From(container));
    }

    /// <summary>A workspace or collection the caller holds <paramref name="needed"/> on, or the 404/403 to answer.</summary>
    public static async Task<Authorized> LoadContainerAsync(this IQuerySession session, ContainerKind kind, Guid id, Caller caller,
        CancellationToken ct, Permission needed = Permission.Read)
    {
        var what = kind.ToString().ToLowerInvariant();
        var authorized = await session.AuthorizeAsync(id, caller, needed, ct, what);
        return authorized.Artifact is { } artifact && artifact.ContentType != ContainerResponse.ContentTypeOf(kind)
            ? new Authorized(null, Problems.NotFound(what)) : authorized;
    }
}
