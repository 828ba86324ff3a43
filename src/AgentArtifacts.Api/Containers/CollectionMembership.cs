using JasperFx.Events;
using Marten;
using Marten.Events.Projections;
using AgentArtifacts.Api.Artifacts;

namespace AgentArtifacts.Api.Containers;

/// <summary>
/// An artifact in a collection, at the revision last published there: collections hold committed revisions only, so reading
/// one never shows anyone's draft. One row per (collection, artifact), written by an async projection of the revision events.
/// </summary>
public sealed class CollectionItem
{
    /// <summary><c>{collectionId}:{artifactId}</c>.</summary>
    public string Id { get; set; } = "";
    public Guid CollectionId { get; set; }
    public Guid ArtifactId { get; set; }
    /// <summary>The global sequence of the latest publication here: the key for cursor paging.</summary>
    public long Sequence { get; set; }
    public Guid WorkspaceId { get; set; }
    public string ContentType { get; set; } = "";
    public string Title { get; set; } = "";
    public string? Description { get; set; }
    public IReadOnlyList<string> Tags { get; set; } = [];
    public ArtifactState State { get; set; }
    public int Revision { get; set; }
    public long Version { get; set; }
    public Guid CommitId { get; set; }
    public Guid CommittedBy { get; set; }
    public DateTimeOffset CommittedAt { get; set; }
}

/// <summary>Each revision on an artifact's own line replaces its row in every collection the commit published into.</summary>
public sealed partial class CollectionMembershipProjection : EventProjection
{
    public void Project(IEvent<ArtifactCommitted> e, IDocumentOperations ops)
    {
        var c = e.Data;
        if (c.ArtifactId != c.LineId) return;  // a checked-out copy's echo of the revision
        foreach (var collectionId in c.CollectionIds)
        {
            ops.Store(new CollectionItem
            {
                Id = $"{collectionId}:{c.LineId}",
                CollectionId = collectionId,
                ArtifactId = c.LineId,
                Sequence = e.Sequence,
                WorkspaceId = c.WorkspaceId,
                ContentType = c.ContentType,
                Title = c.Title,
                Description = c.Description,
                Tags = c.Tags,
                State = c.Kind == ChangeKind.Archived ? ArtifactState.Archived : ArtifactState.Committed,
                Revision = c.Revision,
                Version = e.Version,
                CommitId = c.CommitId,
                CommittedBy = Guid.TryParse(e.UserName, out var actor) ? actor : Guid.Empty,
                CommittedAt = e.Timestamp,
            });
        }
    }
}

public sealed class CollectionMembershipRegistration : IConfigureMarten
{
    public void Configure(IServiceProvider services, StoreOptions options)
    {
        options.Projections.Add<CollectionMembershipProjection>(JasperFx.Events.Projections.ProjectionLifecycle.Async);
        options.Schema.For<CollectionItem>().Index(x => x.CollectionId).Index(x => x.Sequence);
    }
}
