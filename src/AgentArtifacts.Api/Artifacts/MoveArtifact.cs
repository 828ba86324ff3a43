using System.Security.Claims;
using FluentValidation;
using Marten;

namespace AgentArtifacts.Api.Artifacts;

/// <summary>Where to move a draft to.</summary>
/// <param name="WorkspaceId">The workspace to move it to (the caller needs create permission there; not archived).</param>
public sealed record MoveArtifact(Guid WorkspaceId)
{
    public sealed class Validator : AbstractValidator<MoveArtifact>
    {
        public Validator() => RuleFor(x => x.WorkspaceId).NotEmpty();
    }
}

public static class MoveArtifactEndpoint
{
    /// <summary>Move a draft to another workspace.</summary>
    [KeyScope("write")]
    [WolverinePost("/artifacts/{id}/move", OperationId = "moveArtifact"), Tags("Artifacts")]
    [ProducesResponseType<ArtifactResponse>(200), ProducesResponseType(400), ProducesResponseType(404), ProducesResponseType(409), ProducesResponseType(412)]
    public static async Task<IResult> Post(Guid id, MoveArtifact request, ClaimsPrincipal principal, IDocumentSession session,
        HttpContext http, CancellationToken ct)
    {
        var (target, denied) = await session.AuthorizeAsync(request.WorkspaceId, Caller.From(principal), Permission.Create, ct, "workspace");
        if (denied is not null) return denied;
        if (target is not { IsWorkspace: true } || target.State == ArtifactState.Archived) return Problems.NotFound("workspace");

        // Moving takes the draft out of its workspace: the same permission as archiving it there.
        return await ArtifactTransitions.Run(id, principal, session, http, ct, Permission.Delete, artifact => Decide(artifact, target));
    }

    public static object? Decide(Artifact artifact, Artifact targetWorkspace) => artifact switch
    {
        { IsContainer: true } => null,
        { State: not ArtifactState.Draft } => Problems.Result(409, "not_a_draft", "Only a draft can move; committed and archived artifacts stay where they are."),
        _ when artifact.ContainerId == targetWorkspace.Id => Problems.Result(409, "already_there", "The artifact is already in that workspace."),
        _ => new ArtifactMoved(artifact.Id, artifact.ContainerId!.Value, targetWorkspace.Id),
    };
}
