using System.Text.Json;
using System.Text.Json.Nodes;
using ModelContextProtocol.Protocol;

namespace AgentArtifacts.Api.Mcp;

/// <summary>
/// Tool results from REST answers. A success carries the resource as <c>structuredContent</c> (an object, as the protocol
/// requires) and the same JSON as text for clients that read only text. A failure of the operation is a result with
/// <c>isError</c>, its text the problem's <c>code</c> and detail, then the problem itself; it carries no
/// <c>structuredContent</c>, which clients validate against the tool's output schema even on errors.
/// </summary>
public static class McpResults
{
    public static CallToolResult From(RestAnswer answer) => answer.Succeeded
        ? Success(answer.Body as JsonObject ?? new JsonObject { ["status"] = answer.Status })
        : Failure(answer.Body as JsonObject ?? new JsonObject { ["status"] = answer.Status, ["code"] = "error" });

    public static CallToolResult Success(JsonObject structured)
    {
        var element = JsonSerializer.SerializeToElement(structured);
        return new CallToolResult
        {
            StructuredContent = element,
            Content = [new TextContentBlock { Text = element.GetRawText() }],
        };
    }

    public static CallToolResult Failure(JsonObject problem)
    {
        var code = problem["code"]?.GetValue<string>() ?? "error";
        var detail = problem["detail"]?.GetValue<string>() ?? problem["title"]?.GetValue<string>() ?? "The operation failed.";
        return new CallToolResult
        {
            IsError = true,
            Content = [new TextContentBlock { Text = $"{code}: {detail}" }, new TextContentBlock { Text = problem.ToJsonString() }],
        };
    }
}
