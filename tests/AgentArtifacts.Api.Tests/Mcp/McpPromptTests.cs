using System.Net;
using System.Text.Json.Nodes;
using AgentArtifacts.Api.Mcp.Prompts;
using AgentArtifacts.Api.Tests.ApiKeys;
using AgentArtifacts.Api.Tests.Infrastructure;
using ModelContextProtocol;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using Shouldly;
using Xunit;

namespace AgentArtifacts.Api.Tests.Mcp;

/// <summary>Prompt artifacts: created and validated through REST, served by <c>prompts/list</c> and <c>prompts/get</c> on <c>/mcp</c>.</summary>
public sealed class McpPromptTests(ApiFixture fixture) : ApiTest(fixture)
{
    private const string PromptType = "application/vnd.agience.prompt+json";

    private static object Arguments(params (string Name, bool Required)[] arguments) => new
    {
        arguments = arguments.Select(a => new { name = a.Name, description = $"The {a.Name}.", required = a.Required }).ToArray(),
    };

    private static Task<JsonObject> PromptAsync(TestUser user, Guid workspace, string title, string template, object? context = null) =>
        user.ArtifactAsync(workspace, title, contentType: PromptType, content: template, context: context ?? Arguments(("topic", true), ("tone", false)));

    [Fact]
    public async Task a_prompt_created_through_rest_is_listed_with_its_arguments_and_rendered_with_the_arguments_given()
    {
        var ada = await Fixture.NewUserAsync();
        var workspace = await ada.WorkspaceAsync();
        var prompt = await PromptAsync(ada, workspace, "Explain a topic", "Explain {{topic}} {{ tone }}.");
        var id = prompt["id"]!.GetValue<Guid>();
        await ada.ArtifactAsync(workspace, "Not a prompt", content: "{{topic}}");
        await Fixture.WaitForProjectionsAsync();
        await using var client = await Fixture.Host.ClientAsync(ada.AccessToken);

        var listed = (await client.ListPromptsAsync()).ShouldHaveSingleItem().ProtocolPrompt;
        listed.Name.ShouldBe(PromptNames.Of(id, "Explain a topic"));
        listed.Title.ShouldBe("Explain a topic");
        listed.Arguments!.Select(a => (a.Name, a.Required)).ShouldBe([("topic", (bool?)true), ("tone", false)]);
        listed.Arguments![0].Description.ShouldBe("The topic.");

        var rendered = await client.GetPromptAsync(listed.Name, new Dictionary<string, object?> { ["topic"] = "event sourcing", ["tone"] = "briefly" });

        var message = rendered.Messages.ShouldHaveSingleItem();
        message.Role.ShouldBe(Role.User);
        message.Content.ShouldBeOfType<TextContentBlock>().Text.ShouldBe("Explain event sourcing briefly.");
    }

    [Fact]
    public async Task a_missing_required_argument_is_invalid_params_naming_it_and_an_unknown_name_too()
    {
        var ada = await Fixture.NewUserAsync();
        var id = (await PromptAsync(ada, await ada.WorkspaceAsync(), "Explain", "Explain {{topic}}."))["id"]!.GetValue<Guid>();
        await Fixture.WaitForProjectionsAsync();
        await using var client = await Fixture.Host.ClientAsync(ada.AccessToken);

        var missing = await Should.ThrowAsync<McpProtocolException>(() =>
            client.GetPromptAsync(PromptNames.Of(id, "Explain"), new Dictionary<string, object?> { ["tone"] = "dry" }).AsTask());
        var unknown = await Should.ThrowAsync<McpProtocolException>(() => client.GetPromptAsync("explain-00000000").AsTask());

        missing.ErrorCode.ShouldBe(McpErrorCode.InvalidParams);
        missing.Message.ShouldContain("'topic'");
        unknown.ErrorCode.ShouldBe(McpErrorCode.InvalidParams);
    }

    [Fact]
    public async Task the_list_is_paged_and_names_stay_unique_when_titles_repeat()
    {
        var ada = await Fixture.NewUserAsync();
        var workspace = await ada.WorkspaceAsync();
        var ids = new List<Guid>();
        for (var i = 0; i < 55; i++) ids.Add((await PromptAsync(ada, workspace, "Same title", $"Prompt {i} on {{{{topic}}}}."))["id"]!.GetValue<Guid>());
        await Fixture.WaitForProjectionsAsync();
        await using var client = await Fixture.Host.ClientAsync(ada.AccessToken);

        var first = await client.ListPromptsAsync(new ListPromptsRequestParams());
        var second = await client.ListPromptsAsync(new ListPromptsRequestParams { Cursor = first.NextCursor });

        first.Prompts.Count.ShouldBe(50);
        second.NextCursor.ShouldBeNull();
        var names = first.Prompts.Concat(second.Prompts).Select(p => p.Name).ToList();
        names.ShouldBe(ids.Select(id => PromptNames.Of(id, "Same title")), ignoreOrder: true);
        names.Distinct().Count().ShouldBe(55);
        // The oldest one, on the second page, renders its own template.
        var text = (await client.GetPromptAsync(PromptNames.Of(ids[0], "Same title"), new Dictionary<string, object?> { ["topic"] = "x" }))
            .Messages.Single().Content.ShouldBeOfType<TextContentBlock>().Text;
        text.ShouldBe("Prompt 0 on x.");
    }

    [Fact]
    public async Task another_users_prompt_is_neither_listed_nor_rendered_until_a_grant()
    {
        var ada = await Fixture.NewUserAsync();
        var bob = await Fixture.NewUserAsync();
        var workspace = await ada.WorkspaceAsync();
        var id = (await PromptAsync(ada, workspace, "Private", "Secret {{topic}}"))["id"]!.GetValue<Guid>();
        await Fixture.WaitForProjectionsAsync();
        await using var client = await Fixture.Host.ClientAsync(bob.AccessToken);
        var name = PromptNames.Of(id, "Private");

        (await client.ListPromptsAsync()).ShouldBeEmpty();
        (await Should.ThrowAsync<McpProtocolException>(() => client.GetPromptAsync(name, new Dictionary<string, object?> { ["topic"] = "x" }).AsTask()))
            .ErrorCode.ShouldBe(McpErrorCode.InvalidParams);

        (await ada.GrantAsync(workspace, bob.Id, role: "viewer")).StatusCode.ShouldBe(HttpStatusCode.Created);
        (await client.ListPromptsAsync()).ShouldHaveSingleItem().Name.ShouldBe(name);
        (await client.GetPromptAsync(name, new Dictionary<string, object?> { ["topic"] = "x" })).Messages.Single().Content
            .ShouldBeOfType<TextContentBlock>().Text.ShouldBe("Secret x");
    }

    [Fact]
    public async Task a_collection_reader_gets_the_committed_prompt_never_the_draft()
    {
        var ada = await Fixture.NewUserAsync();
        var reader = await Fixture.NewUserAsync();
        var collection = await ada.CollectionAsync();
        var workspace = await ada.WorkspaceAsync(targets: [collection]);
        var id = (await PromptAsync(ada, workspace, "Shared", "Published on {{topic}}"))["id"]!.GetValue<Guid>();
        (await ada.CommitAsync(workspace, "publish")).IsSuccessStatusCode.ShouldBeTrue();
        (await ada.Client.MergePatch($"/artifacts/{id}", new { content = "Draft on {{topic}}", description = "draft" })).IsSuccessStatusCode.ShouldBeTrue();
        (await ada.GrantAsync(collection, reader.Id, role: "viewer")).StatusCode.ShouldBe(HttpStatusCode.Created);
        await Fixture.WaitForProjectionsAsync();
        await using var client = await Fixture.Host.ClientAsync(reader.AccessToken);

        var listed = (await client.ListPromptsAsync()).ShouldHaveSingleItem();
        listed.Name.ShouldBe(PromptNames.Of(id, "Shared"));
        listed.Description.ShouldBeNull();
        (await client.GetPromptAsync(listed.Name, new Dictionary<string, object?> { ["topic"] = "x" })).Messages.Single().Content
            .ShouldBeOfType<TextContentBlock>().Text.ShouldBe("Published on x");
    }

    [Fact]
    public async Task a_key_lists_prompts_only_with_a_prompt_scope()
    {
        var ada = await Fixture.NewUserAsync();
        var id = (await PromptAsync(ada, await ada.WorkspaceAsync(), "Scoped", "On {{topic}}"))["id"]!.GetValue<Guid>();
        var prompts = await ada.KeyAsync("prompt:*/*:read", "prompt:*/*:search");
        var texts = await ada.KeyAsync("resource:*/*:read", "resource:*/*:search");
        await Fixture.WaitForProjectionsAsync();
        await using var promptClient = await Fixture.Host.ClientAsync(prompts.Secret);
        await using var textClient = await Fixture.Host.ClientAsync(texts.Secret);

        (await promptClient.ListPromptsAsync()).ShouldHaveSingleItem().Name.ShouldBe(PromptNames.Of(id, "Scoped"));
        (await textClient.ListPromptsAsync()).ShouldBeEmpty();
    }

    [Theory]
    [InlineData("""{"arguments": [{"description": "no name"}]}""")]
    [InlineData("""{"arguments": [{"name": "has space"}]}""")]
    [InlineData("""{"arguments": [{"name": "x", "required": "yes"}]}""")]
    [InlineData("""{"arguments": [{"name": "x", "unknown": 1}]}""")]
    [InlineData("""{"arguments": {"name": "x"}}""")]
    public async Task a_prompt_with_a_malformed_context_is_refused_by_rest_and_nothing_is_appended(string context)
    {
        var ada = await Fixture.NewUserAsync();
        var workspace = await ada.WorkspaceAsync();
        var before = await Fixture.EventCountAsync();

        var response = await ada.Client.PostJson("/artifacts", new
        {
            containerId = workspace, contentType = PromptType, title = "Bad", content = "{{x}}", context = JsonNode.Parse(context),
        });

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await response.ProblemCode()).ShouldBe("invalid_context");
        (await Fixture.EventCountAsync()).ShouldBe(before);
    }

    [Fact]
    public async Task the_prompt_type_is_served_with_its_arguments_schema()
    {
        var ada = await Fixture.NewUserAsync();

        var resolved = await (await ada.Client.GetAsync("/types/resolve?contentType=application/vnd.agience.prompt%2Bjson")).Json();

        resolved["contentType"]!.GetValue<string>().ShouldBe(PromptType);
        resolved["contextSchema"]!["properties"]!["arguments"]!["items"]!["required"]!.AsArray().Select(r => r!.GetValue<string>()).ShouldBe(["name"]);
    }
}
