using System.Text.Json.Nodes;
using JasperFx.Events;
using Marten;

namespace AgentArtifacts.Api.Runs;

// The run stream: one per invocation of an artifact, from request to its end.

/// <summary>
/// Where a run stands: <c>pending</c> (queued, or waiting to retry), <c>awaiting_approval</c>, <c>running</c>, and the final
/// <c>completed</c>, <c>failed</c>, <c>cancelled</c> (by its caller, or rejected by an approver) and <c>expired</c> (nobody approved it in time).
/// </summary>
public enum RunStatus { Pending, AwaitingApproval, Running, Completed, Failed, Cancelled, Expired }

/// <summary>
/// An invocation was accepted. <c>Caller</c> is the principal it runs as (a key stays narrowed by its scopes when the run
/// executes later); <c>ParentRunId</c> links a tool call's run to the agent run that made it. <c>Revision</c> is the committed
/// revision the run was pinned to (then <c>ArtifactVersion</c> is that revision's event); null for a run of the head.
/// </summary>
public sealed record RunRequested(Guid RunId, Guid ArtifactId, long ArtifactVersion, string Operation, string Kind, JsonNode? Input, string Mode,
    Caller? Caller = null, Guid? ParentRunId = null, int? Revision = null);
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
    /// <summary>The committed revision the run was pinned to; null for a run of the head.</summary>
    public int? Revision { get; set; }
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
        Revision = e.Data.Revision,
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

/// <summary>A run: one execution of an artifact's operation, from request to result.</summary>
/// <param name="Id">The run's id.</param>
/// <param name="ArtifactId">The artifact that runs.</param>
/// <param name="ArtifactVersion">The artifact's version when the run was requested: what runs is the artifact as it was then.</param>
/// <param name="Revision">The committed revision that runs, when the invoke pinned one (<c>revision</c>); null for a run of the artifact's head.</param>
/// <param name="Operation">The operation that runs (<c>invoke</c>, or another the artifact's type declares).</param>
/// <param name="Kind">How it is executed: <c>http</c> (an HTTP tool), <c>mcp_tool</c> (a tool on an MCP server), <c>agent</c>, or <c>native</c> (by this service).</param>
/// <param name="Mode">How it was asked for: <c>sync</c>, <c>async</c>, or <c>stream</c> (with <c>Accept: text/event-stream</c>).</param>
/// <param name="Status">Where the run stands.</param>
/// <param name="Input">The input the run was invoked with, as sent; null when none.</param>
/// <param name="Output">What the target answered (any JSON) once the run completed; null before, and when it failed or was cancelled.</param>
/// <param name="Error">Why it failed or was cancelled, problem-shaped (<c>type</c>, <c>title</c>, <c>status</c>, <c>detail</c>, <c>code</c>); while it is retried, the last failed attempt's error; null otherwise.</param>
/// <param name="Attempts">How many attempts started (0 before the first; more than 1 after retries).</param>
/// <param name="CallerId">The principal it runs as: the user (an API key's owner) or server that requested it.</param>
/// <param name="ParentRunId">For a tool call made by an agent's run, that run; null otherwise.</param>
/// <param name="ApprovalId">The approval the run waits for or waited for (GET /approvals); null when its operation needs none.</param>
/// <param name="RequestedAt">When it was requested (ISO 8601, UTC).</param>
/// <param name="StartedAt">When its first attempt started (ISO 8601, UTC); null until then.</param>
/// <param name="FinishedAt">When it ended (ISO 8601, UTC); null while not finished.</param>
public sealed record RunResponse(Guid Id, Guid ArtifactId, long ArtifactVersion, int? Revision, string Operation, string Kind, string Mode, RunStatus Status,
    JsonNode? Input, JsonNode? Output, JsonObject? Error, int Attempts, Guid CallerId, Guid? ParentRunId, Guid? ApprovalId,
    DateTimeOffset RequestedAt, DateTimeOffset? StartedAt, DateTimeOffset? FinishedAt)
{
    public static RunResponse From(Run r) => new(r.Id, r.ArtifactId, r.ArtifactVersion, r.Revision, r.Operation, r.Kind, r.Mode, r.Status, r.Input, r.Output,
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
