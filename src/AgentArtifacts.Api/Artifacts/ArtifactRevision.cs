using System.Globalization;
using System.Security.Claims;
using System.Text.Json.Nodes;
using JasperFx.Events;
using Marten;
using Marten.Events.Projections;

namespace AgentArtifacts.Api.Artifacts;

/// <summary>One committed revision of an artifact: immutable, readable forever, kept inline with the commit that made it.</summary>
public sealed class ArtifactRevision
{
    /// <summary><c>{artifactId}:{revision}</c>, so a revision is one primary-key lookup.</summary>
    public string Id { get; set; } = "";
    public Guid ArtifactId { get; set; }
    public int Revision { get; set; }
    /// <summary>The artifact stream's version at this revision's event.</summary>
    public long Version { get; set; }
    public Guid CommitId { get; set; }
    public ChangeKind Kind { get; set; }
    public Guid WorkspaceId { get; set; }
    /// <summary>The collections this revision was published into: their readers may read it.</summary>
    public IReadOnlyList<Guid> CollectionIds { get; set; } = [];
    public string ContentType { get; set; } = "";
    public string Title { get; set; } = "";
    public string? Description { get; set; }
    public IReadOnlyList<string> Tags { get; set; } = [];
    public JsonObject Context { get; set; } = [];
    public string? Content { get; set; }
    public Guid CommittedBy { get; set; }
    public DateTimeOffset CommittedAt { get; set; }

    public static string IdOf(Guid artifactId, int revision) => $"{artifactId}:{revision.ToString(CultureInfo.InvariantCulture)}";
}

/// <summary>Stores a revision document for each revision event on the artifact's own line (not for the copies' echoes).</summary>
public sealed partial class ArtifactRevisionProjection : EventProjection
{
    public void Project(IEvent<ArtifactCommitted> e, IDocumentOperations ops)
    {
        var c = e.Data;
        if (c.ArtifactId != c.LineId) return;
        ops.Store(new ArtifactRevision
        {
            Id = ArtifactRevision.IdOf(c.LineId, c.Revision),
            ArtifactId = c.LineId,
            Revision = c.Revision,
            Version = e.Version,
            CommitId = c.CommitId,
            Kind = c.Kind,
            WorkspaceId = c.WorkspaceId,
            CollectionIds = c.CollectionIds,
            ContentType = c.ContentType,
            Title = c.Title,
            Description = c.Description,
            Tags = c.Tags,
            Context = c.Context,
            Content = c.Content,
            CommittedBy = Guid.TryParse(e.UserName, out var actor) ? actor : Guid.Empty,
            CommittedAt = e.Timestamp,
        });
    }
}

public sealed class ArtifactRevisionRegistration : IConfigureMarten
{
    public void Configure(IServiceProvider services, StoreOptions options)
    {
        options.Projections.Add<ArtifactRevisionProjection>(JasperFx.Events.Projections.ProjectionLifecycle.Inline);
        options.Schema.For<ArtifactRevision>().Index(x => x.ArtifactId);
    }
}

/// <summary>A revision in a listing: everything but its context and content.</summary>
/// <param name="ArtifactId">The artifact the revision belongs to (the original, for a revision committed from a checked-out copy).</param>
/// <param name="Revision">The revision number: 1 for the first commit, one more for each next.</param>
/// <param name="Kind">What the commit did to the artifact: added, modified, or archived it.</param>
/// <param name="CommitId">The commit that made it (GET /commits/{id}).</param>
/// <param name="WorkspaceId">The workspace it was committed from.</param>
/// <param name="ContentType">Its content type at this revision.</param>
/// <param name="Title">Its title at this revision.</param>
/// <param name="Description">Its description at this revision; null when it had none.</param>
/// <param name="Tags">Its tags at this revision.</param>
/// <param name="CommittedBy">The id of the user who committed it.</param>
/// <param name="CommittedAt">When it was committed (ISO 8601, UTC).</param>
public sealed record RevisionListItem(Guid ArtifactId, int Revision, ChangeKind Kind, Guid CommitId, Guid WorkspaceId, string ContentType,
    string Title, string? Description, IReadOnlyList<string> Tags, Guid CommittedBy, DateTimeOffset CommittedAt)
{
    public static RevisionListItem From(ArtifactRevision r) => new(r.ArtifactId, r.Revision, r.Kind, r.CommitId, r.WorkspaceId,
        r.ContentType, r.Title, r.Description, r.Tags, r.CommittedBy, r.CommittedAt);
}

public static class RevisionAccess
{
    /// <summary>
    /// Who may read an artifact's revisions: whoever reads the artifact (all of them, <c>Published</c> null), and whoever
    /// reads a collection it was published into (only the revisions published into such collections: <c>Published</c>
    /// names those collections). A collection's readers never see the draft, only what was committed into it.
    /// </summary>
    public static async Task<(Artifact? Artifact, Guid[]? Published)> RevisionReaderAsync(this IQuerySession session, Guid id, Caller caller,
        CancellationToken ct)
    {
        if (await session.LoadVisibleAsync(id, caller, ct) is { } visible) return (visible, null);
        var artifact = await session.LoadAsync<Artifact>(id, ct);
        if (artifact is null) return (null, null);
        var readable = (await session.ReadSetsAsync(caller, ct)).Readable.ToArray();
        var lineId = artifact.LineId;
        var member = readable.Length > 0 && await session.Query<Containers.CollectionItem>()
            .AnyAsync(c => c.ArtifactId == lineId && c.CollectionId.IsOneOf(readable), ct);
        return member ? (artifact, readable) : (null, null);
    }

    public static bool CanRead(this ArtifactRevision revision, Guid[]? published) =>
        published is null || revision.CollectionIds.Any(published.Contains);
}

public static class ListArtifactRevisionsEndpoint
{
    /// <summary>The artifact's committed revisions, oldest first. For a checked-out copy, the revisions of its origin.</summary>
    [KeyScope("read")]
    [WolverineGet("/artifacts/{id}/revisions", OperationId = "listArtifactRevisions"), Tags("Artifacts")]
    [ProducesResponseType<Page<RevisionListItem>>(200), ProducesResponseType(400), ProducesResponseType(404)]
    public static async Task<IResult> Get(Guid id, int? limit, string? cursor, ClaimsPrincipal principal, IQuerySession session, CancellationToken ct)
    {
        if (Paging.TryRead<int>(limit, cursor, int.TryParse, out var take, out var after) is { } badPage) return badPage;
        var (artifact, published) = await session.RevisionReaderAsync(id, Caller.From(principal), ct);
        if (artifact is null || artifact.IsContainer) return Problems.NotFound("artifact");

        var query = session.Query<ArtifactRevision>().Where(r => r.ArtifactId == artifact.LineId && r.Revision > after);
        if (published is not null) query = query.Where(r => r.CollectionIds.Any(c => c.IsOneOf(published)));
        var rows = await query.OrderBy(r => r.Revision).Take(take + 1).ToListAsync(ct);
        return Results.Ok(Paging.ToPage(rows, take, r => r.Revision.ToString(CultureInfo.InvariantCulture), RevisionListItem.From));
    }
}
