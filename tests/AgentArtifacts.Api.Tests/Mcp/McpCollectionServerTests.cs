using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using AgentArtifacts.Api.Mcp.Collections;
using AgentArtifacts.Api.Tests.Infrastructure;
using AgentArtifacts.Api.Tests.Runs;
using ModelContextProtocol;
using ModelContextProtocol.Client;
using Shouldly;
using Xunit;
using static AgentArtifacts.Api.Tests.Mcp.McpRunToolTests;

namespace AgentArtifacts.Api.Tests.Mcp;

/// <summary><c>/collections/{id}/mcp</c>: the collection's committed tools as an MCP server, each call an ordinary invoke of that revision.</summary>
public sealed class McpCollectionServerTests(ApiFixture fixture) : ApiTest(fixture), IAsyncLifetime
{
    private const string HttpTool = "application/vnd.agience.http-tool+json";
    private HttpPeer _peer = null!;

    async Task IAsyncLifetime.InitializeAsync()
    {
        await Fixture.ResetAsync();
        _peer = await HttpPeer.StartAsync();
    }

    async Task IAsyncLifetime.DisposeAsync() => await _peer.DisposeAsync();

    private static JsonObject CitySchema(string property = "city") =>
        new() { ["type"] = "object", ["properties"] = new JsonObject { [property] = new JsonObject { ["type"] = "string" } }, ["required"] = new JsonArray(property) };

    private JsonObject ToolContext(string path, JsonObject? schema = null, bool approval = false)
    {
        var context = new JsonObject { ["endpoint"] = new JsonObject { ["url"] = _peer.Url(path).ToString() } };
        if (schema is not null) context["inputSchema"] = schema;
        if (approval) context["requiresApproval"] = true;
        return context;
    }

    /// <summary>Ada's collection, and a workspace that commits into it.</summary>
    private async Task<(TestUser Ada, Guid Collection, Guid Workspace)> CollectionAsync()
    {
        var ada = await Fixture.NewUserAsync();
        var collection = await ada.CollectionAsync("Weather tools");
        var workspace = await ada.WorkspaceAsync(targets: [collection]);
        return (ada, collection, workspace);
    }

    private async Task CommitAsync(TestUser user, Guid workspace, string message = "Publish")
    {
        var response = await user.CommitAsync(workspace, message);
        response.StatusCode.ShouldBe(HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        await Fixture.WaitForProjectionsAsync();
    }

    private static string Path(Guid collection) => $"/collections/{collection}/mcp";

    [Fact]
    public async Task a_committed_tool_is_listed_with_its_schema_and_a_call_is_a_run_of_its_revision()
    {
        var (ada, collection, workspace) = await CollectionAsync();
        var tool = (await ada.ArtifactAsync(workspace, "Current weather", HttpTool, content: null, context: ToolContext("/echo", CitySchema())))["id"]!.GetValue<Guid>();
        (await ada.Client.MergePatch($"/artifacts/{tool}", new { description = "The weather in a city now." })).StatusCode.ShouldBe(HttpStatusCode.OK);
        await ada.ArtifactAsync(workspace, "Readme", content: "# Not a tool");
        await CommitAsync(ada, workspace);
        await using var client = await Fixture.Host.ClientAsync(ada.AccessToken, Path(collection), McpConnect.InitializeGeneration);

        var tools = await client.ListToolsAsync();

        client.ServerInfo!.Name.ShouldBe($"agentartifacts-collection-{collection}");
        client.ServerInfo.Title.ShouldBe("Weather tools");
        client.ServerCapabilities!.Tools!.ListChanged.ShouldNotBe(true);
        client.ServerCapabilities.Resources.ShouldBeNull();
        var listed = tools.ShouldHaveSingleItem();
        listed.Name.ShouldBe("current_weather");
        listed.Title.ShouldBe("Current weather");
        listed.Description.ShouldBe("The weather in a city now.");
        listed.JsonSchema.GetProperty("required").EnumerateArray().Select(r => r.GetString()).ShouldBe(["city"]);
        listed.ProtocolTool.Annotations!.OpenWorldHint.ShouldBe(true);

        var result = await client.CallToolAsync("current_weather", Args(("city", "Oslo")));

        result.IsError.ShouldNotBe(true, Text(result));
        listed.ProtocolTool.ShouldMatchOutputSchema(result.StructuredContent!.Value);
        var run = result.StructuredContent!.Value.GetProperty("run");
        run.GetProperty("status").GetString().ShouldBe("completed");
        run.GetProperty("output").GetProperty("echo").GetProperty("city").GetString().ShouldBe("Oslo");
        var rest = await (await ada.Client.GetAsync($"/runs/{run.GetProperty("id").GetGuid()}")).Json();
        (rest["artifactId"]!.GetValue<Guid>(), rest["revision"]!.GetValue<int>(), rest["callerId"]!.GetValue<Guid>()).ShouldBe((tool, 1, ada.Id));
    }

    [Fact]
    public async Task the_collections_server_serves_none_of_the_services_own_tools_and_an_unknown_tool_is_a_protocol_error()
    {
        var (ada, collection, workspace) = await CollectionAsync();
        await ada.ArtifactAsync(workspace, "Echo", HttpTool, content: null, context: ToolContext("/echo"));
        await CommitAsync(ada, workspace);
        await using var client = await Fixture.Host.ClientAsync(ada.AccessToken, Path(collection), McpConnect.InitializeGeneration);

        var names = (await client.ListToolsAsync()).Select(t => t.Name).ToList();
        var unknown = await Should.ThrowAsync<McpProtocolException>(() => client.CallToolAsync("get_artifact", Args(("id", collection))).AsTask());

        names.ShouldBe(["echo"]);
        unknown.ErrorCode.ShouldBe(McpErrorCode.InvalidParams);
    }

    [Fact]
    public async Task a_new_revision_changes_the_next_list_and_a_call_runs_that_revision_never_the_draft()
    {
        var (ada, collection, workspace) = await CollectionAsync();
        var tool = (await ada.ArtifactAsync(workspace, "Weather", HttpTool, content: null, context: ToolContext("/echo", CitySchema())))["id"]!.GetValue<Guid>();
        await CommitAsync(ada, workspace, "First");
        await using var client = await Fixture.Host.ClientAsync(ada.AccessToken, Path(collection));
        var first = (await client.ListToolsAsync()).ShouldHaveSingleItem();
        first.Name.ShouldBe("weather");

        (await ada.Client.MergePatch($"/artifacts/{tool}", new { title = "Forecast", context = ToolContext("/echo", CitySchema("town")) }))
            .StatusCode.ShouldBe(HttpStatusCode.OK);
        await CommitAsync(ada, workspace, "Second");
        // An edit not committed: the collection still serves revision 2.
        (await ada.Client.MergePatch($"/artifacts/{tool}", new { title = "Draft", context = ToolContext("/status/500") })).StatusCode.ShouldBe(HttpStatusCode.OK);

        var second = (await client.ListToolsAsync()).ShouldHaveSingleItem();
        var result = await client.CallToolAsync("forecast", Args(("town", "Bergen")));

        second.Name.ShouldBe("forecast");
        second.JsonSchema.GetProperty("required").EnumerateArray().Select(r => r.GetString()).ShouldBe(["town"]);
        result.IsError.ShouldNotBe(true, Text(result));
        var run = result.StructuredContent!.Value.GetProperty("run");
        var follow = result.StructuredContent!.Value.GetProperty("follow");
        (run.GetProperty("revision").GetInt32(), run.GetProperty("status").GetString()).ShouldBe((2, "completed"));
        run.GetProperty("output").GetProperty("echo").GetProperty("town").GetString().ShouldBe("Bergen");
        var stale = await client.CallToolAsync("weather", Args(("city", "Oslo"))).AsTask().ContinueWith(t => t.Exception?.InnerException);
        stale.ShouldBeOfType<McpProtocolException>();
    }

    [Fact]
    public async Task a_member_with_invoke_on_the_collection_runs_its_tools_and_a_viewer_without_invoke_is_refused_with_nothing_appended()
    {
        var (ada, collection, workspace) = await CollectionAsync();
        await ada.ArtifactAsync(workspace, "Echo", HttpTool, content: null, context: ToolContext("/echo"));
        await CommitAsync(ada, workspace);
        var (bob, cleo) = (await Fixture.NewUserAsync(), await Fixture.NewUserAsync());
        (await ada.GrantAsync(collection, bob.Id, role: "viewer")).StatusCode.ShouldBe(HttpStatusCode.Created);
        (await ada.GrantAsync(collection, cleo.Id, role: "collaborator")).StatusCode.ShouldBe(HttpStatusCode.Created);
        await using var viewer = await Fixture.Host.ClientAsync(bob.AccessToken, Path(collection));
        await using var member = await Fixture.Host.ClientAsync(cleo.AccessToken, Path(collection));

        (await viewer.ListToolsAsync()).Select(t => t.Name).ShouldBe(["echo"]);
        var before = await Fixture.EventCountAsync();
        var refused = await viewer.CallToolAsync("echo", Args(("n", 1)));
        (await Fixture.EventCountAsync()).ShouldBe(before);
        var allowed = await member.CallToolAsync("echo", Args(("n", 2)));

        refused.IsError.ShouldBe(true);
        Text(refused).ShouldStartWith("permission_denied:");
        allowed.IsError.ShouldNotBe(true, Text(allowed));
        allowed.StructuredContent!.Value.GetProperty("run").GetProperty("callerId").GetGuid().ShouldBe(cleo.Id);
        _peer.Calls.ShouldBe(1);
    }

    [Fact]
    public async Task a_caller_who_cannot_read_the_collection_gets_404_at_connect()
    {
        var (ada, collection, workspace) = await CollectionAsync();
        var stranger = await Fixture.NewUserAsync();
        const string initialize = """{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}""";
        using var http = new HttpClient();

        foreach (var (id, bearer) in new[] { (collection, stranger.AccessToken), (Guid.NewGuid(), ada.AccessToken), (workspace, ada.AccessToken) })
        {
            var response = await http.SendAsync(Fixture.Host.Post(initialize, bearer, Path(id)));
            response.StatusCode.ShouldBe(HttpStatusCode.NotFound);
            response.Content.Headers.ContentType!.MediaType.ShouldBe("application/problem+json");
            (await response.Json())["code"]!.GetValue<string>().ShouldBe("not_found");
        }
        (await http.SendAsync(Fixture.Host.Post(initialize, null, Path(collection)))).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task a_tool_that_needs_approval_answers_with_the_pending_run()
    {
        var (ada, collection, workspace) = await CollectionAsync();
        await ada.ArtifactAsync(workspace, "Pay", HttpTool, content: null, context: ToolContext("/echo", approval: true));
        await CommitAsync(ada, workspace);
        await using var client = await Fixture.Host.ClientAsync(ada.AccessToken, Path(collection));

        var result = await client.CallToolAsync("pay", Args(("amount", 5)));

        result.IsError.ShouldNotBe(true, Text(result));
        var run = result.StructuredContent!.Value.GetProperty("run");
        var follow = result.StructuredContent!.Value.GetProperty("follow");
        run.GetProperty("status").GetString().ShouldBe("awaiting_approval");
        follow.GetProperty("tool").GetString().ShouldBe("get_run");
        _peer.Calls.ShouldBe(0);
    }

    [Fact]
    public async Task the_collections_prompts_are_served_at_their_committed_revision_and_no_others()
    {
        var (ada, collection, workspace) = await CollectionAsync();
        const string promptType = "application/vnd.agience.prompt+json";
        var context = new { arguments = new[] { new { name = "city", description = "The city.", required = true } } };
        var prompt = (await ada.ArtifactAsync(workspace, "Plan a trip", promptType, content: "Plan a day in {{city}}.", context: context))["id"]!.GetValue<Guid>();
        await CommitAsync(ada, workspace);
        (await ada.Client.MergePatch($"/artifacts/{prompt}", new { content = "A draft nobody committed: {{city}}" })).StatusCode.ShouldBe(HttpStatusCode.OK);
        var elsewhere = await ada.WorkspaceAsync("Not published");
        await ada.ArtifactAsync(elsewhere, "Other prompt", promptType, content: "{{city}}", context: context);
        await Fixture.WaitForProjectionsAsync();
        await using var client = await Fixture.Host.ClientAsync(ada.AccessToken, Path(collection));

        var listed = (await client.ListPromptsAsync()).ShouldHaveSingleItem().ProtocolPrompt;
        var rendered = await client.GetPromptAsync(listed.Name, new Dictionary<string, object?> { ["city"] = "Oslo" });

        listed.Name.ShouldBe(Api.Mcp.Prompts.PromptNames.Of(prompt, "Plan a trip"));
        listed.Arguments!.ShouldHaveSingleItem().Name.ShouldBe("city");
        rendered.Messages.ShouldHaveSingleItem().Content.ShouldBeOfType<ModelContextProtocol.Protocol.TextContentBlock>().Text.ShouldBe("Plan a day in Oslo.");
        await Should.ThrowAsync<McpProtocolException>(() => client.GetPromptAsync(listed.Name).AsTask());
    }

    [Fact]
    public async Task one_hundred_sixty_tools_page_with_cursors_under_stable_unique_names()
    {
        var (ada, collection, workspace) = await CollectionAsync();
        await using (var session = Fixture.Host.Store.LightweightSession())
        {
            session.LastModifiedBy = ada.Id.ToString();
            for (var i = 0; i < 160; i++)
            {
                var id = Guid.CreateVersion7();
                // Titles repeat: 40 of them share a slug with another.
                session.Events.StartStream<Api.Artifacts.Artifact>(id, new Api.Artifacts.ArtifactCreated(id, workspace, HttpTool, $"Lookup {i % 120}!",
                    null, [], ToolContext("/echo"), null));
            }
            await session.SaveChangesAsync();
        }
        await CommitAsync(ada, workspace);
        await using var client = await Fixture.Host.ClientAsync(ada.AccessToken, Path(collection));

        var first = await client.ListToolsAsync(new ModelContextProtocol.Protocol.ListToolsRequestParams());
        var second = await client.ListToolsAsync(new ModelContextProtocol.Protocol.ListToolsRequestParams { Cursor = first.NextCursor });
        var all = (await client.ListToolsAsync()).Select(t => t.Name).ToList();

        first.Tools.Count.ShouldBe(100);
        first.NextCursor.ShouldNotBeNull();
        second.Tools.Count.ShouldBe(60);
        second.NextCursor.ShouldBeNull();
        var names = first.Tools.Concat(second.Tools).Select(t => t.Name).ToList();
        names.Distinct().Count().ShouldBe(160);
        names.ShouldAllBe(n => Regex.IsMatch(n, "^[A-Za-z0-9_.-]{1,128}$"));
        names.ShouldContain("lookup_7");
        names.Count(n => n.StartsWith("lookup_7_")).ShouldBe(1);
        all.ShouldBe(names);
        var suffixed = names.First(n => Regex.IsMatch(n, "^lookup_[0-9]+_[0-9a-f]{12}$"));
        var call = await client.CallToolAsync(suffixed, Args(("n", 1)));
        call.IsError.ShouldNotBe(true, Text(call));
        await Should.ThrowAsync<McpProtocolException>(() =>
            client.ListToolsAsync(new ModelContextProtocol.Protocol.ListToolsRequestParams { Cursor = "not-a-cursor" }).AsTask());
    }
}

/// <summary>Tool names of a collection: slugs of titles, unique, valid, and stable as tools are added.</summary>
public sealed class ToolNamesTests
{
    private static readonly Guid Older = Guid.Parse("01900000-0000-7000-8000-00000000000a");
    private static readonly Guid Newer = Guid.Parse("01900000-0000-7000-8000-00000000000b");
    private static readonly Guid Newest = Guid.Parse("01900000-0000-7000-8000-00000000000c");

    [Theory]
    [InlineData("Current weather", "current_weather")]
    [InlineData("  Éclair: v2.1 (beta)!! ", "clair_v2.1_beta")]
    [InlineData("a/b\\c", "a_b_c")]
    [InlineData("???", "tool")]
    [InlineData("", "tool")]
    public void a_slug_is_the_titles_letters_digits_dots_and_dashes_in_lower_case(string title, string slug) =>
        ToolNames.Slug(title).ShouldBe(slug);

    [Fact]
    public void a_long_title_is_cut_to_a_valid_name()
    {
        var slug = ToolNames.Slug(new string('x', 300));
        slug.Length.ShouldBe(ToolNames.MaxSlug);
        ToolNames.Assign([(Newer, new string('x', 300)), (Older, new string('x', 300))]).Values
            .ShouldAllBe(n => Regex.IsMatch(n, "^[A-Za-z0-9_.-]{1,128}$"));
    }

    [Fact]
    public void titles_that_share_a_slug_keep_it_for_the_oldest_and_add_the_id_to_the_others()
    {
        var names = ToolNames.Assign([(Newer, "Search!"), (Older, "search"), (Newest, "Fetch")]);

        names[Older].ShouldBe("search");
        names[Newer].ShouldBe("search_00000000000b");
        names[Newest].ShouldBe("fetch");
    }

    [Fact]
    public void adding_a_tool_renames_none_already_there_and_the_order_given_does_not_matter()
    {
        var before = ToolNames.Assign([(Older, "Search"), (Newer, "Search")]);
        var after = ToolNames.Assign([(Newest, "Search"), (Newer, "Search"), (Older, "Search")]);

        after[Older].ShouldBe(before[Older]);
        after[Newer].ShouldBe(before[Newer]);
        after.Values.Distinct().Count().ShouldBe(3);
    }

    [Fact]
    public void a_title_that_looks_like_a_suffixed_name_does_not_take_it_from_the_tool_it_belongs_to()
    {
        var names = ToolNames.Assign([(Older, "search"), (Newer, "search"), (Newest, "search_00000000000b")]);

        names[Newest].ShouldBe("search_00000000000b");
        names[Newer].ShouldBe($"search_{Newer:N}");
        names.Values.Distinct().Count().ShouldBe(3);
    }
}
