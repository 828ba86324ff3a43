using System.ComponentModel;
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
            Query = new Dictionary<string, string?> { ["revision"] = revision?.ToString() },
        }, request.User!, request.Services!, ct));
}
