extern alias JsonEverything;

using System.Text.Json;
using AgentArtifacts.Api.Tests.Infrastructure;
using JsonEverything::Json.Schema;
using Shouldly;
using Xunit;

namespace AgentArtifacts.Api.Tests.Mcp;

/// <summary>What the tools advertise in <c>tools/list</c> is what they answer, so a client that validates (the TS SDK does) accepts it.</summary>
public sealed class McpToolSchemaTests(ApiFixture fixture) : ApiTest(fixture)
{
    [Fact]
    public async Task every_tools_structured_content_validates_against_its_advertised_output_schema()
    {
        var world = await McpWorld.ArrangeAsync(Fixture);
        await using var client = await Fixture.Host.ClientAsync(world.Owner.AccessToken);
        var tools = await client.ListToolsAsync();
        tools.Count.ShouldBeGreaterThanOrEqualTo(McpToolTable.Tools.Length);

        // Writes last, the archive at the very end, so every call finds the artifact as the table arranges it.
        foreach (var tool in tools.OrderBy(t => t.ProtocolTool.Annotations?.ReadOnlyHint == true ? 0 : t.Name == "archive_artifact" ? 2 : 1))
        {
            var schemaJson = tool.ProtocolTool.OutputSchema;
            schemaJson.ShouldNotBeNull($"{tool.Name} advertises no output schema");
            var schema = JsonSchema.FromText(schemaJson.Value.GetRawText());
            var result = await client.CallAsync(tool.Name, McpToolTable.Case(tool.Name).Arguments(world));

            var structured = result.Ok();
            structured.ValueKind.ShouldBe(JsonValueKind.Object, tool.Name);
            var evaluation = schema.Evaluate(structured, new EvaluationOptions { OutputFormat = OutputFormat.List });
            evaluation.IsValid.ShouldBeTrue($"{tool.Name}: {JsonSerializer.Serialize(evaluation)}\n{structured}");
        }
    }

    [Fact]
    public async Task every_tool_has_a_title_a_description_an_object_input_schema_and_all_four_hints()
    {
        var world = await McpWorld.ArrangeAsync(Fixture);
        await using var client = await Fixture.Host.ClientAsync(world.Owner.AccessToken);

        foreach (var tool in (await client.ListToolsAsync()).Select(t => t.ProtocolTool))
        {
            tool.Name.ShouldMatch("^[a-z][a-z0-9_]*$");
            tool.Title.ShouldNotBeNullOrWhiteSpace(tool.Name);
            tool.Description.ShouldNotBeNullOrWhiteSpace(tool.Name);
            tool.InputSchema.GetProperty("type").GetString().ShouldBe("object", tool.Name);
            var hints = tool.Annotations.ShouldNotBeNull(tool.Name);
            hints.ReadOnlyHint.ShouldNotBeNull(tool.Name);
            hints.DestructiveHint.ShouldNotBeNull(tool.Name);
            hints.IdempotentHint.ShouldNotBeNull(tool.Name);
            hints.OpenWorldHint.ShouldNotBeNull(tool.Name);
        }
    }
}
