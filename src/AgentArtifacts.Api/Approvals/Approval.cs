using System.Text.Json.Nodes;
using Marten;
using AgentArtifacts.Api.Runs;

namespace AgentArtifacts.Api.Approvals;

// An approval lives in its run's stream (RunApprovalRequested, then RunApproved, RunRejected or RunExpired); the run's
// snapshot carries it, so an approval is read from the runs table by its own id.

/// <summary>A run waiting for (or past) a person's decision before it executes.</summary>
/// <param name="Id">The approval's id: decide it with POST /approvals/{id}/approve or /reject.</param>
/// <param name="RunId">The run that waits for it (GET /runs/{id}).</param>
/// <param name="ArtifactId">The artifact the run would execute.</param>
/// <param name="Operation">The operation the run would execute (e.g. <c>invoke</c>).</param>
/// <param name="RequestedBy">The id of the principal that invoked the run.</param>
/// <param name="Input">The run's input, as the caller sent it; null when none.</param>
/// <param name="Status"><c>pending</c>, <c>approved</c>, <c>rejected</c>, <c>expired</c> (also when its time passed and the expiry is not recorded yet), or <c>cancelled</c> (the run was cancelled by its caller).</param>
/// <param name="RequestedAt">When the run was requested (ISO 8601, UTC).</param>
/// <param name="ExpiresAt">When the approval expires if nobody decides (ISO 8601, UTC); the run then never executes.</param>
/// <param name="DecidedBy">The id of the user who approved or rejected it; null until then.</param>
/// <param name="Note">The note the decider left; null when none.</param>
public sealed record ApprovalResponse(Guid Id, Guid RunId, Guid ArtifactId, string Operation, Guid RequestedBy, JsonNode? Input,
    string Status, DateTimeOffset RequestedAt, DateTimeOffset ExpiresAt, Guid? DecidedBy, string? Note)
{
    public static ApprovalResponse From(Run run, DateTimeOffset now) => new(run.ApprovalId!.Value, run.Id, run.ArtifactId, run.Operation,
        run.CallerId, run.Input, StatusOf(run, now), run.RequestedAt, run.ApprovalExpiresAt!.Value, run.ApprovalDecidedBy,
        run.ApprovalNote);

    /// <summary><c>pending</c>, <c>approved</c>, <c>rejected</c>, <c>expired</c> (also when its time passed and the expiry is not recorded yet), or <c>cancelled</c> by the run's caller.</summary>
    public static string StatusOf(Run run, DateTimeOffset now) => run.ApprovalDecision
        ?? (run.Status == RunStatus.AwaitingApproval ? (now >= run.ApprovalExpiresAt ? "expired" : "pending") : "cancelled");
}

/// <summary>The approval's time is up: a scheduled durable message, sent when it was requested.</summary>
public sealed record ExpireApproval(Guid RunId, Guid ApprovalId);

public static class ExpireApprovalHandler
{
    /// <summary>Records <see cref="RunExpired"/> when the run still awaits this approval (a decided one is left as it is).</summary>
    public static Task Handle(ExpireApproval message, IDocumentStore store, CancellationToken ct) =>
        ApprovalDecisions.ExpireAsync(store, message.RunId, message.ApprovalId, ct);
}

public static class ApprovalDecisions
{
    public static async Task<bool> ExpireAsync(IDocumentStore store, Guid runId, Guid approvalId, CancellationToken ct)
    {
        await using var session = store.LightweightSession();
        var stream = await session.Events.FetchForWriting<Run>(runId, ct);
        if (stream.Aggregate is not { Status: RunStatus.AwaitingApproval } run || run.ApprovalId != approvalId) return false;
        stream.AppendOne(new RunExpired(runId, approvalId));
        RunJournal.Notify(session, runId);
        try
        {
            await session.SaveChangesAsync(ct);
            return true;
        }
        catch (Exception e) when (AgentArtifacts.Api.Infrastructure.Concurrency.IsConflict(e))
        {
            return false;  // decided (or expired) by someone else in between
        }
    }
}
