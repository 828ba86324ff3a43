using System.Security.Claims;
using AgentArtifacts.Api.Audit;
using Marten;

namespace AgentArtifacts.Api.Artifacts;

public static class GetArtifactEndpoint
{
    /// <summary>
    /// The artifact's head: its draft if it has one, else its last revision; or, with <c>?revision=n</c>, committed revision n
    /// (of its origin, for a checked-out copy); or, with <c>?asOf=</c>, the artifact as it was at that point of the event log,
    /// folded from its stream. ETag = version; If-None-Match → 304.
    /// </summary>
    /// <param name="revision">A committed revision number (1 or more) to read instead of the head. The head when left out.</param>
    /// <param name="asOf">Time travel: the artifact as it was at this point, either an event sequence (a positive integer: the global position of an event, as the event feed and the audit log number them) or an RFC 3339 time with its offset (<c>2026-12-03T10:00:00Z</c>). Who may read it is decided by today's grants, as for the head. 404 when the artifact did not exist yet; 400 <c>invalid_as_of</c> when the value is neither; not together with <c>revision</c>.</param>
    [KeyScope("read")]
    [WolverineGet("/artifacts/{id}", OperationId = "getArtifact"), Tags("Artifacts")]
    [ProducesResponseType<ArtifactResponse>(200), ProducesResponseType(304), ProducesResponseType(400), ProducesResponseType(404)]
    public static async Task<IResult> Get(Guid id, int? revision, string? asOf, ClaimsPrincipal principal, IQuerySession session, HttpContext http,
        CancellationToken ct)
    {
        if (revision is < 1) return Problems.Invalid("revision", "revision is a committed revision number, 1 or more.", "invalid_revision");
        var caller = Caller.From(principal);
        if (asOf is not null)
        {
            if (revision is not null) return Problems.Invalid("asOf", "Ask for a revision or a point in time (asOf), not both.", "conflicting_parameters");
            if (Audit.AsOf.Parse(asOf) is not { } point) return Problems.Invalid("asOf", $"asOf must be {Audit.AsOf.Described}.", "invalid_as_of");
            // Today's grants decide, as for the head: time travel shows a reader the past of what it may read now.
            if (await session.LoadVisibleAsync(id, caller, ct) is null) return Problems.NotFound("artifact");
            var then = await session.ArtifactAsOfAsync(id, point, ct);
            return then is null ? Problems.Result(404, "not_yet_created", "The artifact did not exist yet at that point.")
                : ETags.Conditional(http, then.Version, ArtifactResponse.From(then));
        }
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
