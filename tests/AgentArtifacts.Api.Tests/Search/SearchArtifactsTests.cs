using System.Net;
using System.Text.Json.Nodes;
using AgentArtifacts.Api.Search;
using AgentArtifacts.Api.Tests.ApiKeys;
using AgentArtifacts.Api.Tests.Infrastructure;
using Shouldly;
using Xunit;

namespace AgentArtifacts.Api.Tests.Search;

public sealed class SearchArtifactsTests(ApiFixture fixture) : ApiTest(fixture)
{
    private sealed record Corpus(TestUser Ada, Guid Workspace, Guid TitleHit, Guid TagHit, Guid ContentHit, Guid Phrase, Guid Json, Guid Archived);

    private static Guid Id(JsonObject artifact) => artifact["id"]!.GetValue<Guid>();

    private async Task<Corpus> ArrangeAsync()
    {
        var ada = await Fixture.NewUserAsync();
        var workspace = await ada.WorkspaceAsync("Kitchen");
        var contentHit = Id(await ada.ArtifactAsync(workspace, "Weekly plan", content: "Buy flour for the sourdough bread on Friday"));
        var titleHit = Id(await ada.ArtifactAsync(workspace, "Sourdough bread", content: "Starter, water, salt"));
        var tagHit = Id(await ada.ArtifactAsync(workspace, "Baking log", content: "Oven at 250", tags: ["sourdough"]));
        var phrase = Id(await ada.ArtifactAsync(workspace, "Pasta recipe", content: "Fresh pasta with tomato sauce"));
        var json = Id(await ada.ArtifactAsync(workspace, "Pasta index", "application/json", content: "{\"dish\": \"recipe for pasta\"}"));
        var archived = Id(await ada.ArtifactAsync(workspace, "Old pasta notes", content: "Dry pasta"));
        (await ada.Client.DeleteAsync($"/artifacts/{archived}")).IsSuccessStatusCode.ShouldBeTrue();
        await Fixture.WaitForProjectionsAsync();
        return new Corpus(ada, workspace, titleHit, tagHit, contentHit, phrase, json, archived);
    }

    private static async Task<JsonObject> SearchAsync(TestUser user, object body)
    {
        var response = await user.Client.PostJson("/search", body);
        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        return await response.Json();
    }

    private static async Task<List<Guid>> IdsAsync(TestUser user, string query) =>
        (await SearchAsync(user, new { query }))["items"]!.AsArray().Select(i => i!["id"]!.GetValue<Guid>()).ToList();

    [Fact]
    public async Task title_matches_outrank_tag_matches_which_outrank_content_matches()
    {
        var c = await ArrangeAsync();

        (await IdsAsync(c.Ada, "sourdough")).ShouldBe([c.TitleHit, c.TagHit, c.ContentHit]);

        var first = (await SearchAsync(c.Ada, new { query = "sourdough" }))["items"]![0]!;
        first["title"]!.GetValue<string>().ShouldBe("Sourdough bread");
        first["highlights"]!["title"]![0]!.AsArray().Select(n => n!.GetValue<int>()).ShouldBe([0, 9]);
        var contentHit = (await SearchAsync(c.Ada, new { query = "flour" }))["items"]![0]!;
        var snippet = contentHit["snippet"]!.GetValue<string>();
        snippet.ShouldContain("flour");
        var range = contentHit["highlights"]!["snippet"]![0]!.AsArray().Select(n => n!.GetValue<int>()).ToArray();
        snippet.Substring(range[0], range[1]).ShouldBe("flour");
        snippet.ShouldNotContain("<");
    }

    [Fact]
    public async Task phrases_exclusions_or_and_filters()
    {
        var c = await ArrangeAsync();

        (await IdsAsync(c.Ada, "\"pasta recipe\"")).ShouldBe([c.Phrase]);
        (await IdsAsync(c.Ada, "pasta -tomato")).ShouldBe([c.Json, c.Archived], ignoreOrder: true);
        (await IdsAsync(c.Ada, "flour OR tomato")).ShouldBe([c.ContentHit, c.Phrase], ignoreOrder: true);
        (await IdsAsync(c.Ada, "pasta type:application/json")).ShouldBe([c.Json]);
        (await IdsAsync(c.Ada, "pasta state:archived")).ShouldBe([c.Archived]);
        (await IdsAsync(c.Ada, "tag:sourdough")).ShouldBe([c.TagHit]);

        var filtered = await SearchAsync(c.Ada, new { query = "pasta", states = new[] { "draft" }, contentTypes = new[] { "TEXT/MARKDOWN" } });
        filtered["items"]!.AsArray().Select(i => i!["id"]!.GetValue<Guid>()).ShouldBe([c.Phrase]);

        var get = await c.Ada.Client.GetAsync($"/search?q=pasta&states=archived,draft&containerIds={c.Workspace}");
        get.StatusCode.ShouldBe(HttpStatusCode.OK);
        (await get.Json())["items"]!.AsArray().Count.ShouldBe(3);

        // Only filters: allowed as lists, ordered by recency.
        var everything = await SearchAsync(c.Ada, new { containerIds = new[] { c.Workspace } });
        everything["items"]!.AsArray().Count.ShouldBe(6);
        everything["items"]![0]!["id"]!.GetValue<Guid>().ShouldBe(c.Archived);
    }

    [Fact]
    public async Task another_users_artifacts_never_appear_not_even_in_facets_until_a_grant_shows_them()
    {
        var c = await ArrangeAsync();
        var bob = await Fixture.NewUserAsync();
        var bobs = await bob.WorkspaceAsync();
        await bob.ArtifactAsync(bobs, "Bob's pasta", content: "pasta pasta pasta");
        await Fixture.WaitForProjectionsAsync();

        var result = await SearchAsync(bob, new { query = "pasta" });
        result["items"]!.AsArray().Count.ShouldBe(1);
        result["facets"]!["contentType"]!.AsObject().ToDictionary(p => p.Key, p => p.Value!.GetValue<long>())
            .ShouldBe(new Dictionary<string, long> { ["text/markdown"] = 1 });
        result["facets"]!["state"]!.AsObject().ToDictionary(p => p.Key, p => p.Value!.GetValue<long>())
            .ShouldBe(new Dictionary<string, long> { ["draft"] = 1 });
        (await IdsAsync(c.Ada, "bob")).ShouldBeEmpty();

        (await c.Ada.GrantAsync(c.Workspace, bob.Id, "viewer")).IsSuccessStatusCode.ShouldBeTrue();
        var granted = await SearchAsync(bob, new { query = "pasta" });
        granted["items"]!.AsArray().Count.ShouldBe(4);
        granted["facets"]!["contentType"]!["text/markdown"]!.GetValue<long>().ShouldBe(3);
        granted["facets"]!["contentType"]!["application/json"]!.GetValue<long>().ShouldBe(1);
    }

    [Fact]
    public async Task the_index_follows_edits_commits_archives_and_moves()
    {
        var ada = await Fixture.NewUserAsync();
        var workspace = await ada.WorkspaceAsync();
        var other = await ada.WorkspaceAsync("Other");
        var id = Id(await ada.ArtifactAsync(workspace, "Draft title", content: "nothing yet", context: new { topic = "volcanoes" }));
        await Fixture.WaitForProjectionsAsync();
        (await IdsAsync(ada, "volcanoes")).ShouldBe([id]);  // context text is indexed

        (await ada.Client.MergePatch($"/artifacts/{id}", new { title = "Glacier survey", content = "ice cores" })).IsSuccessStatusCode.ShouldBeTrue();
        await Fixture.WaitForProjectionsAsync();
        (await IdsAsync(ada, "draft")).ShouldBeEmpty();
        (await IdsAsync(ada, "glacier state:draft")).ShouldBe([id]);
        (await IdsAsync(ada, "cores")).ShouldBe([id]);

        (await ada.CommitAsync(workspace, "first")).IsSuccessStatusCode.ShouldBeTrue();
        await Fixture.WaitForProjectionsAsync();
        var committed = (await SearchAsync(ada, new { query = "glacier state:committed" }))["items"]!.AsArray().ShouldHaveSingleItem()!;
        committed["revision"]!.GetValue<int>().ShouldBe(1);

        (await ada.Client.DeleteAsync($"/artifacts/{id}")).IsSuccessStatusCode.ShouldBeTrue();
        await Fixture.WaitForProjectionsAsync();
        (await IdsAsync(ada, "glacier -state:archived")).ShouldBeEmpty();
        (await ada.Client.PostAsync($"/artifacts/{id}/restore", null)).IsSuccessStatusCode.ShouldBeTrue();

        var moved = Id(await ada.ArtifactAsync(workspace, "Moving box"));
        (await ada.Client.PostJson($"/artifacts/{moved}/move", new { workspaceId = other })).IsSuccessStatusCode.ShouldBeTrue();
        await Fixture.WaitForProjectionsAsync();
        (await IdsAsync(ada, $"glacier -state:archived")).ShouldBe([id]);
        (await IdsAsync(ada, $"box container:{other}")).ShouldBe([moved]);
        (await IdsAsync(ada, $"box container:{workspace}")).ShouldBeEmpty();
        (await IdsAsync(ada, "workspace")).ShouldBeEmpty();  // containers themselves are not indexed
    }

    [Fact]
    public async Task content_near_the_size_limit_is_indexed_in_part_and_does_not_stall_the_projection()
    {
        var ada = await Fixture.NewUserAsync();
        var workspace = await ada.WorkspaceAsync();
        // ~950 KB of distinct words that stem differently: indexed whole, in both forms, they would exceed PostgreSQL's 1 MB tsvector limit.
        var words = string.Join(' ', Enumerable.Range(0, 45_000).Select(i => $"q{i:x8}{i * 7919:x8}ing"));
        var big = Id(await ada.ArtifactAsync(workspace, "Huge", content: "aardvark " + words + " zebrafinch"));
        var small = Id(await ada.ArtifactAsync(workspace, "Small", content: "aardvark"));
        await Fixture.WaitForProjectionsAsync();

        (await IdsAsync(ada, "aardvark")).ShouldBe([big, small], ignoreOrder: true);
        (await IdsAsync(ada, "zebrafinch")).ShouldBeEmpty();  // past the indexed part
    }

    [Fact]
    public async Task an_api_key_needs_the_search_action_and_finds_only_its_content_types()
    {
        var c = await ArrangeAsync();
        var markdownSearch = await c.Ada.KeyAsync("resource:text/*:search");
        using var searcher = Fixture.Host.NewClient(markdownSearch.Secret);
        var hits = (await (await searcher.PostJson("/search", new { query = "pasta" })).Json())["items"]!.AsArray();
        hits.Select(i => i!["contentType"]!.GetValue<string>()).ShouldAllBe(t => t == "text/markdown");
        hits.Count.ShouldBe(2);

        var readOnly = await c.Ada.KeyAsync("resource:*/*:read");
        using var reader = Fixture.Host.NewClient(readOnly.Secret);
        (await reader.PostJson("/search", new { query = "pasta" })).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task paging_yields_each_hit_once_in_rank_order()
    {
        var ada = await Fixture.NewUserAsync();
        var workspace = await ada.WorkspaceAsync();
        var expected = new List<Guid>();
        for (var i = 0; i < 7; i++) expected.Add(Id(await ada.ArtifactAsync(workspace, $"Note {i}", content: "same words here")));
        expected.Add(Id(await ada.ArtifactAsync(workspace, "words", content: "words words")));
        await Fixture.WaitForProjectionsAsync();

        var seen = new List<Guid>();
        string? cursor = null;
        var pages = 0;
        do
        {
            var page = await SearchAsync(ada, new { query = "words", limit = 3, cursor });
            seen.AddRange(page["items"]!.AsArray().Select(i => i!["id"]!.GetValue<Guid>()));
            cursor = page["nextCursor"]?.GetValue<string>();
            pages++;
        } while (cursor is not null && pages < 10);

        seen.Count.ShouldBe(8);
        seen.ShouldBeUnique();
        seen[0].ShouldBe(expected[^1]);  // the title match first
        seen.Skip(1).ShouldBe(expected.Take(7).Reverse());  // then equal scores, most recently updated first
    }

    [Theory]
    [InlineData("\"unclosed", 0)]
    [InlineData("pasta OR", 6)]
    [InlineData("", 0)]
    [InlineData("   ", 0)]
    public async Task a_malformed_query_is_400_invalid_query_with_its_position(string query, int position)
    {
        var ada = await Fixture.NewUserAsync();
        var response = await ada.Client.PostJson("/search", new { query });
        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        var problem = await response.Json();
        problem["code"]!.GetValue<string>().ShouldBe("invalid_query");
        problem["position"]!.GetValue<int>().ShouldBe(SearchQuery.Parse(query).Error!.Position);
        problem["position"]!.GetValue<int>().ShouldBe(position);
    }

    [Fact]
    public async Task over_long_queries_bad_cursors_and_bad_states_are_400()
    {
        var ada = await Fixture.NewUserAsync();
        (await ada.Client.PostJson("/search", new { query = new string('a', 1001) })).StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await (await ada.Client.PostJson("/search", new { query = "a", cursor = "nope" })).ProblemCode()).ShouldBe("invalid_cursor");
        (await (await ada.Client.PostJson("/search", new { query = "a", states = new[] { "gone" } })).ProblemCode()).ShouldBe("invalid_state");
        (await (await ada.Client.PostJson("/search", new { query = "a", limit = 101 })).ProblemCode()).ShouldBe("invalid_limit");
        (await (await ada.Client.GetAsync("/search?q=a&containerIds=x")).ProblemCode()).ShouldBe("invalid_container_id");
    }

    [Fact]
    public async Task hostile_input_never_500s()
    {
        var ada = await Fixture.NewUserAsync();
        var workspace = await ada.WorkspaceAsync();
        await ada.ArtifactAsync(workspace, "Ünïcödé 東京 title", content: "x & y | !z ('q'):* <-> \\ \u0002mark\u0003");
        await Fixture.WaitForProjectionsAsync();
        string[] hostile =
        [
            "&|!():*<>'\"", "\\", "a:* & b", "'; drop table x; --", "<-> <2>", "!!", "東京", "ünïcödé", "\u0002mark\u0003",
            new string('x', 200), "type:*", "tag:\"a b\"", "created:>2026-01-01 x", "container:not-a-guid", "a OR OR b", "-x",
            "mark", "\"(q)\"", "🎉 pasta", "\u202Etxt",
        ];
        foreach (var q in hostile)
        {
            var post = await ada.Client.PostJson("/search", new { query = q });
            ((int)post.StatusCode).ShouldBeOneOf([200, 400], $"POST {q}: {await post.Content.ReadAsStringAsync()}");
            var get = await ada.Client.GetAsync($"/search?q={Uri.EscapeDataString(q)}");
            ((int)get.StatusCode).ShouldBeOneOf([200, 400], $"GET {q}");
        }
        var marked = await SearchAsync(ada, new { query = "mark" });
        marked["items"]!.AsArray().Count.ShouldBe(1);
        marked["items"]![0]!["snippet"]!.GetValue<string>().ShouldNotContain("\u0002");
    }
}
