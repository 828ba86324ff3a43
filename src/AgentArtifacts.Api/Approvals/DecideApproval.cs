using System.Security.Claims;
using FluentValidation;
using Marten;
using Wolverine;
using AgentArtifacts.Api.Infrastructure;
using AgentArtifacts.Api.Runs;

namespace AgentArtifacts.Api.Approvals;

/// <summary>An approval decision.</summary>
/// <param name="Note">Why, for the run's caller and the record (at most 2000 characters); null for none.</param>
public sealed record DecideApproval(string? Note = null)
{
    public sealed class Validator : AbstractValidator<DecideApproval>
    {
        public Validator() => RuleFor(x => x.Note).MaximumLength(2000);
    }
}

public static class DecideApprovalEndpoint
{
    /// <summary>
    /// Approve: the run continues, durably (queued in the same transaction as the decision). Only a holder of <c>admin</c> on
    /// the artifact decides (others: 404, or 403 when they may read it). A second decision → 409 <c>approval_decided</c>; an
    /// approval past its time → 409 <c>approval_expired</c> (and the run ends <c>expired</c>). A human decision: closed to API keys
    /// and servers (403 <c>permission_denied</c>), as <c>admin</c> is never a key's.
    /// </summary>
    [WolverinePost("/approvals/{id}/approve", OperationId = "approveRun"), Tags("Approvals")]
    [ProducesResponseType<ApprovalResponse>(200), ProducesResponseType(403), ProducesResponseType(404), ProducesResponseType(409)]
    public static Task<IResult> Approve(Guid id, DecideApproval request, ClaimsPrincipal principal, IDocumentSession session, IMessageBus bus,
        TimeProvider clock, CancellationToken ct) =>
        DecideAsync(id, approve: true, request, principal, session, bus, clock, ct);

    /// <summary>Reject: the run ends <c>cancelled</c> with <c>error.code</c> <c>approval_rejected</c> and never executes. Same rules as approve.</summary>
    [WolverinePost("/approvals/{id}/reject", OperationId = "rejectRun"), Tags("Approvals")]
    [ProducesResponseType<ApprovalResponse>(200), ProducesResponseType(403), ProducesResponseType(404), ProducesResponseType(409)]
    public static Task<IResult> Reject(Guid id, DecideApproval request, ClaimsPrincipal principal, IDocumentSession session, IMessageBus bus,
        TimeProvider clock, CancellationToken ct) =>
        DecideAsync(id, approve: false, request, principal, session, bus, clock, ct);

    private static async Task<IResult> DecideAsync(Guid id, bool approve, DecideApproval request, ClaimsPrincipal principal,
        IDocumentSession session, IMessageBus bus, TimeProvider clock, CancellationToken ct)
    {
        var found = await session.Query<Run>().Where(r => r.ApprovalId == id).FirstOrDefaultAsync(ct);
        if (found is null) return Problems.NotFound("approval");
        var (_, denied) = await session.AuthorizeAsync(found.ArtifactId, Caller.From(principal), Permission.Admin, ct, "approval");
        if (denied is not null) return denied;

        var stream = await session.Events.FetchForWriting<Run>(found.Id, ct);
        var run = stream.Aggregate!;
        var now = clock.GetUtcNow();
        if (run.Status == RunStatus.AwaitingApproval && now >= run.ApprovalExpiresAt)
        {
            await ApprovalDecisions.ExpireAsync(session.DocumentStore, run.Id, id, ct);
            return Problems.Result(409, "approval_expired", "The approval expired before this decision; the run will not execute.");
        }
        if (run.Status != RunStatus.AwaitingApproval)
        {
            return Problems.Result(409, "approval_decided", $"The approval is already {ApprovalResponse.StatusOf(run, now)}.");
        }

        stream.AppendOne(approve ? new RunApproved(run.Id, id, request.Note) : new RunRejected(run.Id, id, request.Note));
        RunJournal.Notify(session, run.Id);
        if (approve) await bus.PublishAsync(new ExecuteRun(run.Id));
        try
        {
            await session.SaveChangesAsync(ct);
        }
        catch (Exception e) when (Concurrency.IsConflict(e))
        {
            return Problems.Result(409, "approval_decided", "Another decision on this approval was recorded first.");
        }
        return Results.Ok(ApprovalResponse.From((await session.LoadAsync<Run>(run.Id, ct))!, now));
    }
}
