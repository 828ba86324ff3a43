using System.Text.Json.Nodes;
using JasperFx.Events;
using Marten;

namespace AgentArtifacts.Api.Runs;

// The run stream: one per invocation of an artifact, from request to its end.

public enum RunStatus { Pending, AwaitingApproval, Running, Completed, Failed, Cancelled, Expired }

public sealed record RunRequested(Guid RunId, Guid ArtifactId, long ArtifactVersion, string Operation, string Kind, JsonNode? Input, string Mode);
public sealed record RunStarted(Guid RunId, int Attempt);
public sealed record RunCompleted(Guid RunId, JsonNode? Output);
/// <summary>The target failed: <c>Error</c> is problem-shaped (<c>type</c>, <c>title</c>, <c>status</c>, <c>detail</c>, <c>code</c>).</summary>
public sealed record RunFailed(Guid RunId, JsonObject Error);

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
    public DateTimeOffset RequestedAt { get; set; }
    public DateTimeOffset? StartedAt { get; set; }
    public DateTimeOffset? FinishedAt { get; set; }

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
        CallerId = Guid.TryParse(e.UserName, out var caller) ? caller : Guid.Empty,
        RequestedAt = e.Timestamp,
    };

    public void Apply(IEvent<RunStarted> e) => (Status, Attempts, StartedAt) = (RunStatus.Running, e.Data.Attempt, StartedAt ?? e.Timestamp);
    public void Apply(IEvent<RunCompleted> e) => (Status, Output, FinishedAt) = (RunStatus.Completed, e.Data.Output, e.Timestamp);
    public void Apply(IEvent<RunFailed> e) => (Status, Error, FinishedAt) = (RunStatus.Failed, e.Data.Error, e.Timestamp);
}

public sealed record RunResponse(Guid Id, Guid ArtifactId, long ArtifactVersion, string Operation, string Kind, string Mode, RunStatus Status,
    JsonNode? Input, JsonNode? Output, JsonObject? Error, int Attempts, Guid CallerId, DateTimeOffset RequestedAt, DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt)
{
    public static RunResponse From(Run r) => new(r.Id, r.ArtifactId, r.ArtifactVersion, r.Operation, r.Kind, r.Mode, r.Status, r.Input, r.Output,
        r.Error, r.Attempts, r.CallerId, r.RequestedAt, r.StartedAt, r.FinishedAt);
}

public sealed class RunStream : IConfigureMarten
{
    public void Configure(IServiceProvider services, StoreOptions options)
    {
        options.Projections.Snapshot<Run>(JasperFx.Events.Projections.SnapshotLifecycle.Inline);
        options.Schema.For<Run>().Index(x => x.ArtifactId).Index(x => x.CallerId);
    }
}
