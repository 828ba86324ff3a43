using System.ComponentModel;
using System.Text.Json;
using AgentArtifacts.Api.Artifacts;
using AgentArtifacts.Api.Search;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace AgentArtifacts.Api.Mcp.Tools;

/// <summary>The search tool: its arguments are the body of <c>POST /search</c>.</summary>
[McpServerToolType]
public static class SearchTools
{
    [McpServerTool(Name = "search", Title = "Search artifacts", ReadOnly = true, Destructive = false, Idempotent = true, OpenWorld = false,
        UseStructuredContent = true, OutputSchemaType = typeof(SearchResponse))]
    [Description("Full-text search over the artifacts you can read, best match first, with a snippet of each hit and counts by content type and "
        + "state. The query language: words (matched stemmed), \"quoted phrases\", OR between words or phrases, -word to exclude, and filters "
        + "type:text/markdown (or type:text/*), tag:name, state:draft|committed|archived, container:<id>, created:>=2026-01-01, "
        + "updated:<2026-06-01. Example: retry \"back off\" type:text/* -deprecated. The query may be empty when containerIds, contentTypes "
        + "or states is given. When 'nextCursor' in the answer is not null, call again with the same arguments and it as 'cursor'. "
        + "Use get_artifact with a hit's id to read it whole.")]
    [RestOperation("searchArtifacts")]
    public static async Task<CallToolResult> Search(RestOperations rest, RequestContext<CallToolRequestParams> request,
        [Description("What to find, in the query language above (at most 1000 characters).")] string? query = null,
        [Description("Only artifacts in one of these workspaces or collections (ids).")] Guid[]? containerIds = null,
        [Description("Only artifacts of one of these content types; * matches any run of characters (e.g. text/*).")] string[]? contentTypes = null,
        [Description("Only artifacts in one of these states.")] ArtifactState[]? states = null,
        [Description("At most this many hits per page (1 to 100; default 20).")] int? limit = null,
        [Description("The previous answer's 'nextCursor', for the next page. Leave out for the first page.")] string? cursor = null,
        [Description("Whether to add each hit's snippet and highlight ranges (default true).")] bool? highlight = null,
        CancellationToken ct = default) =>
        McpResults.From(await rest.SendAsync(new RestRequest("searchArtifacts")
        {
            Body = JsonSerializer.SerializeToNode(new SearchRequest(query, containerIds, contentTypes,
                states?.Select(s => s.ToString().ToLowerInvariant()).ToList(), limit, cursor, highlight), WolverineHttpSetup.Json),
        }, request.User!, request.Services!, ct));
}
