using System.Text.Json;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using Shouldly;

namespace AgentArtifacts.Api.Tests.Mcp;

/// <summary>Reading tool results in tests: the structured answer of a success, the problem code of a refusal.</summary>
public static class McpToolResults
{
    public static ValueTask<CallToolResult> CallAsync(this McpClient client, string tool, object arguments) =>
        client.CallToolAsync(tool, JsonSerializer.Deserialize<Dictionary<string, object?>>(JsonSerializer.Serialize(arguments)));

    public static string Text(this CallToolResult result) => string.Join("\n", result.Content.OfType<TextContentBlock>().Select(c => c.Text));

    /// <summary>The structured answer of a success (fails the test with the error text otherwise).</summary>
    public static JsonElement Ok(this CallToolResult result)
    {
        result.IsError.ShouldNotBe(true, result.Text());
        return result.StructuredContent!.Value;
    }

    /// <summary>The problem of a refusal: an isError result without structured content, its text starting with the code.</summary>
    public static JsonElement Refused(this CallToolResult result, string code)
    {
        result.IsError.ShouldBe(true, result.Text());
        result.StructuredContent.ShouldBeNull();
        var texts = result.Content.OfType<TextContentBlock>().Select(c => c.Text).ToList();
        texts[0].ShouldStartWith($"{code}:");
        var problem = JsonDocument.Parse(texts[1]).RootElement;
        problem.GetProperty("code").GetString().ShouldBe(code);
        return problem;
    }
}
