using System.Security.Claims;
using FluentValidation;
using Marten;
using AgentArtifacts.Api.Containers;

namespace AgentArtifacts.Api.Artifacts;

/// <summary>Where to check an artifact out to.</summary>
/// <param name="WorkspaceId">The workspace the copy is created in (the caller needs create permission there).</param>
public sealed record CheckoutArtifact(Guid WorkspaceId)
{
    public sealed class Validator : AbstractValidator<CheckoutArtifact>
    {
        public Validator() => RuleFor(x => x.WorkspaceId).NotEmpty();
    }
}

public static class CheckoutArtifactEndpoint
{
    /// <summary>
    /// Bring a committed artifact into another workspace: a new artifact there (its own id, <c>originId</c> = this one) holding the
    /// latest revision, ready to edit. Committing it makes the next revision of the original; if the original gained a revision
    /// from elsewhere first, that commit is a conflict.
    /// </summary>
    [KeyScope("create")]
    [WolverinePost("/artifacts/{id}/checkout", OperationId = "checkoutArtifact"), Tags("Artifacts")]
    [ProducesResponseType<ArtifactResponse>(201), ProducesResponseType(400), ProducesResponseType(404), ProducesResponseType(409)]
    public static async Task<IResult> Post(Guid id, CheckoutArtifact request, ClaimsPrincipal principal, IDocumentSession session,
        HttpContext http, CancellationToken ct)
    {
        var caller = Caller.From(principal);
        var source = await session.LoadVisibleAsync(id, caller, ct);
        if (source is null || source.IsContainer) return Problems.NotFound("artifact");
        var (workspace, denied) = await session.LoadContainerAsync(ContainerKind.Workspace, request.WorkspaceId, caller, ct, Permission.Create);
        if (denied is not null) return denied;
        if (workspace!.State == ArtifactState.Archived) return Problems.NotFound("workspace");

        var line = source.LineId == source.Id ? source : await session.LoadAsync<Artifact>(source.LineId, ct);
        var latest = line is { Revision: > 0 } ? await session.LoadAsync<ArtifactRevision>(ArtifactRevision.IdOf(line.Id, line.Revision), ct) : null;
        var alreadyThere = await session.Query<Artifact>()
            .AnyAsync(a => a.ContainerId == workspace.Id && (a.Id == source.LineId || a.OriginId == source.LineId) && a.State != ArtifactState.Archived, ct);
        var decision = Decide(Guid.CreateVersion7(), latest, workspace, alreadyThere);
        if (decision is IResult problem) return problem;

        var checkedOut = (ArtifactCheckedOut)decision;
        session.Events.StartStream<Artifact>(checkedOut.ArtifactId, checkedOut);
        await session.SaveChangesAsync(ct);
        var copy = (await session.LoadAsync<Artifact>(checkedOut.ArtifactId, ct))!;
        http.Response.Headers.ETag = ETags.For(copy.Version);
        return Results.Created($"/artifacts/{copy.Id}", ArtifactResponse.From(copy));
    }

    public static object Decide(Guid copyId, ArtifactRevision? latest, Artifact workspace, bool alreadyThere) => latest switch
    {
        null => Problems.Result(409, "not_committed", "Only a committed artifact can be checked out; this one has no revision yet."),
        { Kind: ChangeKind.Archived } => Problems.Result(409, "artifact_archived", "The artifact's latest revision is an archive."),
        _ when alreadyThere => Problems.Result(409, "already_checked_out", "The workspace already holds this artifact or a copy of it."),
        _ => new ArtifactCheckedOut(copyId, latest.ArtifactId, workspace.Id, latest.Revision, latest.ContentType, latest.Title,
            latest.Description, latest.Tags, latest.Context, latest.Content),
    };
}
