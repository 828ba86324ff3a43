using System.Security.Claims;
using Marten;

namespace AgentArtifacts.Api.Artifacts;

public static class ArchiveArtifactEndpoint
{
    /// <summary>Archive (soft delete). The artifact stays readable by id, with state archived; restore undoes it.</summary>
    [KeyScope("delete")]
    [WolverineDelete("/artifacts/{id}", OperationId = "archiveArtifact"), Tags("Artifacts")]
    [ProducesResponseType(204), ProducesResponseType(404), ProducesResponseType(409), ProducesResponseType(412)]
    public static Task<IResult> Delete(Guid id, ClaimsPrincipal principal, IDocumentSession session, HttpContext http, CancellationToken ct) =>
        ArtifactTransitions.Run(id, principal, session, http, ct, Permission.Delete, artifact => artifact.IsContainer ? null
            : artifact.State == ArtifactState.Archived
                ? Problems.Result(409, "already_archived", "The artifact is already archived.")
                : new ArtifactArchived(artifact.Id), noContent: true);

    /// <summary>Undo an archive: the artifact returns to the state it had.</summary>
    [KeyScope("delete")]
    [WolverinePost("/artifacts/{id}/restore", OperationId = "restoreArtifact"), Tags("Artifacts")]
    [ProducesResponseType<ArtifactResponse>(200), ProducesResponseType(404), ProducesResponseType(409), ProducesResponseType(412)]
    public static Task<IResult> Restore(Guid id, ClaimsPrincipal principal, IDocumentSession session, HttpContext http, CancellationToken ct) =>
        ArtifactTransitions.Run(id, principal, session, http, ct, Permission.Delete, artifact => artifact.IsContainer ? null
            : artifact.State != ArtifactState.Archived
                ? Problems.Result(409, "not_archived", "Only an archived artifact can be restored.")
                : new ArtifactRestored(artifact.Id));
}

/// <summary>
/// The shape every single-event state change on one artifact shares: load what the caller may see, honour If-Match,
/// decide (an event, a problem, or null for "not found"), append with optimistic concurrency, answer with the ETag.
/// </summary>
public static class ArtifactTransitions
{
    public static async Task<IResult> Run(Guid id, ClaimsPrincipal principal, IDocumentSession session, HttpContext http,
        CancellationToken ct, Permission needed, Func<Artifact, object?> decide, bool noContent = false)
    {
        if (!ETags.TryReadIfMatch(http.Request, out var expected)) return ETags.PreconditionFailed();
        var (artifact, denied) = await session.AuthorizeAsync(id, Caller.From(principal), needed, ct);
        if (denied is not null) return denied;
        var decision = decide(artifact!);
        if (decision is null) return Problems.NotFound("artifact");
        if (expected is not null && expected != artifact!.Version) return ETags.PreconditionFailed();
        if (decision is IResult problem) return problem;

        var updated = await AppendAsync(session, artifact!, [decision], http, ct);
        return noContent ? Results.NoContent() : Results.Ok(ArtifactResponse.From(updated));
    }

    /// <summary>
    /// Appends decided events with optimistic concurrency (the append fails if anyone wrote after the version the
    /// decision saw), sets the ETag, and returns the artifact as it now is.
    /// </summary>
    public static async Task<Artifact> AppendAsync(IDocumentSession session, Artifact artifact, IReadOnlyList<object> events,
        HttpContext http, CancellationToken ct)
    {
        if (events.Count > 0)
        {
            session.Events.Append(artifact.Id, artifact.Version + events.Count, events.ToArray());
            await session.SaveChangesAsync(ct);
            artifact = (await session.LoadAsync<Artifact>(artifact.Id, ct))!;
        }
        http.Response.Headers.ETag = ETags.For(artifact.Version);
        return artifact;
    }
}
