using System.Globalization;
using System.Security.Claims;
using System.Text.Json.Nodes;
using Marten;

namespace AgentArtifacts.Api.Artifacts;

/// <summary>The fields a diff compares, from a head or a revision.</summary>
public sealed record ArtifactFields(string Title, string? Description, IReadOnlyList<string> Tags, JsonObject Context, string? Content)
{
    /// <summary>Before the first revision: nothing.</summary>
    public static readonly ArtifactFields Empty = new("", null, [], [], null);

    public static ArtifactFields Of(Artifact a) => new(a.Title, a.Description, a.Tags, a.Context, a.Content);
    public static ArtifactFields Of(ArtifactRevision r) => new(r.Title, r.Description, r.Tags, r.Context, r.Content);
}

/// <summary>A text field's value before and after.</summary>
/// <param name="From">The value on the <c>from</c> side; null when it had none.</param>
/// <param name="To">The value on the <c>to</c> side; null when it has none.</param>
public sealed record TextChange(string? From, string? To);

/// <summary>How the tags changed.</summary>
/// <param name="Added">Tags on the <c>to</c> side that the <c>from</c> side lacks.</param>
/// <param name="Removed">Tags on the <c>from</c> side that the <c>to</c> side lacks.</param>
public sealed record TagsChange(IReadOnlyList<string> Added, IReadOnlyList<string> Removed);

/// <summary>
/// What changed between two states of an artifact: the names of the changed fields; title and description as before/after;
/// tags as added/removed; <c>context</c> as RFC 6902 operations; <c>content</c> as a unified line diff with counts.
/// </summary>
/// <param name="From">What the <c>from</c> side is: <c>revision n</c> or <c>draft</c>.</param>
/// <param name="To">What the <c>to</c> side is: <c>revision n</c> or <c>draft</c>.</param>
/// <param name="ChangedFields">The fields that differ, among <c>title</c>, <c>description</c>, <c>tags</c>, <c>context</c> and <c>content</c>; empty when the two are the same.</param>
/// <param name="Title">The title before and after; null when it did not change.</param>
/// <param name="Description">The description before and after; null when it did not change.</param>
/// <param name="Tags">The tags added and removed; null when they did not change (order included).</param>
/// <param name="Context">The changes to <c>context</c> as JSON Patch (RFC 6902) operations; empty when it did not change.</param>
/// <param name="Content">The content as a unified diff (empty when it did not change).</param>
public sealed record ArtifactDiff(string From, string To, IReadOnlyList<string> ChangedFields, TextChange? Title, TextChange? Description,
    TagsChange? Tags, JsonArray Context, LineDiff Content)
{
    public static ArtifactDiff Between(ArtifactFields from, ArtifactFields to, string fromLabel = "from", string toLabel = "to")
    {
        var tags = new TagsChange(to.Tags.Except(from.Tags).ToList(), from.Tags.Except(to.Tags).ToList());
        var context = JsonDiff.Between(from.Context, to.Context);
        var content = LineDiff.Between(from.Content, to.Content, fromLabel, toLabel);
        var changed = new List<string>();
        if (from.Title != to.Title) changed.Add("title");
        if (from.Description != to.Description) changed.Add("description");
        if (!from.Tags.SequenceEqual(to.Tags)) changed.Add("tags");
        if (context.Count > 0) changed.Add("context");
        if (from.Content != to.Content) changed.Add("content");
        return new ArtifactDiff(fromLabel, toLabel, changed,
            from.Title == to.Title ? null : new TextChange(from.Title, to.Title),
            from.Description == to.Description ? null : new TextChange(from.Description, to.Description),
            changed.Contains("tags") ? tags : null, context, content);
    }
}

public static class DiffArtifactEndpoint
{
    /// <summary>
    /// The difference between two states of the artifact: <c>from</c> and <c>to</c> are revision numbers (0 = before the first)
    /// or <c>draft</c> (the head). By default, from the head's base revision to the head: what the next commit would publish.
    /// </summary>
    /// <param name="from">The older side: a revision number (0 = before the first revision) or <c>draft</c>. Default: the head's base revision.</param>
    /// <param name="to">The newer side: a revision number or <c>draft</c>. Default: <c>draft</c> (the head as it is now).</param>
    [KeyScope("read")]
    [WolverineGet("/artifacts/{id}/diff", OperationId = "diffArtifact"), Tags("Artifacts")]
    [ProducesResponseType<ArtifactDiff>(200), ProducesResponseType(400), ProducesResponseType(404)]
    public static async Task<IResult> Get(Guid id, string? from, string? to, ClaimsPrincipal principal, IQuerySession session, CancellationToken ct)
    {
        var (artifact, published) = await session.RevisionReaderAsync(id, Caller.From(principal), ct);
        if (artifact is null || artifact.IsContainer) return Problems.NotFound("artifact");

        var (fromFields, fromLabel, fromProblem) = await ReadSide(session, artifact, published, "from", from ?? artifact.BaseRevision.ToString(CultureInfo.InvariantCulture), ct);
        if (fromProblem is not null) return fromProblem;
        var (toFields, toLabel, toProblem) = await ReadSide(session, artifact, published, "to", to ?? "draft", ct);
        if (toProblem is not null) return toProblem;
        return Results.Ok(ArtifactDiff.Between(fromFields!, toFields!, fromLabel, toLabel));
    }

    /// <summary>One side of the diff; a reader through a collection sees only revisions published there, never the draft.</summary>
    private static async Task<(ArtifactFields? Fields, string Label, IResult? Problem)> ReadSide(IQuerySession session, Artifact artifact,
        Guid[]? published, string name, string side, CancellationToken ct)
    {
        if (side == "draft") return published is null ? (ArtifactFields.Of(artifact), "draft", null) : (null, "", Problems.NotFound("artifact"));
        if (!int.TryParse(side, NumberStyles.None, CultureInfo.InvariantCulture, out var revision))
        {
            return (null, "", Problems.Invalid(name, $"{name} is a revision number or 'draft'.", "invalid_revision"));
        }
        if (revision == 0) return (ArtifactFields.Empty, "revision 0", null);
        var committed = await session.LoadAsync<ArtifactRevision>(ArtifactRevision.IdOf(artifact.LineId, revision), ct);
        return committed is null || !committed.CanRead(published)
            ? (null, "", Problems.Result(404, "revision_not_found", $"The artifact has no revision {revision}."))
            : (ArtifactFields.Of(committed), $"revision {revision}", null);
    }
}
