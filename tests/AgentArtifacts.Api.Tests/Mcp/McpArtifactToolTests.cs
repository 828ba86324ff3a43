using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AgentArtifacts.Api.Tests.ApiKeys;
using AgentArtifacts.Api.Tests.Infrastructure;
using ModelContextProtocol;
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

    [Theory]
    [InlineData(null)]
    [InlineData(McpConnect.InitializeGeneration)]
    public async Task an_agent_creates_reads_edits_and_archives_an_artifact_with_either_client_generation(string? protocolVersion)
    {
        var user = await Fixture.NewUserAsync();
        var workspace = await user.WorkspaceAsync();
        await using var client = await Fixture.Host.ClientAsync(user.AccessToken, protocolVersion: protocolVersion);

        var created = (await client.CallAsync("create_artifact", new
        {
            containerId = workspace, contentType = "text/markdown", title = " Plan ", content = "# Plan", description = "d", tags = new[] { "a", "a", "b" },
        })).Ok();
        var id = created.GetProperty("id").GetGuid();
        created.GetProperty("title").GetString().ShouldBe("Plan");
        created.GetProperty("state").GetString().ShouldBe("draft");
        created.GetProperty("tags").EnumerateArray().Select(t => t.GetString()).ShouldBe(["a", "b"]);

        var updated = (await client.CallAsync("update_artifact", new
        {
            id, expectedVersion = created.GetProperty("version").GetInt64(), content = "# Plan v2", description = (string?)null,
        })).Ok();
        updated.GetProperty("content").GetString().ShouldBe("# Plan v2");
        updated.GetProperty("description").ValueKind.ShouldBe(JsonValueKind.Null);
        updated.GetProperty("title").GetString().ShouldBe("Plan");

        var read = (await client.CallAsync("get_artifact", new { id })).Ok();
        read.GetProperty("version").GetInt64().ShouldBe(updated.GetProperty("version").GetInt64());

        var archived = (await client.CallAsync("archive_artifact", new { id, expectedVersion = read.GetProperty("version").GetInt64() })).Ok();
        archived.GetProperty("state").GetString().ShouldBe("archived");
        var rest = await user.Client.GetAsync($"/artifacts/{id}");
        (await rest.Json())["state"]!.GetValue<string>().ShouldBe("archived");
        archived.GetProperty("version").GetInt64().ShouldBe(long.Parse(rest.Headers.ETag!.Tag.Trim('"'), System.Globalization.CultureInfo.InvariantCulture));

        (await client.CallAsync("archive_artifact", new { id })).Refused("already_archived");
    }

    [Fact]
    public async Task update_with_a_stale_expected_version_is_precondition_failed_and_changes_nothing()
    {
        var user = await Fixture.NewUserAsync();
        var artifact = await user.ArtifactAsync(await user.WorkspaceAsync(), "Plan");
        var id = artifact["id"]!.GetValue<Guid>();
        var stale = artifact["version"]!.GetValue<long>();
        (await user.Client.MergePatch($"/artifacts/{id}", new { title = "Changed by someone" })).EnsureSuccessStatusCode();
        await using var client = await Fixture.Host.ClientAsync(user.AccessToken);
        var before = await Fixture.EventCountAsync();

        (await client.CallAsync("update_artifact", new { id, expectedVersion = stale, title = "Mine" })).Refused("precondition_failed");
        (await client.CallAsync("archive_artifact", new { id, expectedVersion = stale })).Refused("precondition_failed");

        (await Fixture.EventCountAsync()).ShouldBe(before);
        (await user.Client.GetFromJsonAsync<JsonElement>($"/artifacts/{id}")).GetProperty("title").GetString().ShouldBe("Changed by someone");
    }

    [Fact]
    public async Task writes_on_another_users_artifact_are_the_same_not_found_as_on_a_missing_one_and_change_nothing()
    {
        var owner = await Fixture.NewUserAsync();
        var stranger = await Fixture.NewUserAsync();
        var workspace = await owner.WorkspaceAsync();
        var artifact = await owner.ArtifactAsync(workspace, "Private", content: "secret words");
        var id = artifact["id"]!.GetValue<Guid>();
        var version = artifact["version"]!.GetValue<long>();
        await using var client = await Fixture.Host.ClientAsync(stranger.AccessToken);
        var before = await Fixture.EventCountAsync();

        foreach (var target in new[] { id, Guid.NewGuid() })
        {
            var update = (await client.CallAsync("update_artifact", new { id = target, expectedVersion = version, title = "Mine" })).Refused("not_found");
            var archive = (await client.CallAsync("archive_artifact", new { id = target })).Refused("not_found");
            update.GetProperty("detail").GetString().ShouldBe(archive.GetProperty("detail").GetString());
            (update.ToString() + archive).ShouldNotContain("secret words");
            (update.ToString() + archive).ShouldNotContain("Private");
        }
        (await client.CallAsync("create_artifact", new { containerId = workspace, contentType = "text/plain", title = "Intruder" })).Refused("not_found");

        (await Fixture.EventCountAsync()).ShouldBe(before);
    }

    [Theory]
    [InlineData("a\u0000b", "invalid_character")]
    [InlineData("a\u0085b", "invalid_character")]
    [InlineData("LONG", "validation_failed")]
    [InlineData("   ", "validation_failed")]
    public async Task hostile_or_oversized_strings_get_the_rest_input_checks_400_as_a_tool_error(string title, string code)
    {
        var user = await Fixture.NewUserAsync();
        var workspace = await user.WorkspaceAsync();
        var id = (await user.ArtifactAsync(workspace))["id"]!.GetValue<Guid>();
        var version = (await user.Client.GetFromJsonAsync<JsonElement>($"/artifacts/{id}")).GetProperty("version").GetInt64();
        var text = title == "LONG" ? new string('x', 301) : title;
        await using var client = await Fixture.Host.ClientAsync(user.AccessToken);
        var before = await Fixture.EventCountAsync();

        var create = (await client.CallAsync("create_artifact", new { containerId = workspace, contentType = "text/plain", title = text })).Refused(code);
        var update = (await client.CallAsync("update_artifact", new { id, expectedVersion = version, title = text })).Refused(code);

        create.GetProperty("status").GetInt32().ShouldBe(400);
        update.GetProperty("status").GetInt32().ShouldBe(400);
        (await Fixture.EventCountAsync()).ShouldBe(before);
    }

    [Fact]
    public async Task a_patch_field_rest_cannot_patch_is_refused_by_rest_and_changes_nothing()
    {
        var user = await Fixture.NewUserAsync();
        var artifact = await user.ArtifactAsync(await user.WorkspaceAsync());
        await using var client = await Fixture.Host.ClientAsync(user.AccessToken);
        var before = await Fixture.EventCountAsync();

        var problem = (await client.CallAsync("update_artifact", new
        {
            id = artifact["id"]!.GetValue<Guid>(), expectedVersion = artifact["version"]!.GetValue<long>(), state = "committed",
        })).Refused("validation_failed");

        problem.GetProperty("errors").TryGetProperty("state", out _).ShouldBeTrue();
        (await Fixture.EventCountAsync()).ShouldBe(before);
    }

    public static TheoryData<string, string, string> BadArguments() => new()
    {
        { "get_artifact", """{"id":42}""", "id" },
        { "get_artifact", """{"id":"not-a-uuid"}""", "id" },
        { "get_artifact", """{}""", "id" },
        { "update_artifact", """{"id":"{A}","title":"x"}""", "expectedVersion" },
        { "update_artifact", """{"id":"{A}","expectedVersion":"1"}""", "expectedVersion" },
        { "create_artifact", """{"containerId":"{W}","contentType":"text/plain","title":"x","tags":"one"}""", "tags" },
        { "create_artifact", """{"containerId":"{W}","title":"x"}""", "contentType" },
        { "list_containers", """{"kind":"folder"}""", "kind" },
        { "search", """{"query":"x","states":["drafted"]}""", "states[0]" },
    };

    [Theory]
    [MemberData(nameof(BadArguments))]
    public async Task arguments_that_break_the_input_schema_are_invalid_arguments_naming_the_argument(string tool, string arguments, string named)
    {
        var user = await Fixture.NewUserAsync();
        var workspace = await user.WorkspaceAsync();
        var artifact = (await user.ArtifactAsync(workspace))["id"]!.GetValue<Guid>();
        await using var client = await Fixture.Host.ClientAsync(user.AccessToken);
        var before = await Fixture.EventCountAsync();

        var result = await client.CallToolAsync(tool, JsonSerializer.Deserialize<Dictionary<string, object?>>(
            arguments.Replace("{A}", artifact.ToString()).Replace("{W}", workspace.ToString())));

        var problem = result.Refused("invalid_arguments");
        problem.GetProperty("errors").EnumerateObject().Select(e => e.Name).ShouldContain(named, problem.ToString());
        result.Text().ShouldContain(named);
        (await Fixture.EventCountAsync()).ShouldBe(before);
    }

    [Fact]
    public async Task an_unknown_tool_is_a_protocol_error()
    {
        var user = await Fixture.NewUserAsync();
        await using var client = await Fixture.Host.ClientAsync(user.AccessToken);

        var error = await Should.ThrowAsync<McpProtocolException>(() => client.CallToolAsync("delete_everything").AsTask());

        error.ErrorCode.ShouldBe(McpErrorCode.InvalidParams);
        ((int)error.ErrorCode).ShouldBe(-32602);
    }

    [Fact]
    public async Task a_read_only_key_sees_no_write_tools_and_calling_them_is_insufficient_scope_with_nothing_appended()
    {
        var user = await Fixture.NewUserAsync();
        var workspace = await user.WorkspaceAsync();
        var artifact = await user.ArtifactAsync(workspace);
        var id = artifact["id"]!.GetValue<Guid>();
        var reader = await user.KeyAsync("resource:*/*:read");
        await using var client = await Fixture.Host.ClientAsync(reader.Secret);
        var before = await Fixture.EventCountAsync();

        var listed = (await client.ListToolsAsync()).Select(t => t.Name).ToList();
        listed.ShouldContain("get_artifact");
        listed.ShouldContain("list_artifacts");
        listed.ShouldNotContain("create_artifact");
        listed.ShouldNotContain("update_artifact");
        listed.ShouldNotContain("archive_artifact");
        (await client.CallAsync("create_artifact", new { containerId = workspace, contentType = "text/plain", title = "x" })).Refused("insufficient_scope");
        (await client.CallAsync("update_artifact", new { id, expectedVersion = artifact["version"]!.GetValue<long>(), title = "x" })).Refused("insufficient_scope");
        (await client.CallAsync("archive_artifact", new { id })).Refused("insufficient_scope");

        (await Fixture.EventCountAsync()).ShouldBe(before);
    }

    [Fact]
    public async Task writes_through_mcp_are_audited_in_history_exactly_as_the_same_rest_writes()
    {
        var user = await Fixture.NewUserAsync();
        var workspace = await user.WorkspaceAsync();
        var key = await user.KeyAsync("resource:*/*:read", "resource:*/*:create", "resource:*/*:write");
        using var restClient = Fixture.Host.NewClient(key.Secret);
        await using var mcp = await Fixture.Host.ClientAsync(key.Secret);

        var viaRest = await (await restClient.PostJson("/artifacts", new { containerId = workspace, contentType = "text/plain", title = "REST" })).Json();
        (await restClient.MergePatch($"/artifacts/{viaRest["id"]}", new { content = "edited" }, "\"1\"")).EnsureSuccessStatusCode();
        var viaMcp = (await mcp.CallAsync("create_artifact", new { containerId = workspace, contentType = "text/plain", title = "MCP" })).Ok();
        (await mcp.CallAsync("update_artifact", new { id = viaMcp.GetProperty("id").GetGuid(), expectedVersion = 1, content = "edited" })).Ok();

        var restHistory = await History(viaRest["id"]!.GetValue<Guid>());
        var mcpHistory = await History(viaMcp.GetProperty("id").GetGuid());
        mcpHistory.Select(e => (e.Event, e.Actor)).ShouldBe(restHistory.Select(e => (e.Event, e.Actor)));
        mcpHistory.Select(e => e.Event).ShouldBe(["artifact_created", "artifact_content_revised"]);
        mcpHistory.ShouldAllBe(e => e.Actor == user.Id);

        async Task<List<(string Event, Guid? Actor)>> History(Guid id) =>
            (await user.Client.GetFromJsonAsync<JsonElement>($"/artifacts/{id}/history")).GetProperty("items").EnumerateArray()
                .Select(e => (e.GetProperty("event").GetString()!, e.GetProperty("actor").ValueKind == JsonValueKind.Null ? (Guid?)null : e.GetProperty("actor").GetGuid()))
                .ToList();
    }
}
