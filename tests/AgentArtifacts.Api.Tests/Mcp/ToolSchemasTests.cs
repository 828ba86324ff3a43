using System.Text.Json;
using AgentArtifacts.Api.Mcp;
using Shouldly;
using Xunit;

namespace AgentArtifacts.Api.Tests.Mcp;

/// <summary>Boolean subschemas become the equivalent object schema; values that are not schemas stay as they are.</summary>
public sealed class ToolSchemasTests
{
    [Theory]
    [InlineData("""{"type":"object","properties":{"input":true,"n":{"type":"integer"}}}""", """{"type":"object","properties":{"input":{},"n":{"type":"integer"}}}""")]
    [InlineData("""{"type":"array","items":true}""", """{"type":"array","items":{}}""")]
    [InlineData("""{"anyOf":[true,{"type":"null"}],"$defs":{"x":true}}""", """{"anyOf":[{},{"type":"null"}],"$defs":{"x":{}}}""")]
    [InlineData("""{"type":"boolean","default":true,"const":true,"enum":[true]}""", """{"type":"boolean","default":true,"const":true,"enum":[true]}""")]
    [InlineData("""{"type":"object","properties":{"true":{"type":"boolean","default":true}},"additionalProperties":false}""",
        """{"type":"object","properties":{"true":{"type":"boolean","default":true}},"additionalProperties":false}""")]
    public void true_subschemas_become_empty_object_schemas(string schema, string expected)
    {
        var rewritten = ToolSchemas.Objects(JsonDocument.Parse(schema).RootElement);

        rewritten.GetRawText().ShouldBe(JsonDocument.Parse(expected).RootElement.GetRawText());
    }
}
