using System.Text.Json.Nodes;
using Marten;
using AgentArtifacts.Api.Runs;

namespace AgentArtifacts.Api.Approvals;

// An approval lives in its run's stream (RunApprovalRequested, then RunApproved, RunRejected or RunExpired); the run's
// snapshot carries it, so an approval is read from the runs table by its own id.

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
