using System.Security.Claims;
using FluentValidation;
using Marten;

namespace AgentArtifacts.Api.Artifacts;

/// <summary>Artifacts to read in one call.</summary>
/// <param name="Ids">The artifacts' ids (1 to 200; duplicates are read once).</param>
public sealed record BatchGetArtifacts(IReadOnlyList<Guid> Ids)
{
    public const int MaxIds = 200;

    public sealed class Validator : AbstractValidator<BatchGetArtifacts>
    {
        public Validator() => RuleFor(x => x.Ids).NotNull().Must(ids => ids is { Count: > 0 and <= MaxIds })
            .WithMessage($"ids holds 1 to {MaxIds} artifact ids.");
    }
}

/// <summary>The artifacts read by a batch get.</summary>
/// <param name="Items">The artifacts found and visible to the caller, in the order their ids were asked; the others are left out.</param>
public sealed record BatchGetArtifactsResponse(IReadOnlyList<ArtifactResponse> Items);

public static class BatchGetArtifactsEndpoint
{
    /// <summary>Read many artifacts by id in one call; ids that do not exist or are not visible are left out.</summary>
    [KeyScope("read")]
    [WolverinePost("/artifacts/batch", OperationId = "batchGetArtifacts"), Tags("Artifacts")]
    [ProducesResponseType<BatchGetArtifactsResponse>(200), ProducesResponseType(400)]
    public static async Task<BatchGetArtifactsResponse> Post(BatchGetArtifacts request, ClaimsPrincipal principal, IQuerySession session, CancellationToken ct)
    {
        var caller = Caller.From(principal);
        var ids = request.Ids.Distinct().ToArray();
        var found = await session.PermittedAsync(await session.LoadManyAsync<Artifact>(ct, ids), caller, Permission.Read, ct);
        var order = ids.Select((id, index) => (id, index)).ToDictionary(x => x.id, x => x.index);
        return new BatchGetArtifactsResponse(found.OrderBy(a => order[a.Id]).Select(ArtifactResponse.From).ToList());
    }
}
