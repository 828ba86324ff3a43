using System.Security.Claims;
using System.Text.Json;
using System.Text.Json.Nodes;
using Marten;
using AgentArtifacts.Api.Types;

namespace AgentArtifacts.Api.Artifacts;

/// <summary>
/// The fields a merge-patch (RFC 7396) of an artifact may set. Only the fields present change: leave out what should
/// stay. <c>null</c> clears <c>description</c> or <c>content</c>; <c>context</c> is merged member by member (a member set
/// to <c>null</c> is removed; <c>null</c> for the whole context clears it). Documents the body; the endpoint reads it itself.
/// </summary>
/// <param name="Title">The new title (not blank, at most 300 characters).</param>
/// <param name="Description">The new description (at most 4000 characters), or null to clear it.</param>
/// <param name="Tags">The new tags, replacing the old ones.</param>
/// <param name="Context">Merged into the context; checked against the content type's schema.</param>
/// <param name="Content">The new content, or null to clear it.</param>
public sealed record ArtifactPatch(string Title, string? Description, IReadOnlyList<string> Tags, JsonObject? Context, string? Content);

public static class UpdateArtifactEndpoint
{
    private static readonly HashSet<string> Patchable = ["title", "description", "tags", "context", "content"];

    public static void Configure(Wolverine.Http.HttpChain chain) =>
        chain.Metadata.Add(builder => builder.Metadata.Add(new DocumentedRequestBody("application/merge-patch+json", typeof(ArtifactPatch))));

    /// <summary>
    /// Edit an artifact with a JSON merge-patch (RFC 7396) of title, description, tags, context and content; a committed
    /// artifact becomes a draft again. With If-Match, only if nobody changed it since.
    /// </summary>
    [KeyScope("write")]
    [WolverinePatch("/artifacts/{id}", OperationId = "updateArtifact"), Tags("Artifacts")]
    [Consumes("application/merge-patch+json", "application/json")]
    [ProducesResponseType<ArtifactResponse>(200), ProducesResponseType(400), ProducesResponseType(404), ProducesResponseType(412)]
    public static async Task<IResult> Patch(Guid id, ClaimsPrincipal principal, IDocumentSession session, TypeRegistry types,
        HttpContext http, CancellationToken ct)
    {
        if (!ETags.TryReadIfMatch(http.Request, out var expected)) return ETags.PreconditionFailed();
        var patch = await MergePatch.ReadAsync(http, ct);
        if (patch.Problem is not null) return patch.Problem;

        var caller = Caller.From(principal);
        var (artifact, denied) = await session.AuthorizeAsync(id, caller, Permission.Update, ct);
        if (denied is not null) return denied;
        if (artifact!.IsContainer) return Problems.NotFound("artifact");
        if (expected is not null && expected != artifact.Version) return ETags.PreconditionFailed();

        var (events, problem) = Decide(artifact, types.Resolve(artifact.ContentType), patch.Document!);
        if (problem is not null) return problem;
        return Results.Ok(ArtifactResponse.From(await ArtifactTransitions.AppendAsync(session, artifact, events, http, ct)));
    }

    public static (IReadOnlyList<object> Events, IResult? Problem) Decide(Artifact artifact, ResolvedType type, JsonObject patch)
    {
        if (artifact.State == ArtifactState.Archived)
        {
            return ([], Problems.Result(409, "artifact_archived", "The artifact is archived; restore it before editing."));
        }
        var unknown = patch.Select(p => p.Key).Where(k => !Patchable.Contains(k)).ToList();
        if (unknown.Count > 0)
        {
            return ([], Problems.Validation(unknown.ToDictionary(k => k, _ => new[] { "This field cannot be patched." }), "The patch has unknown or read-only fields."));
        }

        var events = new List<object>();
        var errors = new Dictionary<string, string[]>();
        if (patch.TryGetPropertyValue("title", out var title))
        {
            if (title is not JsonValue t || !t.TryGetValue<string>(out var text) || string.IsNullOrWhiteSpace(text) || text.Length > 300)
                errors["title"] = ["title is a non-blank string of at most 300 characters."];
            else if (text.Trim() != artifact.Title) events.Add(new ArtifactRetitled(artifact.Id, text.Trim()));
        }
        if (patch.TryGetPropertyValue("description", out var description))
        {
            string? text = null;
            if (description is not null && (description is not JsonValue d || !d.TryGetValue(out text) || text!.Length > 4000))
                errors["description"] = ["description is a string of at most 4000 characters, or null."];
            else if (text != artifact.Description) events.Add(new ArtifactDescribed(artifact.Id, text));
        }
        if (patch.TryGetPropertyValue("tags", out var tagsNode))
        {
            var tags = ReadTags(tagsNode);
            if (tags is null) errors["tags"] = [$"tags is an array of at most {ArtifactRules.MaxTags} strings of 1 to 64 characters."];
            else if (!tags.SequenceEqual(artifact.Tags)) events.Add(new ArtifactRetagged(artifact.Id, tags));
        }
        if (patch.TryGetPropertyValue("content", out var content))
        {
            string? text = null;
            if (content is not null && (content is not JsonValue c || !c.TryGetValue(out text)))
                errors["content"] = ["content is a string, or null."];
            else if (text != artifact.Content) events.Add(new ArtifactContentRevised(artifact.Id, text));
        }
        if (patch.TryGetPropertyValue("context", out var contextPatch))
        {
            // A scalar or an array would replace the whole context, which is always an object: refuse it and change nothing.
            if (contextPatch is not (null or JsonObject)) errors["context"] = ["context is an object (merged into the current context), or null (clears it)."];
            else
            {
                var context = MergePatch.Apply(artifact.Context, contextPatch) as JsonObject ?? [];
                foreach (var field in type.ImmutableFields.Where(f => !JsonNode.DeepEquals(context[f], artifact.Context[f])))
                    errors[$"context.{field}"] = ["This field is immutable (mutable: false) and cannot change."];
                foreach (var (path, messages) in TypeRegistry.Validate(type, context)) errors[path] = messages;
                if (!JsonNode.DeepEquals(context, artifact.Context)) events.Add(new ArtifactContextChanged(artifact.Id, context));
            }
        }

        return errors.Count > 0 ? ([], Problems.Validation(errors, "The patch is invalid.")) : (events, null);
    }

    private static IReadOnlyList<string>? ReadTags(JsonNode? node)
    {
        if (node is not JsonArray array || array.Count > ArtifactRules.MaxTags) return null;
        var tags = new List<string>();
        foreach (var item in array)
        {
            if (item is not JsonValue v || !v.TryGetValue<string>(out var tag) || string.IsNullOrWhiteSpace(tag) || tag.Length > 64) return null;
            tags.Add(tag);
        }
        return CreateArtifactEndpoint.Normalize(tags);
    }
}

/// <summary>JSON merge-patch (RFC 7396): reading the request document and applying it.</summary>
public static class MergePatch
{
    public sealed record Read(JsonObject? Document, IResult? Problem);

    public static async Task<Read> ReadAsync(HttpContext http, CancellationToken ct)
    {
        var mediaType = http.Request.ContentType?.Split(';')[0].Trim();
        if (mediaType is not ("application/merge-patch+json" or "application/json"))
        {
            return new(null, Problems.Result(415, "unsupported_media_type", "Send the patch as application/merge-patch+json."));
        }
        try
        {
            var node = await JsonNode.ParseAsync(http.Request.Body, cancellationToken: ct);
            return node is JsonObject document ? new(document, null)
                : new(null, Problems.Result(400, "invalid_json", "A merge-patch document is a JSON object."));
        }
        catch (JsonException e)
        {
            return new(null, Problems.Result(400, "invalid_json", $"The body is not valid JSON: {e.Message}"));
        }
    }

    /// <summary>
    /// The patch that turns <paramref name="from"/> into <paramref name="to"/>: <c>Apply(from, Diff(from, to))</c> equals
    /// <paramref name="to"/>, except for members <paramref name="to"/> sets to null, which a merge patch cannot express.
    /// </summary>
    public static JsonNode? Diff(JsonNode? from, JsonNode? to)
    {
        if (from is not JsonObject source || to is not JsonObject target) return to?.DeepClone();
        var patch = new JsonObject();
        foreach (var (name, _) in source)
        {
            if (!target.ContainsKey(name)) patch[name] = null;
        }
        foreach (var (name, value) in target)
        {
            if (value is null || JsonNode.DeepEquals(source[name], value)) continue;
            patch[name] = Diff(source[name], value);
        }
        return patch;
    }

    public static JsonNode? Apply(JsonNode? target, JsonNode? patch)
    {
        if (patch is not JsonObject patchObject) return patch?.DeepClone();
        var result = target is JsonObject targetObject ? targetObject.DeepClone().AsObject() : new JsonObject();
        foreach (var (name, value) in patchObject)
        {
            if (value is null) result.Remove(name);
            else result[name] = Apply(result[name], value);
        }
        return result;
    }
}
