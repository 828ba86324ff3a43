using System.Security.Claims;
using Marten;

namespace AgentArtifacts.Api.Artifacts;

public static class GetArtifactEndpoint
{
    /// <summary>The artifact's head: its draft if it has one, else its last revision. ETag = version; If-None-Match → 304.</summary>
    [WolverineGet("/artifacts/{id}", OperationId = "getArtifact"), Tags("Artifacts")]
    [ProducesResponseType<ArtifactResponse>(200), ProducesResponseType(304), ProducesResponseType(404)]
    public static async Task<IResult> Get(Guid id, ClaimsPrincipal principal, IQuerySession session, HttpContext http, CancellationToken ct)
    {
        var artifact = await session.LoadVisibleAsync(id, Caller.From(principal), ct);
        return artifact is null ? Problems.NotFound("artifact") : ETags.Conditional(http, artifact.Version, ArtifactResponse.From(artifact));
    }
}
