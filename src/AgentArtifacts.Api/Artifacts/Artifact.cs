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

public enum ArtifactState { Draft, Committed, Archived }

/// <summary>
/// The artifact as of its latest event: the write model that decisions use, kept as an inline snapshot so a read of
/// one artifact is one primary-key lookup.
/// </summary>
public sealed class Artifact
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
    /// <summary>The state an archive interrupted, so that restore returns to it.</summary>
    public ArtifactState StateBeforeArchive { get; set; }
    /// <summary>The last committed revision; 0 before the first commit.</summary>
    public int Revision { get; set; }
    public IReadOnlyList<Guid> TargetCollectionIds { get; set; } = [];
    public Guid CreatedBy { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public Guid UpdatedBy { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }

    public bool IsContainer => ContentType is Types.TypeRegistry.Workspace or Types.TypeRegistry.Collection;
    public bool IsWorkspace => ContentType == Types.TypeRegistry.Workspace;

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

    public void Apply(IEvent<ArtifactRetitled> e) => Edited(e).Title = e.Data.Title;
    public void Apply(IEvent<ArtifactDescribed> e) => Edited(e).Description = e.Data.Description;
    public void Apply(IEvent<ArtifactRetagged> e) => Edited(e).Tags = e.Data.Tags;
    public void Apply(IEvent<ArtifactContextChanged> e) => Edited(e).Context = e.Data.Context;
    public void Apply(IEvent<ArtifactContentRevised> e) => Edited(e).Content = e.Data.Content;
    public void Apply(IEvent<ArtifactMoved> e) => Touched(e).ContainerId = e.Data.ToContainerId;
    public void Apply(IEvent<WorkspaceTargetsChanged> e) => Touched(e).TargetCollectionIds = e.Data.CollectionIds;

    public void Apply(IEvent<ArtifactArchived> e)
    {
        StateBeforeArchive = State;
        Touched(e).State = ArtifactState.Archived;
    }

    public void Apply(IEvent<ArtifactRestored> e) => Touched(e).State = StateBeforeArchive;

    /// <summary>Editing a committed artifact makes it a draft again.</summary>
    private Artifact Edited(IEvent e)
    {
        if (State == ArtifactState.Committed) State = ArtifactState.Draft;
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

public sealed class ArtifactStream : IConfigureMarten
{
    public void Configure(IServiceProvider services, StoreOptions options)
    {
        options.Projections.Snapshot<Artifact>(JasperFx.Events.Projections.SnapshotLifecycle.Inline);
    }
}
