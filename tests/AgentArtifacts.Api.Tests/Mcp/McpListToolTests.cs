using System.Net.Http.Json;
using System.Text.Json;
using AgentArtifacts.Api.Tests.ApiKeys;
using AgentArtifacts.Api.Tests.Infrastructure;
using Shouldly;
using Xunit;

namespace AgentArtifacts.Api.Tests.Mcp;

/// <summary><c>search</c>, <c>list_containers</c> and <c>list_artifacts</c>: REST's answers, its filters and its pages through <c>cursor</c>.</summary>
public sealed class McpListToolTests(ApiFixture fixture) : ApiTest(fixture)
{
    [Fact]
    public async Task search_finds_what_rest_finds_with_the_query_language_and_pages_with_the_cursor()
    {
        var user = await Fixture.NewUserAsync();
        var workspace = await user.WorkspaceAsync();
        foreach (var n in Enumerable.Range(1, 3)) await user.ArtifactAsync(workspace, $"Retry policy {n}", content: "back off and retry");
        await user.ArtifactAsync(workspace, "Retry as JSON", contentType: "application/json", content: "{\"retry\": true}");
        await user.ArtifactAsync(workspace, "Unrelated", content: "nothing here");
        await Fixture.WaitForProjectionsAsync();
        await using var client = await Fixture.Host.ClientAsync(user.AccessToken);

        var first = (await client.CallAsync("search", new { query = "retry type:text/*", limit = 2 })).Ok();
        var cursor = first.GetProperty("nextCursor").GetString();
        var second = (await client.CallAsync("search", new { query = "retry type:text/*", limit = 2, cursor })).Ok();

        var titles = first.GetProperty("items").EnumerateArray().Concat(second.GetProperty("items").EnumerateArray())
            .Select(h => h.GetProperty("title").GetString()).ToList();
        titles.Order().ShouldBe(["Retry policy 1", "Retry policy 2", "Retry policy 3"]);
        second.GetProperty("nextCursor").ValueKind.ShouldBe(JsonValueKind.Null);
        first.GetProperty("facets").GetProperty("contentType").GetProperty("text/markdown").GetInt64().ShouldBe(3);
        var rest = await (await user.Client.PostJson("/search", new { query = "retry type:text/*", limit = 2 })).Json();
        first.GetProperty("items").GetArrayLength().ShouldBe(rest["items"]!.AsArray().Count);

        var filtered = (await client.CallAsync("search", new { contentTypes = new[] { "application/json" }, states = new[] { "draft" } })).Ok();
        filtered.GetProperty("items").EnumerateArray().Select(h => h.GetProperty("title").GetString()).ShouldBe(["Retry as JSON"]);
    }

    [Fact]
    public async Task search_refusals_are_rests_problems()
    {
        var user = await Fixture.NewUserAsync();
        await using var client = await Fixture.Host.ClientAsync(user.AccessToken);

        (await client.CallAsync("search", new { query = "x", cursor = "not-a-cursor" })).Refused("invalid_cursor");
        (await client.CallAsync("search", new { query = "x", limit = 101 })).Refused("invalid_limit");
        (await client.CallAsync("search", new { query = "x\u0000" })).Refused("invalid_character");
    }

    [Fact]
    public async Task a_key_that_may_not_search_neither_sees_nor_runs_search()
    {
        var user = await Fixture.NewUserAsync();
        var reader = await user.KeyAsync("resource:*/*:read");
        await using var client = await Fixture.Host.ClientAsync(reader.Secret);

        (await client.ListToolsAsync()).Select(t => t.Name).ShouldNotContain("search");
        (await client.CallAsync("search", new { query = "x" })).Refused("insufficient_scope");
    }

    [Fact]
    public async Task list_containers_pages_workspaces_and_collections_as_rest_does()
    {
        var user = await Fixture.NewUserAsync();
        var workspaces = new List<Guid>();
        foreach (var n in Enumerable.Range(1, 3)) workspaces.Add(await user.WorkspaceAsync($"W{n}"));
        var collection = await user.CollectionAsync("Published");
        var other = await Fixture.NewUserAsync();
        await other.WorkspaceAsync("Someone else's");
        await Fixture.WaitForProjectionsAsync();
        await using var client = await Fixture.Host.ClientAsync(user.AccessToken);

        var first = (await client.CallAsync("list_containers", new { kind = "workspace", limit = 2 })).Ok();
        var second = (await client.CallAsync("list_containers", new { kind = "workspace", limit = 2, cursor = first.GetProperty("nextCursor").GetString() })).Ok();
        var collections = (await client.CallAsync("list_containers", new { kind = "collection" })).Ok();

        first.GetProperty("items").EnumerateArray().Concat(second.GetProperty("items").EnumerateArray())
            .Select(c => c.GetProperty("id").GetGuid()).ShouldBe(workspaces);
        second.GetProperty("nextCursor").ValueKind.ShouldBe(JsonValueKind.Null);
        collections.GetProperty("items").EnumerateArray().Select(c => c.GetProperty("id").GetGuid()).ShouldBe([collection]);
        var rest = await user.Client.GetFromJsonAsync<JsonElement>("/workspaces?limit=2");
        first.GetProperty("nextCursor").GetString().ShouldBe(rest.GetProperty("nextCursor").GetString());
        (await client.CallAsync("list_containers", new { kind = "workspace", cursor = "garbage" })).Refused("invalid_cursor");
    }

    [Fact]
    public async Task list_artifacts_pages_a_workspace_with_filters_and_finds_a_collection_without_being_told_its_kind()
    {
        var user = await Fixture.NewUserAsync();
        var collection = await user.CollectionAsync();
        var workspace = await user.WorkspaceAsync(targets: [collection]);
        var notes = new List<Guid>();
        foreach (var n in Enumerable.Range(1, 3)) notes.Add((await user.ArtifactAsync(workspace, $"Note {n}"))["id"]!.GetValue<Guid>());
        await user.ArtifactAsync(workspace, "Data", contentType: "application/json", content: "{}");
        (await user.CommitAsync(workspace, "publish")).EnsureSuccessStatusCode();
        await Fixture.WaitForProjectionsAsync();
        await using var client = await Fixture.Host.ClientAsync(user.AccessToken);

        var first = (await client.CallAsync("list_artifacts", new { containerId = workspace, contentType = "text/*", limit = 2 })).Ok();
        var second = (await client.CallAsync("list_artifacts", new
        {
            containerId = workspace, contentType = "text/*", limit = 2, cursor = first.GetProperty("nextCursor").GetString(),
        })).Ok();
        var published = (await client.CallAsync("list_artifacts", new { containerId = collection, state = "committed" })).Ok();
        var asCollection = (await client.CallAsync("list_artifacts", new { containerId = collection, kind = "collection" })).Ok();

        first.GetProperty("items").EnumerateArray().Concat(second.GetProperty("items").EnumerateArray())
            .Select(a => a.GetProperty("id").GetGuid()).ShouldBe(notes, ignoreOrder: true);
        published.GetProperty("items").GetArrayLength().ShouldBe(4);
        asCollection.GetProperty("items").GetArrayLength().ShouldBe(4);
        (await client.CallAsync("list_artifacts", new { containerId = collection, kind = "workspace" })).Refused("not_found");
        (await client.CallAsync("list_artifacts", new { containerId = Guid.NewGuid() })).Refused("not_found");
        (await client.CallAsync("list_artifacts", new { containerId = workspace, contentType = "not a type" })).Refused("invalid_content_type");
    }

    [Fact]
    public async Task list_artifacts_of_another_users_container_is_not_found_without_its_titles()
    {
        var owner = await Fixture.NewUserAsync();
        var workspace = await owner.WorkspaceAsync();
        await owner.ArtifactAsync(workspace, "Secret roadmap");
        var stranger = await Fixture.NewUserAsync();
        await using var client = await Fixture.Host.ClientAsync(stranger.AccessToken);

        var result = await client.CallAsync("list_artifacts", new { containerId = workspace });

        result.Refused("not_found");
        result.Text().ShouldNotContain("Secret roadmap");
    }
}
