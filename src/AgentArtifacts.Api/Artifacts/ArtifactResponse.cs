using System.Text.Json.Nodes;
using Marten;

namespace AgentArtifacts.Api.Artifacts;

/// <summary>An artifact as the API shows it. <c>version</c> is the stream version and the ETag.</summary>
public sealed record ArtifactResponse(Guid Id, Guid? ContainerId, string ContentType, string Title, string? Description,
    IReadOnlyList<string> Tags, JsonObject Context, string? Content, ArtifactState State, long Version, int Revision, int BaseRevision,
    Guid? OriginId, Guid CreatedBy, DateTimeOffset CreatedAt, Guid UpdatedBy, DateTimeOffset UpdatedAt)
{
    public static ArtifactResponse From(Artifact a) => new(a.Id, a.ContainerId, a.ContentType, a.Title, a.Description, a.Tags,
        a.Context, a.Content, a.State, a.Version, a.Revision, a.BaseRevision, a.OriginId, a.CreatedBy, a.CreatedAt, a.UpdatedBy, a.UpdatedAt);

    /// <summary>A committed revision, shown as the artifact was then: <c>version</c> is that of the revision's event.</summary>
    public static ArtifactResponse From(ArtifactRevision r, Artifact line) => new(line.Id, r.WorkspaceId, r.ContentType, r.Title,
        r.Description, r.Tags, r.Context, r.Content, r.Kind == ChangeKind.Archived ? ArtifactState.Archived : ArtifactState.Committed,
        r.Version, r.Revision, r.Revision, null, line.CreatedBy, line.CreatedAt, r.CommittedBy, r.CommittedAt);
}
