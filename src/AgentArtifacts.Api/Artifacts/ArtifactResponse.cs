using System.Text.Json.Nodes;
using Marten;

namespace AgentArtifacts.Api.Artifacts;

/// <summary>An artifact as the API shows it. <c>version</c> is the stream version and the ETag.</summary>
/// <param name="Id">The artifact's id.</param>
/// <param name="ContainerId">The workspace that holds it (for a revision, the workspace it was committed from).</param>
/// <param name="ContentType">Its content type (a MIME type, e.g. <c>text/markdown</c>), which decides the schema of <c>context</c> and the operations it can run.</param>
/// <param name="Title">Its title.</param>
/// <param name="Description">Its description; null when it has none.</param>
/// <param name="Tags">Its tags (possibly empty).</param>
/// <param name="Context">Structured data, checked against the content type's schema (e.g. a tool's endpoint, an agent's model); <c>{}</c> when none.</param>
/// <param name="Content">The body text (a document's markdown, a prompt's template…); null when it has none.</param>
/// <param name="State">Whether it is a draft, committed, or archived.</param>
/// <param name="Version">The stream version, also the ETag: send it in If-Match to change the artifact only if nobody changed it since.</param>
/// <param name="Revision">The last committed revision of the artifact that it knows of; 0 before its first commit.</param>
/// <param name="BaseRevision">The revision its current state started from; 0 for a draft never committed.</param>
/// <param name="OriginId">For a checked-out copy, the artifact whose revisions it drafts; null for an original.</param>
/// <param name="CreatedBy">The id of the user who created it.</param>
/// <param name="CreatedAt">When it was created (ISO 8601, UTC).</param>
/// <param name="UpdatedBy">The id of the user who last changed it (for a revision, who committed it).</param>
/// <param name="UpdatedAt">When it last changed (ISO 8601, UTC; for a revision, when it was committed).</param>
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
