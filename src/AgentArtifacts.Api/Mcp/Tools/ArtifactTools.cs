using System.ComponentModel;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using AgentArtifacts.Api.Artifacts;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace AgentArtifacts.Api.Mcp.Tools;

/// <summary>MCP tools over the artifact operations. Each is a translation of its arguments into the REST operation it names.</summary>
[McpServerToolType]
public static class ArtifactTools
{
    [McpServerTool(Name = "get_artifact", Title = "Read an artifact", ReadOnly = true, Destructive = false, Idempotent = true, OpenWorld = false,
        UseStructuredContent = true, OutputSchemaType = typeof(ArtifactResponse))]
    [Description("Read one artifact by id: its title, content type, content, context, tags and version. Without 'revision' you get the "
        + "head (the current draft if there is one, else the last committed revision); with 'revision' you get that committed revision. "
        + "Use 'version' from the answer as 'expectedVersion' when you update it.")]
    [RestOperation("getArtifact")]
    public static async Task<CallToolResult> GetArtifact(RestOperations rest, RequestContext<CallToolRequestParams> request,
        [Description("The artifact's id (a UUID).")] Guid id,
        [Description("A committed revision number (1 or more) to read instead of the head.")] int? revision = null,
        CancellationToken ct = default) =>
        McpResults.From(await rest.SendAsync(new RestRequest("getArtifact")
        {
            Route = new Dictionary<string, object?> { ["id"] = id },
            Query = new Dictionary<string, string?> { ["revision"] = revision?.ToString(CultureInfo.InvariantCulture) },
        }, request.User!, request.Services!, ct));

    [McpServerTool(Name = "create_artifact", Title = "Create an artifact", ReadOnly = false, Destructive = false, Idempotent = false, OpenWorld = false,
        UseStructuredContent = true, OutputSchemaType = typeof(ArtifactResponse))]
    [Description("Create a new artifact as a draft in a workspace (not a collection: collections receive artifacts when a workspace is "
        + "committed). Give its content type (a MIME type such as text/markdown), a title, and optionally content, a description, tags "
        + "and context (structured data checked against the content type's schema). Answers the new artifact with its id and version.")]
    [RestOperation("createArtifact")]
    public static async Task<CallToolResult> CreateArtifact(RestOperations rest, RequestContext<CallToolRequestParams> request,
        [Description("The workspace to create it in (a UUID).")] Guid containerId,
        [Description("Its content type, a MIME type such as text/markdown or text/plain.")] string contentType,
        [Description("The title (not blank, at most 300 characters).")] string title,
        [Description("The body text, e.g. the markdown of a document.")] string? content = null,
        [Description("A description (at most 4000 characters).")] string? description = null,
        [Description("Tags (at most 50, each 1 to 64 characters).")] string[]? tags = null,
        [Description("Structured data, checked against the content type's schema. {} when left out.")] JsonObject? context = null,
        CancellationToken ct = default) =>
        McpResults.From(await rest.SendAsync(new RestRequest("createArtifact")
        {
            Body = JsonSerializer.SerializeToNode(new Artifacts.CreateArtifact(containerId, contentType, title, description, tags, context, content),
                WolverineHttpSetup.Json),
        }, request.User!, request.Services!, ct));

    [McpServerTool(Name = "update_artifact", Title = "Edit an artifact", ReadOnly = false, Destructive = true, Idempotent = true, OpenWorld = false,
        UseStructuredContent = true, OutputSchemaType = typeof(ArtifactResponse))]
    [Description("Change an artifact's title, content, description, tags or context; only the fields you pass change. 'expectedVersion' "
        + "is the 'version' you last read: if anyone changed the artifact since, nothing changes and the call fails with precondition_failed "
        + "(read it again and redo your edit). Pass null for description or content to clear it. 'context' is merged member by member "
        + "(a member set to null is removed). A committed artifact becomes a draft again. Answers the artifact as it now is.")]
    [RestOperation("updateArtifact")]
    public static async Task<CallToolResult> UpdateArtifact(RestOperations rest, RequestContext<CallToolRequestParams> request,
        [Description("The artifact's id (a UUID).")] Guid id,
        [Description("The artifact's 'version' as you last read it; the edit happens only if it is still current.")] long expectedVersion,
        [Description("The new title (not blank, at most 300 characters).")] string? title = null,
        [Description("The new content, or null to clear it.")] string? content = null,
        [Description("The new description, or null to clear it.")] string? description = null,
        [Description("The new tags, replacing the old ones.")] string[]? tags = null,
        [Description("Merged into the context; a member set to null is removed.")] JsonObject? context = null,
        CancellationToken ct = default)
    {
        // The patch is the arguments as sent, so "left out" (unchanged) and null (cleared) keep their merge-patch meanings.
        var patch = new JsonObject();
        foreach (var (name, value) in request.Params?.Arguments ?? new Dictionary<string, JsonElement>())
        {
            if (name is not ("id" or "expectedVersion")) patch[name] = JsonSerializer.SerializeToNode(value);
        }
        return McpResults.From(await rest.SendAsync(new RestRequest("updateArtifact")
        {
            Route = new Dictionary<string, object?> { ["id"] = id },
            Headers = new Dictionary<string, string> { ["If-Match"] = ETags.For(expectedVersion), ["Content-Type"] = "application/merge-patch+json" },
            Body = patch,
        }, request.User!, request.Services!, ct));
    }

    [McpServerTool(Name = "archive_artifact", Title = "Archive an artifact", ReadOnly = false, Destructive = true, Idempotent = true, OpenWorld = false,
        UseStructuredContent = true, OutputSchemaType = typeof(ArchivedArtifact))]
    [Description("Archive (soft-delete) an artifact: it leaves searches and listings of live artifacts but stays readable by id, and its owner "
        + "can restore it. With 'expectedVersion', only if nobody changed it since you read that version (else precondition_failed). "
        + "Archiving an archived artifact fails with already_archived.")]
    [RestOperation("archiveArtifact")]
    public static async Task<CallToolResult> ArchiveArtifact(RestOperations rest, RequestContext<CallToolRequestParams> request,
        [Description("The artifact's id (a UUID).")] Guid id,
        [Description("The artifact's 'version' as you last read it; archive only if it is still current. Leave out to archive whatever the version.")]
        long? expectedVersion = null,
        CancellationToken ct = default)
    {
        var answer = await rest.SendAsync(new RestRequest("archiveArtifact")
        {
            Route = new Dictionary<string, object?> { ["id"] = id },
            Headers = expectedVersion is { } v ? new Dictionary<string, string> { ["If-Match"] = ETags.For(v) } : new Dictionary<string, string>(),
        }, request.User!, request.Services!, ct);
        // REST answers 204 with the new version as the ETag; the tool shows that as the result.
        return answer.Succeeded
            ? McpResults.Success(JsonSerializer.SerializeToNode(new ArchivedArtifact(id, ArtifactState.Archived,
                long.Parse(answer.Headers.ETag.ToString().Trim('"'), CultureInfo.InvariantCulture)), WolverineHttpSetup.Json)!.AsObject())
            : McpResults.From(answer);
    }
}

/// <summary>What archiving answers: the artifact, now archived, and its new version (REST's ETag).</summary>
/// <param name="Id">The artifact's id.</param>
/// <param name="State">Its state: archived.</param>
/// <param name="Version">Its stream version after the archive (the ETag REST answers with).</param>
public sealed record ArchivedArtifact(Guid Id, ArtifactState State, long Version);
