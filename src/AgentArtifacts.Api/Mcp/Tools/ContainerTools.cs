using System.ComponentModel;
using System.Globalization;
using AgentArtifacts.Api.Artifacts;
using AgentArtifacts.Api.Containers;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace AgentArtifacts.Api.Mcp.Tools;

/// <summary>MCP tools over the workspace and collection listings: translations of their arguments into the REST list operations.</summary>
[McpServerToolType]
public static class ContainerTools
{
    [McpServerTool(Name = "list_containers", Title = "List workspaces or collections", ReadOnly = true, Destructive = false, Idempotent = true,
        OpenWorld = false, UseStructuredContent = true, OutputSchemaType = typeof(Page<ContainerResponse>))]
    [Description("List the workspaces (where artifacts are drafted) or the collections (where committed artifacts are published) you can "
        + "read, oldest first, one page at a time. Archived ones only with state 'archived'. When 'nextCursor' in the answer is not null, "
        + "call again with it as 'cursor' for the next page.")]
    [RestOperation("listWorkspaces", "listCollections")]
    public static async Task<CallToolResult> ListContainers(RestOperations rest, RequestContext<CallToolRequestParams> request,
        [Description("Which containers: 'workspace' or 'collection'.")] ContainerKind kind,
        [Description("Only containers in this state; 'archived' lists the archived ones. All but the archived when left out.")] ArtifactState? state = null,
        [Description("At most this many per page (1 to 200; default 50).")] int? limit = null,
        [Description("The previous answer's 'nextCursor', for the next page. Leave out for the first page.")] string? cursor = null,
        CancellationToken ct = default) =>
        McpResults.From(await rest.SendAsync(new RestRequest(kind == ContainerKind.Collection ? "listCollections" : "listWorkspaces")
        {
            Query = Page(limit, cursor, ("state", Name(state))),
        }, request.User!, request.Services!, ct));

    [McpServerTool(Name = "list_artifacts", Title = "List a container's artifacts", ReadOnly = true, Destructive = false, Idempotent = true,
        OpenWorld = false, UseStructuredContent = true, OutputSchemaType = typeof(Page<ArtifactListItem>))]
    [Description("List the artifacts in a workspace (its drafts and committed artifacts, oldest first) or in a collection (each at the revision "
        + "last committed into it, in order of publication), without their content: use get_artifact to read one. Filter by content type "
        + "(e.g. text/markdown or text/*) and state. When 'nextCursor' in the answer is not null, call again with it as 'cursor'.")]
    [RestOperation("listWorkspaceArtifacts", "listCollectionArtifacts")]
    public static async Task<CallToolResult> ListArtifacts(RestOperations rest, RequestContext<CallToolRequestParams> request,
        [Description("The workspace's or collection's id (a UUID).")] Guid containerId,
        [Description("Whether containerId is a 'workspace' or a 'collection'. When left out, a workspace is tried first, then a collection.")]
        ContainerKind? kind = null,
        [Description("Only artifacts of this content type (e.g. text/markdown) or family (e.g. text/*).")] string? contentType = null,
        [Description("Only artifacts in this state. All states when left out.")] ArtifactState? state = null,
        [Description("At most this many per page (1 to 200; default 50).")] int? limit = null,
        [Description("The previous answer's 'nextCursor', for the next page. Leave out for the first page.")] string? cursor = null,
        CancellationToken ct = default)
    {
        RestRequest List(ContainerKind of) => new(of == ContainerKind.Collection ? "listCollectionArtifacts" : "listWorkspaceArtifacts")
        {
            Route = new Dictionary<string, object?> { ["id"] = containerId },
            Query = Page(limit, cursor, ("contentType", contentType), ("state", Name(state))),
        };
        var answer = await rest.SendAsync(List(kind ?? ContainerKind.Workspace), request.User!, request.Services!, ct);
        // Not a workspace the caller can see: the same id may be a collection (both answer the same not_found when it is neither).
        if (kind is null && answer.Status == StatusCodes.Status404NotFound)
        {
            answer = await rest.SendAsync(List(ContainerKind.Collection), request.User!, request.Services!, ct);
        }
        return McpResults.From(answer);
    }

    private static string? Name(ArtifactState? state) => state?.ToString().ToLowerInvariant();

    private static Dictionary<string, string?> Page(int? limit, string? cursor, params (string Name, string? Value)[] filters)
    {
        var query = new Dictionary<string, string?> { ["limit"] = limit?.ToString(CultureInfo.InvariantCulture), ["cursor"] = cursor };
        foreach (var (name, value) in filters) query[name] = value;
        return query;
    }
}
