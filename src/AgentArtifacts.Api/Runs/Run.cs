using System.Text.Json.Nodes;
using JasperFx.Events;
using Marten;

namespace AgentArtifacts.Api.Runs;

// The run stream: one per invocation of an artifact, from request to its end.

public enum RunStatus { Pending, AwaitingApproval, Running, Completed, Failed, Cancelled, Expired }

/// <summary>
/// An invocation was accepted. <c>Caller</c> is the principal it runs as (a key stays narrowed by its scopes when the run
/// executes later); <c>ParentRunId</c> links a tool call's run to the agent run that made it.
/// </summary>
public sealed record RunRequested(Guid RunId, Guid ArtifactId, long ArtifactVersion, string Operation, string Kind, JsonNode? Input, string Mode,
    Caller? Caller = null, Guid? ParentRunId = null);
public sealed record RunStarted(Guid RunId, int Attempt);
/// <summary>An attempt failed in a way worth retrying (unreachable, 5xx, timeout); another attempt follows after <c>RetryAfterMs</c>.</summary>
public sealed record RunAttemptFailed(Guid RunId, int Attempt, JsonObject Error, int RetryAfterMs);
public sealed record RunCompleted(Guid RunId, JsonNode? Output);
/// <summary>The target failed: <c>Error</c> is problem-shaped (<c>type</c>, <c>title</c>, <c>status</c>, <c>detail</c>, <c>code</c>).</summary>
public sealed record RunFailed(Guid RunId, JsonObject Error);
/// <summary>Cancelled by its caller (<c>Error.code</c> <c>run_cancelled</c>).</summary>
public sealed record RunCancelled(Guid RunId, JsonObject Error);
public sealed record RunApprovalRequested(Guid RunId, Guid ApprovalId, DateTimeOffset ExpiresAt);
public sealed record RunApproved(Guid RunId, Guid ApprovalId, string? Note);
/// <summary>An approver said no: the run ends <c>cancelled</c> with <c>error.code</c> <c>approval_rejected</c>, never executed.</summary>
public sealed record RunRejected(Guid RunId, Guid ApprovalId, string? Note);
/// <summary>Nobody decided before the approval expired: the run never executes.</summary>
public sealed record RunExpired(Guid RunId, Guid ApprovalId);

/// <summary>A run as of its latest event: the inline snapshot <c>GET /runs/{id}</c> reads.</summary>
public sealed class Run
{
    public Guid Id { get; set; }
    public Guid ArtifactId { get; set; }
    public long ArtifactVersion { get; set; }
    public string Operation { get; set; } = "";
    public string Kind { get; set; } = "";
    public string Mode { get; set; } = "";
    public JsonNode? Input { get; set; }
    public RunStatus Status { get; set; }
    public JsonNode? Output { get; set; }
    public JsonObject? Error { get; set; }
    public int Attempts { get; set; }
    public Guid CallerId { get; set; }
    public Caller? Caller { get; set; }
    public Guid? ParentRunId { get; set; }
    public Guid? ApprovalId { get; set; }
    public DateTimeOffset? ApprovalExpiresAt { get; set; }
    public string? ApprovalDecision { get; set; }
    public Guid? ApprovalDecidedBy { get; set; }
    public string? ApprovalNote { get; set; }
    public DateTimeOffset RequestedAt { get; set; }
    public DateTimeOffset? StartedAt { get; set; }
    public DateTimeOffset? FinishedAt { get; set; }
    /// <summary>The stream version: the sequence of the run's latest event (SSE <c>id:</c>).</summary>
    public long Version { get; set; }

    public bool IsFinished => Status is RunStatus.Completed or RunStatus.Failed or RunStatus.Cancelled or RunStatus.Expired;

    public static Run Create(IEvent<RunRequested> e) => new()
    {
        Id = e.Data.RunId,
        ArtifactId = e.Data.ArtifactId,
        ArtifactVersion = e.Data.ArtifactVersion,
        Operation = e.Data.Operation,
        Kind = e.Data.Kind,
        Mode = e.Data.Mode,
        Input = e.Data.Input,
        Status = RunStatus.Pending,
        CallerId = Guid.TryParse(e.UserName, out var caller) ? caller : e.Data.Caller?.Id ?? Guid.Empty,
        Caller = e.Data.Caller,
        ParentRunId = e.Data.ParentRunId,
        RequestedAt = e.Timestamp,
    };

    public void Apply(IEvent<RunStarted> e) => (Status, Attempts, StartedAt) = (RunStatus.Running, e.Data.Attempt, StartedAt ?? e.Timestamp);
    public void Apply(RunAttemptFailed e) => (Status, Error) = (RunStatus.Pending, e.Error);
    public void Apply(IEvent<RunCompleted> e) => (Status, Output, Error, FinishedAt) = (RunStatus.Completed, e.Data.Output, null, e.Timestamp);
    public void Apply(IEvent<RunFailed> e) => (Status, Error, FinishedAt) = (RunStatus.Failed, e.Data.Error, e.Timestamp);
    public void Apply(IEvent<RunCancelled> e) => (Status, Error, FinishedAt) = (RunStatus.Cancelled, e.Data.Error, e.Timestamp);
    public void Apply(RunApprovalRequested e) => (Status, ApprovalId, ApprovalExpiresAt) = (RunStatus.AwaitingApproval, e.ApprovalId, e.ExpiresAt);
    public void Apply(IEvent<RunApproved> e) => (Status, ApprovalDecision, ApprovalDecidedBy, ApprovalNote) =
        (RunStatus.Pending, "approved", ActorOf(e), e.Data.Note);
    public void Apply(IEvent<RunRejected> e)
    {
        (Status, FinishedAt, ApprovalDecision, ApprovalDecidedBy, ApprovalNote) = (RunStatus.Cancelled, e.Timestamp, "rejected", ActorOf(e), e.Data.Note);
        Error = RunResult.Failed("approval_rejected", "An approver rejected the run; it never ran.").Error;
    }
    public void Apply(IEvent<RunExpired> e)
    {
        (Status, FinishedAt, ApprovalDecision) = (RunStatus.Expired, e.Timestamp, "expired");
        Error = RunResult.Failed("approval_expired", "Nobody approved the run before its approval expired; it never ran.").Error;
    }

    private static Guid? ActorOf(IEvent e) => Guid.TryParse(e.UserName, out var actor) ? actor : null;
}

public sealed record RunResponse(Guid Id, Guid ArtifactId, long ArtifactVersion, string Operation, string Kind, string Mode, RunStatus Status,
    JsonNode? Input, JsonNode? Output, JsonObject? Error, int Attempts, Guid CallerId, Guid? ParentRunId, Guid? ApprovalId,
    DateTimeOffset RequestedAt, DateTimeOffset? StartedAt, DateTimeOffset? FinishedAt)
{
    public static RunResponse From(Run r) => new(r.Id, r.ArtifactId, r.ArtifactVersion, r.Operation, r.Kind, r.Mode, r.Status, r.Input, r.Output,
        r.Error, r.Attempts, r.CallerId, r.ParentRunId, r.ApprovalId, r.RequestedAt, r.StartedAt, r.FinishedAt);
}

public sealed class RunStream : IConfigureMarten
{
    public void Configure(IServiceProvider services, StoreOptions options)
    {
        options.Projections.Snapshot<Run>(JasperFx.Events.Projections.SnapshotLifecycle.Inline);
        options.Schema.For<Run>().Index(x => x.ArtifactId).Index(x => x.CallerId).Index(x => x.ParentRunId!).Index(x => x.ApprovalId!)
            .Index(x => x.Status);
    }
}
