using System.Net;
using System.Text.Json;
using AgentArtifacts.Api.Tests.ApiKeys;
using AgentArtifacts.Api.Tests.Infrastructure;
using ModelContextProtocol;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using Shouldly;
using Xunit;

namespace AgentArtifacts.Api.Tests.Mcp;

/// <summary>Artifacts as MCP resources on <c>/mcp</c>, through the official C# client: listed, templated and read as REST allows.</summary>
public sealed class McpResourceTests(ApiFixture fixture) : ApiTest(fixture)
{
    [Fact]
    public async Task the_list_holds_what_the_caller_may_read_with_its_type_and_last_change_and_nothing_of_others()
    {
        var ada = await Fixture.NewUserAsync();
        var bob = await Fixture.NewUserAsync();
        var workspace = await ada.WorkspaceAsync();
        var plan = await ada.ArtifactAsync(workspace, "Plan", content: "# Plan");
        var agent = await ada.ArtifactAsync(workspace, "Helper", contentType: "application/vnd.agience.agent+json", content: null,
            context: new { model = "gpt-test", instructions = "Help." });
        var hidden = await bob.ArtifactAsync(await bob.WorkspaceAsync(), "Bob's");
        await Fixture.WaitForProjectionsAsync();
        await using var client = await Fixture.Host.ClientAsync(ada.AccessToken);

        var resources = await client.ListResourcesAsync();

        resources.Select(r => r.Uri).ShouldBe([$"artifact://{agent["id"]}", $"artifact://{plan["id"]}"], ignoreOrder: true);
        var listed = resources.Single(r => r.Uri == $"artifact://{plan["id"]}").ProtocolResource;
        listed.Name.ShouldBe("Plan");
        listed.MimeType.ShouldBe("text/markdown");
        // PostgreSQL keeps microseconds, .NET ticks of 100 ns.
        listed.Annotations!.LastModified!.Value.ShouldBe(plan["updatedAt"]!.GetValue<DateTimeOffset>(), TimeSpan.FromMilliseconds(1));
        resources.Single(r => r.Uri == $"artifact://{agent["id"]}").MimeType.ShouldBe("application/vnd.agience.agent+json");
        resources.ShouldNotContain(r => r.Uri.Contains(hidden["id"]!.GetValue<Guid>().ToString()));
    }

    [Fact]
    public async Task the_list_is_paged_with_the_protocols_cursor_each_artifact_once()
    {
        var ada = await Fixture.NewUserAsync();
        var workspace = await ada.WorkspaceAsync();
        var ids = await Fixture.DraftsAsync(ada.Id, workspace, 60);
        await Fixture.WaitForProjectionsAsync();
        await using var client = await Fixture.Host.ClientAsync(ada.AccessToken);

        var first = await client.ListResourcesAsync(new ListResourcesRequestParams());
        var second = await client.ListResourcesAsync(new ListResourcesRequestParams { Cursor = first.NextCursor });

        first.Resources.Count.ShouldBe(50);
        first.NextCursor.ShouldNotBeNull();
        second.NextCursor.ShouldBeNull();
        first.Resources.Concat(second.Resources).Select(r => r.Uri).ShouldBe(ids.Select(id => $"artifact://{id}"), ignoreOrder: true);
        var bad = await Should.ThrowAsync<McpProtocolException>(() => client.ListResourcesAsync(new ListResourcesRequestParams { Cursor = "nonsense" }).AsTask());
        bad.ErrorCode.ShouldBe(McpErrorCode.InvalidParams);
    }

    [Fact]
    public async Task the_templates_name_the_head_and_the_revision_addresses()
    {
        var ada = await Fixture.NewUserAsync();
        await using var client = await Fixture.Host.ClientAsync(ada.AccessToken);

        var templates = await client.ListResourceTemplatesAsync();

        templates.Select(t => t.UriTemplate).ShouldBe(["artifact://{id}", "artifact://{id}/revisions/{revision}"]);
        templates.ShouldAllBe(t => !string.IsNullOrWhiteSpace(t.Description));
        var capabilities = client.ServerCapabilities.Resources!;
        capabilities.Subscribe.ShouldNotBe(true);
    }

    [Fact]
    public async Task reading_the_head_and_a_revision_gives_their_text_and_a_structured_artifact_its_json()
    {
        var ada = await Fixture.NewUserAsync();
        var collection = await ada.CollectionAsync();
        var workspace = await ada.WorkspaceAsync(targets: [collection]);
        var plan = await ada.ArtifactAsync(workspace, "Plan", content: "first words");
        var id = plan["id"]!.GetValue<Guid>();
        (await ada.CommitAsync(workspace, "one")).IsSuccessStatusCode.ShouldBeTrue();
        (await ada.Client.MergePatch($"/artifacts/{id}", new { content = "second words" })).IsSuccessStatusCode.ShouldBeTrue();
        var agent = await ada.ArtifactAsync(workspace, "Helper", contentType: "application/vnd.agience.agent+json", content: null,
            context: new { model = "gpt-test", instructions = "Help." });
        await using var client = await Fixture.Host.ClientAsync(ada.AccessToken);

        var head = (await client.ReadResourceAsync($"artifact://{id}")).Contents.ShouldHaveSingleItem().ShouldBeOfType<TextResourceContents>();
        var revision = (await client.ReadResourceAsync($"artifact://{id}/revisions/1")).Contents.ShouldHaveSingleItem().ShouldBeOfType<TextResourceContents>();
        var structured = (await client.ReadResourceAsync($"artifact://{agent["id"]}")).Contents.ShouldHaveSingleItem().ShouldBeOfType<TextResourceContents>();

        head.Text.ShouldBe("second words");
        head.MimeType.ShouldBe("text/markdown");
        head.Uri.ShouldBe($"artifact://{id}");
        revision.Text.ShouldBe("first words");
        revision.Uri.ShouldBe($"artifact://{id}/revisions/1");
        structured.MimeType.ShouldBe("application/vnd.agience.agent+json");
        var json = JsonDocument.Parse(structured.Text).RootElement;
        json.GetProperty("context").GetProperty("model").GetString().ShouldBe("gpt-test");
        json.GetProperty("title").GetString().ShouldBe("Helper");
    }

    [Fact]
    public async Task a_collection_reader_lists_and_reads_the_committed_revision_never_the_draft()
    {
        var ada = await Fixture.NewUserAsync();
        var reader = await Fixture.NewUserAsync();
        var collection = await ada.CollectionAsync();
        var workspace = await ada.WorkspaceAsync(targets: [collection]);
        var id = (await ada.ArtifactAsync(workspace, "Shared", content: "published"))["id"]!.GetValue<Guid>();
        (await ada.CommitAsync(workspace, "publish")).IsSuccessStatusCode.ShouldBeTrue();
        (await ada.Client.MergePatch($"/artifacts/{id}", new { content = "unpublished draft" })).IsSuccessStatusCode.ShouldBeTrue();
        (await ada.GrantAsync(collection, reader.Id, role: "viewer")).StatusCode.ShouldBe(HttpStatusCode.Created);
        await Fixture.WaitForProjectionsAsync();
        await using var client = await Fixture.Host.ClientAsync(reader.AccessToken);

        var listed = (await client.ListResourcesAsync()).ShouldHaveSingleItem();
        listed.Uri.ShouldBe($"artifact://{id}/revisions/1");
        var read = (await client.ReadResourceAsync(listed.Uri)).Contents.ShouldHaveSingleItem().ShouldBeOfType<TextResourceContents>();
        read.Text.ShouldBe("published");
        var head = await Should.ThrowAsync<McpProtocolException>(() => client.ReadResourceAsync($"artifact://{id}").AsTask());
        head.ErrorCode.ShouldBe(McpErrorCode.InvalidParams);
    }

    [Theory]
    [InlineData(null, McpErrorCode.InvalidParams)]
    [InlineData(McpConnect.InitializeGeneration, McpErrorCode.ResourceNotFound)]
    public async Task an_artifact_the_caller_may_not_read_is_the_same_error_as_a_missing_one(string? protocolVersion, McpErrorCode expected)
    {
        var owner = await Fixture.NewUserAsync();
        var stranger = await Fixture.NewUserAsync();
        var id = (await owner.ArtifactAsync(await owner.WorkspaceAsync(), "Private", content: "secret words"))["id"]!.GetValue<Guid>();
        await using var client = await Fixture.Host.ClientAsync(stranger.AccessToken, protocolVersion: protocolVersion);

        var missingId = Guid.CreateVersion7();
        var hidden = await Should.ThrowAsync<McpProtocolException>(() => client.ReadResourceAsync($"artifact://{id}").AsTask());
        var missing = await Should.ThrowAsync<McpProtocolException>(() => client.ReadResourceAsync($"artifact://{missingId}").AsTask());
        var hiddenRevision = await Should.ThrowAsync<McpProtocolException>(() => client.ReadResourceAsync($"artifact://{id}/revisions/1").AsTask());

        foreach (var error in new[] { hidden, missing, hiddenRevision })
        {
            error.ErrorCode.ShouldBe(expected);
            error.Message.ShouldNotContain("secret words");
        }
        hidden.Message.Replace(id.ToString(), "ID").ShouldBe(missing.Message.Replace(missingId.ToString(), "ID"));
    }

    [Theory]
    [InlineData("artifact://not-a-guid")]
    [InlineData("artifact://0193a000-0000-7000-8000-000000000000/revisions/0")]
    [InlineData("artifact://0193a000-0000-7000-8000-000000000000/revisions/99999999999")]
    [InlineData("file:///etc/passwd")]
    public async Task an_address_that_names_no_artifact_is_not_found(string uri)
    {
        var ada = await Fixture.NewUserAsync();
        await using var client = await Fixture.Host.ClientAsync(ada.AccessToken);

        var error = await Should.ThrowAsync<McpProtocolException>(() => client.ReadResourceAsync(uri).AsTask());

        error.ErrorCode.ShouldBe(McpErrorCode.InvalidParams);
        error.Message.ShouldContain("Resource not found");
    }

    [Fact]
    public async Task a_key_scoped_to_text_reads_and_lists_text_but_not_a_json_artifact()
    {
        var ada = await Fixture.NewUserAsync();
        var workspace = await ada.WorkspaceAsync();
        var text = (await ada.ArtifactAsync(workspace, "Notes", contentType: "text/plain", content: "plain words"))["id"]!.GetValue<Guid>();
        var json = (await ada.ArtifactAsync(workspace, "Data", contentType: "application/json", content: "{\"a\":1}"))["id"]!.GetValue<Guid>();
        var key = await ada.KeyAsync("resource:text/*:read", "resource:text/*:search");
        await Fixture.WaitForProjectionsAsync();
        await using var client = await Fixture.Host.ClientAsync(key.Secret);

        (await client.ListResourcesAsync()).Select(r => r.Uri).ShouldBe([$"artifact://{text}"]);
        (await client.ReadResourceAsync($"artifact://{text}")).Contents.OfType<TextResourceContents>().Single().Text.ShouldBe("plain words");
        var refused = await Should.ThrowAsync<McpProtocolException>(() => client.ReadResourceAsync($"artifact://{json}").AsTask());
        var missing = await Should.ThrowAsync<McpProtocolException>(() => client.ReadResourceAsync($"artifact://{Guid.CreateVersion7()}").AsTask());
        refused.ErrorCode.ShouldBe(missing.ErrorCode);
        // REST says the same to the same key: the resource is its read operation.
        using var rest = Fixture.Host.NewClient(key.Secret);
        (await rest.GetAsync($"/artifacts/{json}")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task a_key_without_the_search_action_lists_nothing_but_reads_by_address()
    {
        var ada = await Fixture.NewUserAsync();
        var text = (await ada.ArtifactAsync(await ada.WorkspaceAsync(), "Notes", contentType: "text/plain", content: "plain words"))["id"]!.GetValue<Guid>();
        var key = await ada.KeyAsync("resource:text/*:read");
        await Fixture.WaitForProjectionsAsync();
        await using var client = await Fixture.Host.ClientAsync(key.Secret);

        (await client.ListResourcesAsync()).ShouldBeEmpty();
        (await client.ReadResourceAsync($"artifact://{text}")).Contents.OfType<TextResourceContents>().Single().Text.ShouldBe("plain words");
    }
}
