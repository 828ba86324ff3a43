using System.Text.Json.Nodes;
using JasperFx.Events;
using Marten;

namespace AgentArtifacts.Api.Artifacts;

// The artifact stream: one per artifact, workspaces and collections included (they are artifacts too).
// Events are facts; an edit appends one event per field it changes, so history reads as what happened.

public sealed record ArtifactCreated(Guid ArtifactId, Guid? ContainerId, string ContentType, string Title, string? Description,
    IReadOnlyList<string> Tags, JsonObject Context, string? Content);
public sealed record ArtifactRetitled(Guid ArtifactId, string Title);
public sealed record ArtifactDescribed(Guid ArtifactId, string? Description);
public sealed record ArtifactRetagged(Guid ArtifactId, IReadOnlyList<string> Tags);
public sealed record ArtifactContextChanged(Guid ArtifactId, JsonObject Context);
public sealed record ArtifactContentRevised(Guid ArtifactId, string? Content);
public sealed record ArtifactArchived(Guid ArtifactId);
public sealed record ArtifactRestored(Guid ArtifactId);
public sealed record ArtifactMoved(Guid ArtifactId, Guid FromContainerId, Guid ToContainerId);
public sealed record WorkspaceTargetsChanged(Guid ArtifactId, IReadOnlyList<Guid> CollectionIds);

/// <summary>A committed artifact brought into another workspace as a draft copy of revision <c>BaseRevision</c> of <c>OriginId</c>.</summary>
public sealed record ArtifactCheckedOut(Guid ArtifactId, Guid OriginId, Guid WorkspaceId, int BaseRevision, string ContentType, string Title,
    string? Description, IReadOnlyList<string> Tags, JsonObject Context, string? Content);

/// <summary>
/// A commit made revision <c>Revision</c> of the artifact <c>LineId</c> from the draft <c>SourceId</c>. Appended to the line's stream
/// and, when the draft is a checked-out copy, to the copy's stream too. Carries the whole revision, so a revision is one event.
/// </summary>
public sealed record ArtifactCommitted(Guid ArtifactId, Guid LineId, Guid SourceId, Guid CommitId, int Revision, ChangeKind Kind,
    Guid WorkspaceId, IReadOnlyList<Guid> CollectionIds, string ContentType, string Title, string? Description, IReadOnlyList<string> Tags,
    JsonObject Context, string? Content);

/// <summary>The draft was discarded: the artifact is back at revision <c>Revision</c>, whose fields the event carries.</summary>
public sealed record ArtifactReverted(Guid ArtifactId, int Revision, bool Archived, string Title, string? Description,
    IReadOnlyList<string> Tags, JsonObject Context, string? Content);

/// <summary>
/// Where an artifact stands: <c>draft</c> (has changes not yet committed), <c>committed</c> (equal to its last revision),
/// <c>archived</c> (archived; restore brings it back).
/// </summary>
public enum ArtifactState { Draft, Committed, Archived }

/// <summary>What a commit does to an artifact.</summary>
public enum ChangeKind { Added, Modified, Archived }

/// <summary>
/// The artifact as of its latest event: the write model that decisions use, kept as an inline snapshot so a read of
/// one artifact is one primary-key lookup.
/// </summary>
public sealed class Artifact : IArtifactHead
{
    public Guid Id { get; set; }
    public long Version { get; set; }
    public Guid? ContainerId { get; set; }
    public string ContentType { get; set; } = "";
    public string Title { get; set; } = "";
    public string? Description { get; set; }
    public IReadOnlyList<string> Tags { get; set; } = [];
    public JsonObject Context { get; set; } = [];
    public string? Content { get; set; }
    public ArtifactState State { get; set; }
    public ArtifactState StateBeforeArchive { get; set; }
    /// <summary>The last committed revision of the artifact's line that this artifact knows of; 0 before the first commit.</summary>
    public int Revision { get; set; }
    /// <summary>The revision the head (a draft, or the committed state) started from; 0 for a never-committed draft.</summary>
    public int BaseRevision { get; set; }
    /// <summary>Whether revision <c>BaseRevision</c> was an archive.</summary>
    public bool BaseRevisionArchived { get; set; }
    /// <summary>For a checked-out copy, the artifact whose revisions it drafts; null for an original.</summary>
    public Guid? OriginId { get; set; }
    public IReadOnlyList<Guid> TargetCollectionIds { get; set; } = [];
    public Guid CreatedBy { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public Guid UpdatedBy { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }

    public bool IsContainer => ContentType is Types.TypeRegistry.Workspace or Types.TypeRegistry.Collection;
    public bool IsWorkspace => ContentType == Types.TypeRegistry.Workspace;
    /// <summary>The artifact whose revision line this head belongs to: itself, or the origin of a copy.</summary>
    public Guid LineId => OriginId ?? Id;

    /// <summary>What committing this artifact now would publish; null when its head equals revision <c>BaseRevision</c>.</summary>
    public ChangeKind? PendingChange => ArtifactLifecycle.PendingChange(this);

    public static Artifact Create(IEvent<ArtifactCreated> e) => new Artifact
    {
        Id = e.Data.ArtifactId,
        ContainerId = e.Data.ContainerId,
        ContentType = e.Data.ContentType,
        Title = e.Data.Title,
        Description = e.Data.Description,
        Tags = e.Data.Tags,
        Context = e.Data.Context,
        Content = e.Data.Content,
        State = ArtifactState.Draft,
        CreatedBy = Actor(e),
        CreatedAt = e.Timestamp,
    }.Touched(e);

    public static Artifact Create(IEvent<ArtifactCheckedOut> e) => new Artifact
    {
        Id = e.Data.ArtifactId,
        OriginId = e.Data.OriginId,
        ContainerId = e.Data.WorkspaceId,
        ContentType = e.Data.ContentType,
        Title = e.Data.Title,
        Description = e.Data.Description,
        Tags = e.Data.Tags,
        Context = e.Data.Context,
        Content = e.Data.Content,
        State = ArtifactState.Committed,
        Revision = e.Data.BaseRevision,
        BaseRevision = e.Data.BaseRevision,
        CreatedBy = Actor(e),
        CreatedAt = e.Timestamp,
    }.Touched(e);

    public void Apply(IEvent<ArtifactRetitled> e) => Edited(e).Title = e.Data.Title;
    public void Apply(IEvent<ArtifactDescribed> e) => Edited(e).Description = e.Data.Description;
    public void Apply(IEvent<ArtifactRetagged> e) => Edited(e).Tags = e.Data.Tags;
    public void Apply(IEvent<ArtifactContextChanged> e) => Edited(e).Context = e.Data.Context;
    public void Apply(IEvent<ArtifactContentRevised> e) => Edited(e).Content = e.Data.Content;
    public void Apply(IEvent<ArtifactMoved> e) => Touched(e).ContainerId = e.Data.ToContainerId;
    public void Apply(IEvent<WorkspaceTargetsChanged> e) => Touched(e).TargetCollectionIds = e.Data.CollectionIds;

    public void Apply(IEvent<ArtifactArchived> e) => ArtifactLifecycle.Archived(Touched(e));
    public void Apply(IEvent<ArtifactRestored> e) => ArtifactLifecycle.Restored(Touched(e));

    public void Apply(IEvent<ArtifactCommitted> e)
    {
        if (!ArtifactLifecycle.Committed(this, e.Data)) return;
        (Title, Description, Tags, Context, Content) = (e.Data.Title, e.Data.Description, e.Data.Tags, e.Data.Context, e.Data.Content);
        Touched(e);
    }

    public void Apply(IEvent<ArtifactReverted> e)
    {
        ArtifactLifecycle.Reverted(this, e.Data);
        (Title, Description, Tags, Context, Content) = (e.Data.Title, e.Data.Description, e.Data.Tags, e.Data.Context, e.Data.Content);
        Touched(e);
    }

    private Artifact Edited(IEvent e)
    {
        ArtifactLifecycle.Edited(this);
        return Touched(e);
    }

    private Artifact Touched(IEvent e)
    {
        UpdatedBy = Actor(e);
        UpdatedAt = e.Timestamp;
        return this;
    }

    private static Guid Actor(IEvent e) => Guid.TryParse(e.UserName, out var id) ? id : Guid.Empty;
}

/// <summary>What the lifecycle rules read and change: shared by the write model and the listing read model.</summary>
public interface IArtifactHead
{
    Guid Id { get; }
    Guid? OriginId { get; }
    ArtifactState State { get; set; }
    /// <summary>The state an archive interrupted, so that restore returns to it.</summary>
    ArtifactState StateBeforeArchive { get; set; }
    int Revision { get; set; }
    int BaseRevision { get; set; }
    bool BaseRevisionArchived { get; set; }
}

/// <summary>
/// The lifecycle of an artifact's head, in one place: drafts, revisions, archive and restore. Both <see cref="Artifact"/>
/// and <see cref="ArtifactSummary"/> apply events through these rules, so the two can never disagree on a state.
/// </summary>
public static class ArtifactLifecycle
{
    /// <summary>What committing the head now would publish; null when it equals revision <c>BaseRevision</c>.</summary>
    public static ChangeKind? PendingChange(IArtifactHead h) => h.State switch
    {
        ArtifactState.Draft => h.BaseRevision == 0 && h.OriginId is null ? ChangeKind.Added : ChangeKind.Modified,
        ArtifactState.Archived when h.BaseRevision > 0 && !h.BaseRevisionArchived => ChangeKind.Archived,
        _ => null,
    };

    /// <summary>Editing a committed artifact makes it a draft again.</summary>
    public static void Edited(IArtifactHead h)
    {
        if (h.State == ArtifactState.Committed) h.State = ArtifactState.Draft;
    }

    public static void Archived(IArtifactHead h) => (h.StateBeforeArchive, h.State) = (h.State, ArtifactState.Archived);

    /// <summary>Restoring an artifact whose archive was already committed is a change the next commit publishes.</summary>
    public static void Restored(IArtifactHead h) => h.State = h.BaseRevisionArchived ? ArtifactState.Draft : h.StateBeforeArchive;

    /// <summary>
    /// A new revision of the head's line. The head takes it (true: adopt its fields) when the revision is its own draft's,
    /// or when it has no change of its own; a head with a pending change keeps it and only learns the line moved on, so
    /// its commit will conflict.
    /// </summary>
    public static bool Committed(IArtifactHead h, ArtifactCommitted c)
    {
        h.Revision = c.Revision;
        if (c.SourceId != h.Id && PendingChange(h) is not null) return false;
        AtRevision(h, c.Revision, c.Kind == ChangeKind.Archived);
        return true;
    }

    public static void Reverted(IArtifactHead h, ArtifactReverted r) => AtRevision(h, r.Revision, r.Archived);

    private static void AtRevision(IArtifactHead h, int revision, bool archived)
    {
        (h.BaseRevision, h.BaseRevisionArchived, h.StateBeforeArchive) = (revision, archived, ArtifactState.Committed);
        h.State = archived ? ArtifactState.Archived : ArtifactState.Committed;
    }
}

public sealed class ArtifactStream : IConfigureMarten
{
    public void Configure(IServiceProvider services, StoreOptions options)
    {
        options.Projections.Snapshot<Artifact>(JasperFx.Events.Projections.SnapshotLifecycle.Inline);
        // Container: a commit finds a workspace's drafts; content type: the authorization check finds group artifacts.
        options.Schema.For<Artifact>().Index(x => x.ContainerId).Index(x => x.ContentType);
    }
}
