using System.Text.Json.Nodes;
using AgentArtifacts.Api.Artifacts;
using Shouldly;
using Xunit;

namespace AgentArtifacts.Api.Tests.Artifacts;

/// <summary>The merge patch between two documents: applying it to the first gives the second.</summary>
public sealed class MergePatchDiffTests
{
    [Theory]
    [InlineData("""{"a":1,"b":{"c":2,"d":3}}""", """{"a":1,"b":{"c":2,"d":4}}""", """{"b":{"d":4}}""")]
    [InlineData("""{"a":1,"b":{"c":2}}""", """{"a":1}""", """{"b":null}""")]
    [InlineData("""{"s":{"properties":{"old":{}}}}""", """{"s":{"properties":{"new":{"type":"string"}}}}""", """{"s":{"properties":{"old":null,"new":{"type":"string"}}}}""")]
    [InlineData("""{"a":[1,2]}""", """{"a":[2]}""", """{"a":[2]}""")]
    [InlineData("""{"a":1}""", """{"a":1}""", """{}""")]
    public void applying_the_diff_to_the_source_gives_the_target(string from, string to, string expected)
    {
        var source = JsonNode.Parse(from);
        var target = JsonNode.Parse(to);

        var patch = MergePatch.Diff(source, target);

        patch!.ToJsonString().ShouldBe(JsonNode.Parse(expected)!.ToJsonString());
        JsonNode.DeepEquals(MergePatch.Apply(source, patch), target).ShouldBeTrue();
    }
}
