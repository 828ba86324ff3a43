using System.ComponentModel;
using System.Text.Json.Nodes;
using AgentArtifacts.Api.Commits;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace AgentArtifacts.Api.Mcp.Tools;

/// <summary>MCP tools over commits: preview what a commit would do, then commit. Each is a translation into the REST operation it names.</summary>
[McpServerToolType]
public static class CommitTools
{
    [McpServerTool(Name = "commit_preview", Title = "Preview a commit", ReadOnly = true, Destructive = false, Idempotent = true, OpenWorld = false,
        UseStructuredContent = true, OutputSchemaType = typeof(CommitPreviewResponse))]
    [Description("Show what committing a workspace's drafts would do, without writing anything: each draft's change (added, modified, "
        + "archived), its base and next revision, what changed, the collections it would publish to, and the conflicts that would stop it. "
        + "Pass the answer's 'commitToken' to commit to commit exactly these drafts as they are now.")]
    [RestOperation("previewCommit")]
    public static async Task<CallToolResult> CommitPreview(RestOperations rest, RequestContext<CallToolRequestParams> request,
        [Description("The workspace's id (a UUID).")] Guid workspaceId,
        [Description("The drafts to commit (artifact ids). Every draft of the workspace with a change when left out.")] Guid[]? artifactIds = null,
        CancellationToken ct = default) =>
        McpResults.From(await rest.SendAsync(new RestRequest("previewCommit")
        {
            Route = new Dictionary<string, object?> { ["id"] = workspaceId },
            Body = new JsonObject { ["artifactIds"] = Ids(artifactIds) },
        }, request.User!, request.Services!, ct));

    [McpServerTool(Name = "commit", Title = "Commit a workspace", ReadOnly = false, Destructive = false, Idempotent = false, OpenWorld = false,
        UseStructuredContent = true, OutputSchemaType = typeof(CommitResponse))]
    [Description("Commit a workspace's drafts in one step: each becomes its artifact's next revision, published into the workspace's target "
        + "collections, with your message. Not idempotent: calling it twice without a commitToken commits whatever is a draft then. With the "
        + "'commitToken' from commit_preview it commits exactly the previewed drafts, and fails with commit_conflict (committing nothing) if "
        + "any changed since, including when this commit already happened; so a retry with the same token never commits twice.")]
    [RestOperation("commitWorkspace")]
    public static async Task<CallToolResult> Commit(RestOperations rest, RequestContext<CallToolRequestParams> request,
        [Description("The workspace's id (a UUID).")] Guid workspaceId,
        [Description("Why: the commit message (not blank, at most 4000 characters).")] string message,
        [Description("The drafts to commit (artifact ids). Every draft of the workspace with a change (or those the commitToken pins) when left out.")]
        Guid[]? artifactIds = null,
        [Description("The commitToken from commit_preview: commit exactly the drafts it pins, as they were then.")] string? commitToken = null,
        CancellationToken ct = default) =>
        McpResults.From(await rest.SendAsync(new RestRequest("commitWorkspace")
        {
            Route = new Dictionary<string, object?> { ["id"] = workspaceId },
            Body = new JsonObject { ["message"] = message, ["artifactIds"] = Ids(artifactIds), ["commitToken"] = commitToken },
        }, request.User!, request.Services!, ct));

    private static JsonArray? Ids(Guid[]? ids) => ids is null ? null : new JsonArray(ids.Select(i => (JsonNode)i.ToString()).ToArray());
}
