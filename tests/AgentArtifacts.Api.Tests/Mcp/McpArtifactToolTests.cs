using System.Net.Http.Json;
using System.Text.Json;
using AgentArtifacts.Api.Tests.ApiKeys;
using AgentArtifacts.Api.Tests.Infrastructure;
using ModelContextProtocol.Client;
using Shouldly;
using Xunit;

namespace AgentArtifacts.Api.Tests.Mcp;

/// <summary>The artifact tools of <c>/mcp</c>, through the official C# client: the same answers and refusals as REST.</summary>
public sealed class McpArtifactToolTests(ApiFixture fixture) : ApiTest(fixture)
{
    [Fact]
    public async Task get_artifact_answers_what_rest_answers_as_structured_content_and_text()
    {
        var user = await Fixture.NewUserAsync();
        var artifact = await user.ArtifactAsync(await user.WorkspaceAsync(), "Plan", content: "# Plan");
        var id = artifact["id"]!.GetValue<Guid>();
        await using var client = await Fixture.Host.ClientAsync(user.AccessToken);

        var result = await client.CallToolAsync("get_artifact", new Dictionary<string, object?> { ["id"] = id });

        result.IsError.ShouldNotBe(true);
        var structured = result.StructuredContent!.Value;
        structured.GetProperty("id").GetGuid().ShouldBe(id);
        structured.GetProperty("title").GetString().ShouldBe("Plan");
        structured.GetProperty("content").GetString().ShouldBe("# Plan");
        var rest = await user.Client.GetFromJsonAsync<JsonElement>($"/artifacts/{id}");
        structured.GetProperty("version").GetInt64().ShouldBe(rest.GetProperty("version").GetInt64());
        var text = result.Content.OfType<ModelContextProtocol.Protocol.TextContentBlock>().Single().Text;
        JsonDocument.Parse(text).RootElement.GetProperty("id").GetGuid().ShouldBe(id);
    }

    [Fact]
    public async Task get_artifact_of_another_users_artifact_is_the_same_not_found_as_a_missing_one()
    {
        var owner = await Fixture.NewUserAsync();
        var stranger = await Fixture.NewUserAsync();
        var id = (await owner.ArtifactAsync(await owner.WorkspaceAsync(), "Private", content: "secret words"))["id"]!.GetValue<Guid>();
        await using var client = await Fixture.Host.ClientAsync(stranger.AccessToken);

        var hidden = await client.CallToolAsync("get_artifact", new Dictionary<string, object?> { ["id"] = id });
        var missing = await client.CallToolAsync("get_artifact", new Dictionary<string, object?> { ["id"] = Guid.NewGuid() });

        foreach (var result in new[] { hidden, missing })
        {
            result.IsError.ShouldBe(true);
            result.StructuredContent.ShouldBeNull();
            var text = string.Join("\n", result.Content.OfType<ModelContextProtocol.Protocol.TextContentBlock>().Select(c => c.Text));
            text.ShouldStartWith("not_found:");
            text.ShouldNotContain("secret words");
        }
    }

    [Fact]
    public async Task a_key_sees_only_the_tools_its_scopes_allow()
    {
        var user = await Fixture.NewUserAsync();
        var reader = await user.KeyAsync("resource:text/*:read");
        var creator = await user.KeyAsync("resource:text/*:create");

        await using var readerClient = await Fixture.Host.ClientAsync(reader.Secret);
        await using var creatorClient = await Fixture.Host.ClientAsync(creator.Secret);
        await using var userClient = await Fixture.Host.ClientAsync(user.AccessToken);

        (await readerClient.ListToolsAsync()).Select(t => t.Name).ShouldContain("get_artifact");
        (await creatorClient.ListToolsAsync()).Select(t => t.Name).ShouldNotContain("get_artifact");
        (await userClient.ListToolsAsync()).Select(t => t.Name).ShouldContain("get_artifact");
    }

    [Fact]
    public async Task a_key_calling_a_tool_it_may_not_use_gets_insufficient_scope_as_a_tool_error()
    {
        var user = await Fixture.NewUserAsync();
        var id = (await user.ArtifactAsync(await user.WorkspaceAsync()))["id"]!.GetValue<Guid>();
        var creator = await user.KeyAsync("resource:text/*:create");
        await using var client = await Fixture.Host.ClientAsync(creator.Secret);

        var result = await client.CallToolAsync("get_artifact", new Dictionary<string, object?> { ["id"] = id });

        result.IsError.ShouldBe(true);
        result.Content.OfType<ModelContextProtocol.Protocol.TextContentBlock>().First().Text.ShouldStartWith("insufficient_scope:");
    }
}
