using JasperFx.Events;
using Marten;
using AgentArtifacts.Api.Artifacts;

namespace AgentArtifacts.Api.Commits;

// The commit stream: one per commit, one event. The commit record Agience never writes: who, why, when, and what changed.

/// <summary>A principal in the chain a commit was made through: a user, an API key or a server.</summary>
public sealed record CommitActor(string Type, Guid Id);

/// <summary>One artifact a commit changed: its draft, the revision it started from and the one it made.</summary>
public sealed record CommitItem(Guid ArtifactId, Guid DraftId, string Title, string ContentType, ChangeKind Kind, int FromRevision, int ToRevision);

public sealed record CommitRecorded(Guid CommitId, Guid WorkspaceId, IReadOnlyList<Guid> CollectionIds, Guid AuthorId,
    IReadOnlyList<CommitActor> Actors, string Message, IReadOnlyList<CommitItem> Items);

/// <summary>
/// The commit as the API shows it. Read live from its one-event stream by id; listed from an async projection of the same
/// shape, whose <c>Sequence</c> (the event's global sequence) orders a collection's history.
/// </summary>
public sealed class Commit
{
    public Guid Id { get; set; }
    public long Sequence { get; set; }
    public Guid WorkspaceId { get; set; }
    public IReadOnlyList<Guid> CollectionIds { get; set; } = [];
    public Guid AuthorId { get; set; }
    public IReadOnlyList<CommitActor> Actors { get; set; } = [];
    public string Message { get; set; } = "";
    public DateTimeOffset CommittedAt { get; set; }
    public IReadOnlyList<CommitItem> Items { get; set; } = [];

    public static Commit Create(IEvent<CommitRecorded> e) => new()
    {
        Id = e.Data.CommitId,
        Sequence = e.Sequence,
        WorkspaceId = e.Data.WorkspaceId,
        CollectionIds = e.Data.CollectionIds,
        AuthorId = e.Data.AuthorId,
        Actors = e.Data.Actors,
        Message = e.Data.Message,
        CommittedAt = e.Timestamp,
        Items = e.Data.Items,
    };
}

public sealed record CommitResponse(Guid Id, Guid WorkspaceId, IReadOnlyList<Guid> CollectionIds, Guid AuthorId,
    IReadOnlyList<CommitActor> Actors, string Message, DateTimeOffset CommittedAt, IReadOnlyList<CommitItem> Items)
{
    public static CommitResponse From(Commit c) => new(c.Id, c.WorkspaceId, c.CollectionIds, c.AuthorId, c.Actors, c.Message, c.CommittedAt, c.Items);
}

public sealed class CommitStream : IConfigureMarten
{
    public void Configure(IServiceProvider services, StoreOptions options)
    {
        options.Projections.Snapshot<Commit>(JasperFx.Events.Projections.SnapshotLifecycle.Async);
        options.Schema.For<Commit>().Index(x => x.Sequence).Index(x => x.WorkspaceId);
    }
}
