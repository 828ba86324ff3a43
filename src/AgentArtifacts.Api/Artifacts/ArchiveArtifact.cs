using System.Security.Claims;
using Marten;

namespace AgentArtifacts.Api.Artifacts;

public static class ArchiveArtifactEndpoint
{
    /// <summary>Archive (soft delete). The artifact stays readable by id, with state archived; restore undoes it.</summary>
    [WolverineDelete("/artifacts/{id}", OperationId = "archiveArtifact"), Tags("Artifacts")]
    [ProducesResponseType(204), ProducesResponseType(404), ProducesResponseType(409), ProducesResponseType(412)]
    public static Task<IResult> Delete(Guid id, ClaimsPrincipal principal, IDocumentSession session, HttpContext http, CancellationToken ct) =>
        ArtifactTransitions.Run(id, principal, session, http, ct, artifact => artifact.IsContainer ? null
            : artifact.State == ArtifactState.Archived
                ? Problems.Result(409, "already_archived", "The artifact is already archived.")
                : new ArtifactArchived(artifact.Id), noContent: true);

    /// <summary>Undo an archive: the artifact returns to the state it had.</summary>
    [WolverinePost("/artifacts/{id}/restore", OperationId = "restoreArtifact"), Tags("Artifacts")]
    [ProducesResponseType<ArtifactResponse>(200), ProducesResponseType(404), ProducesResponseType(409), ProducesResponseType(412)]
    public static Task<IResult> Restore(Guid id, ClaimsPrincipal principal, IDocumentSession session, HttpContext http, CancellationToken ct) =>
        ArtifactTransitions.Run(id, principal, session, http, ct, artifact => artifact.IsContainer ? null
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
        CancellationToken ct, Func<Artifact, object?> decide, bool noContent = false)
    {
        if (!ETags.TryReadIfMatch(http.Request, out var expected)) return ETags.PreconditionFailed();
        var artifact = await session.LoadVisibleAsync(id, Caller.From(principal), ct);
        var decision = artifact is null ? null : decide(artifact);
        if (decision is null) return Problems.NotFound("artifact");
        if (expected is not null && expected != artifact!.Version) return ETags.PreconditionFailed();
        if (decision is IResult problem) return problem;

        session.Events.Append(id, artifact!.Version + 1, decision);
        await session.SaveChangesAsync(ct);
        http.Response.Headers.ETag = ETags.For(artifact.Version + 1);
        if (noContent) return Results.NoContent();
        return Results.Ok(ArtifactResponse.From((await session.LoadAsync<Artifact>(id, ct))!));
    }
}
