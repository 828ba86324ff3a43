using System.Security.Claims;
using Marten;

namespace AgentArtifacts.Api.Artifacts;

public static class GetArtifactEndpoint
{
    /// <summary>
    /// The artifact's head: its draft if it has one, else its last revision; or, with <c>?revision=n</c>, committed revision n
    /// (of its origin, for a checked-out copy). ETag = version; If-None-Match → 304.
    /// </summary>
    /// <param name="revision">A committed revision number (1 or more) to read instead of the head. The head when left out.</param>
    [KeyScope("read")]
    [WolverineGet("/artifacts/{id}", OperationId = "getArtifact"), Tags("Artifacts")]
    [ProducesResponseType<ArtifactResponse>(200), ProducesResponseType(304), ProducesResponseType(400), ProducesResponseType(404)]
    public static async Task<IResult> Get(Guid id, int? revision, ClaimsPrincipal principal, IQuerySession session, HttpContext http, CancellationToken ct)
    {
        if (revision is < 1) return Problems.Invalid("revision", "revision is a committed revision number, 1 or more.", "invalid_revision");
        var caller = Caller.From(principal);
        if (revision is not { } n)
        {
            var head = await session.LoadVisibleAsync(id, caller, ct);
            return head is null ? Problems.NotFound("artifact") : ETags.Conditional(http, head.Version, ArtifactResponse.From(head));
        }

        var (artifact, published) = await session.RevisionReaderAsync(id, caller, ct);
        if (artifact is null) return Problems.NotFound("artifact");
        var line = artifact.LineId == artifact.Id ? artifact : await session.LoadAsync<Artifact>(artifact.LineId, ct);
        var committed = await session.LoadAsync<ArtifactRevision>(ArtifactRevision.IdOf(artifact.LineId, n), ct);
        return line is null || committed is null || !committed.CanRead(published)
            ? Problems.Result(404, "revision_not_found", $"The artifact has no revision {n}.")
            : ETags.Conditional(http, committed.Version, ArtifactResponse.From(committed, line));
    }
}
