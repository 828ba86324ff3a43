using JasperFx.Events;
using Marten;
using Marten.Events.Aggregation;

namespace AgentArtifacts.Api.Artifacts;

/// <summary>The listing read model: one row per artifact, kept by an async projection, without context or content.</summary>
public sealed class ArtifactSummary : IArtifactHead
{
    public Guid Id { get; set; }
    /// <summary>The global event sequence of the creation: a stable, monotonic key for cursor paging.</summary>
    public long Sequence { get; set; }
    public Guid? ContainerId { get; set; }
    public string ContentType { get; set; } = "";
    public string Title { get; set; } = "";
    public string? Description { get; set; }
    public IReadOnlyList<string> Tags { get; set; } = [];
    public ArtifactState State { get; set; }
    public ArtifactState StateBeforeArchive { get; set; }
    public int Revision { get; set; }
    public int BaseRevision { get; set; }
    public bool BaseRevisionArchived { get; set; }
    public Guid? OriginId { get; set; }
    public IReadOnlyList<Guid> TargetCollectionIds { get; set; } = [];
    public long Version { get; set; }
    public Guid CreatedBy { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
}

public sealed class ArtifactSummaryProjection : SingleStreamProjection<ArtifactSummary, Guid>
{
    public static ArtifactSummary Create(IEvent<ArtifactCreated> e) => new()
    {
        Id = e.Data.ArtifactId,
        Sequence = e.Sequence,
        ContainerId = e.Data.ContainerId,
        ContentType = e.Data.ContentType,
        Title = e.Data.Title,
        Description = e.Data.Description,
        Tags = e.Data.Tags,
        State = ArtifactState.Draft,
        CreatedBy = Guid.TryParse(e.UserName, out var actor) ? actor : Guid.Empty,
        CreatedAt = e.Timestamp,
        UpdatedAt = e.Timestamp,
        Version = e.Version,
    };

    public static ArtifactSummary Create(IEvent<ArtifactCheckedOut> e) => new()
    {
        Id = e.Data.ArtifactId,
        Sequence = e.Sequence,
        OriginId = e.Data.OriginId,
        ContainerId = e.Data.WorkspaceId,
        ContentType = e.Data.ContentType,
        Title = e.Data.Title,
        Description = e.Data.Description,
        Tags = e.Data.Tags,
        State = ArtifactState.Committed,
        Revision = e.Data.BaseRevision,
        BaseRevision = e.Data.BaseRevision,
        CreatedBy = Guid.TryParse(e.UserName, out var actor) ? actor : Guid.Empty,
        CreatedAt = e.Timestamp,
        UpdatedAt = e.Timestamp,
        Version = e.Version,
    };

    public static void Apply(IEvent<ArtifactRetitled> e, ArtifactSummary s) => Edited(s, e).Title = e.Data.Title;
    public static void Apply(IEvent<ArtifactDescribed> e, ArtifactSummary s) => Edited(s, e).Description = e.Data.Description;
    public static void Apply(IEvent<ArtifactRetagged> e, ArtifactSummary s) => Edited(s, e).Tags = e.Data.Tags;
    public static void Apply(IEvent<ArtifactContextChanged> e, ArtifactSummary s) => Edited(s, e);
    public static void Apply(IEvent<ArtifactContentRevised> e, ArtifactSummary s) => Edited(s, e);
    public static void Apply(IEvent<ArtifactMoved> e, ArtifactSummary s) => Touched(s, e).ContainerId = e.Data.ToContainerId;
    public static void Apply(IEvent<WorkspaceTargetsChanged> e, ArtifactSummary s) => Touched(s, e).TargetCollectionIds = e.Data.CollectionIds;

    public static void Apply(IEvent<ArtifactArchived> e, ArtifactSummary s) => ArtifactLifecycle.Archived(Touched(s, e));
    public static void Apply(IEvent<ArtifactRestored> e, ArtifactSummary s) => ArtifactLifecycle.Restored(Touched(s, e));

    public static void Apply(IEvent<ArtifactCommitted> e, ArtifactSummary s)
    {
        s.Version = e.Version;
        if (ArtifactLifecycle.Committed(s, e.Data)) (Touched(s, e).Title, s.Description, s.Tags) = (e.Data.Title, e.Data.Description, e.Data.Tags);
    }

    public static void Apply(IEvent<ArtifactReverted> e, ArtifactSummary s)
    {
        ArtifactLifecycle.Reverted(s, e.Data);
        (Touched(s, e).Title, s.Description, s.Tags) = (e.Data.Title, e.Data.Description, e.Data.Tags);
    }

    private static ArtifactSummary Edited(ArtifactSummary s, IEvent e)
    {
        ArtifactLifecycle.Edited(s);
        return Touched(s, e);
    }

    private static ArtifactSummary Touched(ArtifactSummary s, IEvent e)
    {
        s.UpdatedAt = e.Timestamp;
        s.Version = e.Version;
        return s;
    }
}

public sealed class ArtifactSummaryRegistration : IConfigureMarten
{
    public void Configure(IServiceProvider services, StoreOptions options)
    {
        options.Projections.Add<ArtifactSummaryProjection>(JasperFx.Events.Projections.ProjectionLifecycle.Async);
        options.Schema.For<ArtifactSummary>()
            .Index(x => x.ContainerId)
            .Index(x => x.CreatedBy)
            .Index(x => x.Sequence);
    }
}
