using JasperFx.Events;
using Marten;
using AgentArtifacts.Api.Artifacts;

namespace AgentArtifacts.Api.Commits;

// The commit stream: one per commit, one event. The commit record Agience never writes: who, why, when, and what changed.

/// <summary>A principal in the chain a commit was made through: a user, an API key or a server.</summary>
/// <param name="Type">What the principal is: <c>user</c>, <c>apiKey</c> or <c>server</c>.</param>
/// <param name="Id">The user's, API key's or server credential's id.</param>
public sealed record CommitActor(string Type, Guid Id);

/// <summary>One artifact a commit changed: its draft, the revision it started from and the one it made.</summary>
/// <param name="ArtifactId">The artifact that gained the revision (the original, when the draft is a checked-out copy).</param>
/// <param name="DraftId">The draft that was committed: the artifact itself, or a checked-out copy of it.</param>
/// <param name="Title">The artifact's title at the new revision.</param>
/// <param name="ContentType">The artifact's content type.</param>
/// <param name="Kind">What the commit did to the artifact: added, modified, or archived it.</param>
/// <param name="FromRevision">The revision the draft started from; 0 for a new artifact.</param>
/// <param name="ToRevision">The revision the commit made.</param>
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

/// <summary>A commit: who published which drafts of a workspace, into which collections, when and why.</summary>
/// <param name="Id">The commit's id.</param>
/// <param name="WorkspaceId">The workspace whose drafts it committed.</param>
/// <param name="CollectionIds">The collections that received the new revisions (the workspace's targets then; possibly empty).</param>
/// <param name="AuthorId">The user (an API key's owner) or server credential that made it.</param>
/// <param name="Actors">The chain it was made through, outermost first: a key's owner then the key, or a user or a server alone.</param>
/// <param name="Message">The commit message.</param>
/// <param name="CommittedAt">When it was made (ISO 8601, UTC).</param>
/// <param name="Items">Each artifact it changed.</param>
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
