using System.Net;
using System.Text.Json.Nodes;
using AgentArtifacts.Api.Search;
using AgentArtifacts.Api.Tests.ApiKeys;
using AgentArtifacts.Api.Tests.Infrastructure;
using Marten;
using Marten.Events;
using Microsoft.Extensions.Configuration;
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

        // contentTypes takes wildcards as type: does.
        var texts = await SearchAsync(c.Ada, new { query = "pasta", contentTypes = new[] { "text/*" } });
        texts["items"]!.AsArray().Select(i => i!["id"]!.GetValue<Guid>()).ShouldBe([c.Phrase, c.Archived], ignoreOrder: true);
        var getJson = await c.Ada.Client.GetAsync("/search?q=pasta&contentTypes=image/png,*/json");
        (await getJson.Json())["items"]!.AsArray().Select(i => i!["id"]!.GetValue<Guid>()).ShouldBe([c.Json]);

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
    public async Task a_collections_readers_find_its_members_at_the_committed_revision_never_the_draft()
    {
        var ada = await Fixture.NewUserAsync();
        var docs = await ada.CollectionAsync("Docs");
        var workspace = await ada.WorkspaceAsync(targets: [docs]);
        var id = Id(await ada.ArtifactAsync(workspace, "Glacier survey", content: "ice cores from the north face", tags: ["field"]));
        var unpublished = Id(await ada.ArtifactAsync(workspace, "Glacier budget", content: "draft numbers"));
        (await ada.CommitAsync(workspace, "first", [id])).IsSuccessStatusCode.ShouldBeTrue();
        (await ada.Client.MergePatch($"/artifacts/{id}", new { title = "Glacier survey v2", content = "moraine samples" })).IsSuccessStatusCode.ShouldBeTrue();
        var bob = await Fixture.NewUserAsync();
        (await ada.GrantAsync(docs, bob.Id, "viewer")).IsSuccessStatusCode.ShouldBeTrue();
        await Fixture.WaitForProjectionsAsync();

        // Bob reads the collection only: revision 1, as committed, in the collection; no draft, no unpublished artifact.
        var found = await SearchAsync(bob, new { query = "glacier" });
        var hit = found["items"]!.AsArray().ShouldHaveSingleItem()!;
        (hit["id"]!.GetValue<Guid>(), hit["containerId"]!.GetValue<Guid>(), hit["revision"]!.GetValue<int>()).ShouldBe((id, docs, 1));
        (hit["title"]!.GetValue<string>(), hit["state"]!.GetValue<string>()).ShouldBe(("Glacier survey", "committed"));
        (await SearchAsync(bob, new { query = "cores" }))["items"]![0]!["snippet"]!.GetValue<string>().ShouldContain("cores from the north face");
        (await IdsAsync(bob, "moraine")).ShouldBeEmpty();
        (await IdsAsync(bob, "budget")).ShouldBeEmpty();
        found["facets"]!["state"]!.AsObject().ToDictionary(p => p.Key, p => p.Value!.GetValue<long>()).ShouldBe(new Dictionary<string, long> { ["committed"] = 1 });
        (await IdsAsync(bob, $"tag:field container:{docs}")).ShouldBe([id]);

        // Ada reads both: the draft in the workspace and revision 1 in the collection, one hit each.
        var both = (await SearchAsync(ada, new { query = "survey" }))["items"]!.AsArray();
        both.Select(h => (h!["containerId"]!.GetValue<Guid>(), h["revision"]!.GetValue<int>(), h["state"]!.GetValue<string>()))
            .ShouldBe([(workspace, 1, "draft"), (docs, 1, "committed")], ignoreOrder: true);

        // The next commit replaces the member: Bob now finds revision 2 and no longer revision 1's words.
        (await ada.CommitAsync(workspace, "second", [id])).IsSuccessStatusCode.ShouldBeTrue();
        await Fixture.WaitForProjectionsAsync();
        var second = (await SearchAsync(bob, new { query = "moraine" }))["items"]!.AsArray().ShouldHaveSingleItem()!;
        (second["revision"]!.GetValue<int>(), second["title"]!.GetValue<string>()).ShouldBe((2, "Glacier survey v2"));
        (await IdsAsync(bob, "cores")).ShouldBeEmpty();

        // Archiving is committed too: the member stays findable as archived.
        (await ada.Client.DeleteAsync($"/artifacts/{id}")).IsSuccessStatusCode.ShouldBeTrue();
        (await ada.CommitAsync(workspace, "retire", [id])).IsSuccessStatusCode.ShouldBeTrue();
        await Fixture.WaitForProjectionsAsync();
        (await IdsAsync(bob, "moraine state:archived")).ShouldBe([id]);
        (await IdsAsync(bob, "moraine state:committed")).ShouldBeEmpty();
        (await IdsAsync(ada, $"budget container:{workspace}")).ShouldBe([unpublished]);
    }

    [Fact]
    public async Task a_deny_on_the_artifact_hides_its_member_from_a_collection_reader_items_and_facets_alike()
    {
        var ada = await Fixture.NewUserAsync();
        var docs = await ada.CollectionAsync("Docs");
        var workspace = await ada.WorkspaceAsync(targets: [docs]);
        var secret = Id(await ada.ArtifactAsync(workspace, "Salary bands", content: "quarterly figures"));
        var open = Id(await ada.ArtifactAsync(workspace, "Holiday plan", content: "quarterly calendar"));
        (await ada.CommitAsync(workspace, "publish")).IsSuccessStatusCode.ShouldBeTrue();
        var bob = await Fixture.NewUserAsync();
        (await ada.GrantAsync(docs, bob.Id, "viewer")).IsSuccessStatusCode.ShouldBeTrue();
        (await ada.GrantAsync(secret, bob.Id, permissions: ["read"], effect: "deny")).StatusCode.ShouldBe(HttpStatusCode.Created);
        await Fixture.WaitForProjectionsAsync();

        var found = await SearchAsync(bob, new { query = "quarterly" });
        found["items"]!.AsArray().Select(h => h!["id"]!.GetValue<Guid>()).ShouldBe([open]);
        found["facets"]!["state"]!.AsObject().ToDictionary(p => p.Key, p => p.Value!.GetValue<long>())
            .ShouldBe(new Dictionary<string, long> { ["committed"] = 1 });
    }

    [Fact]
    public async Task a_checked_out_copys_commit_updates_the_member_under_the_original_id()
    {
        var ada = await Fixture.NewUserAsync();
        var docs = await ada.CollectionAsync("Docs");
        var first = await ada.WorkspaceAsync("First", targets: [docs]);
        var second = await ada.WorkspaceAsync("Second", targets: [docs]);
        var id = Id(await ada.ArtifactAsync(first, "Runbook", content: "restart the queue"));
        (await ada.CommitAsync(first, "first")).IsSuccessStatusCode.ShouldBeTrue();
        var checkout = await ada.Client.PostJson($"/artifacts/{id}/checkout", new { workspaceId = second });
        checkout.StatusCode.ShouldBe(HttpStatusCode.Created, await checkout.Content.ReadAsStringAsync());
        var copy = Id(await checkout.Json());
        (await ada.Client.MergePatch($"/artifacts/{copy}", new { content = "drain the queue first" })).IsSuccessStatusCode.ShouldBeTrue();
        (await ada.CommitAsync(second, "second")).IsSuccessStatusCode.ShouldBeTrue();
        var bob = await Fixture.NewUserAsync();
        (await ada.GrantAsync(docs, bob.Id, "viewer")).IsSuccessStatusCode.ShouldBeTrue();
        await Fixture.WaitForProjectionsAsync();

        var hit = (await SearchAsync(bob, new { query = "queue" }))["items"]!.AsArray().ShouldHaveSingleItem()!;
        (hit["id"]!.GetValue<Guid>(), hit["revision"]!.GetValue<int>()).ShouldBe((id, 2));
        (await IdsAsync(bob, "drain")).ShouldBe([id]);
    }

    [Fact]
    public async Task paging_yields_an_artifact_once_per_place_it_is_found()
    {
        var ada = await Fixture.NewUserAsync();
        var (docs, wiki) = (await ada.CollectionAsync("Docs"), await ada.CollectionAsync("Wiki"));
        var workspace = await ada.WorkspaceAsync(targets: [docs, wiki]);
        var ids = new List<Guid>();
        for (var i = 0; i < 3; i++) ids.Add(Id(await ada.ArtifactAsync(workspace, $"Same {i}", content: "identical words")));
        (await ada.CommitAsync(workspace, "publish")).IsSuccessStatusCode.ShouldBeTrue();
        await Fixture.WaitForProjectionsAsync();

        var seen = new List<(Guid, Guid)>();
        string? cursor = null;
        do
        {
            var page = await SearchAsync(ada, new { query = "identical", limit = 2, cursor });
            seen.AddRange(page["items"]!.AsArray().Select(h => (h!["id"]!.GetValue<Guid>(), h["containerId"]!.GetValue<Guid>())));
            cursor = page["nextCursor"]?.GetValue<string>();
        } while (cursor is not null && seen.Count < 20);

        // Each artifact three times (its workspace and the two collections), each (artifact, container) once.
        seen.ShouldBeUnique();
        seen.ShouldBe(ids.SelectMany(id => new[] { (id, workspace), (id, docs), (id, wiki) }), ignoreOrder: true);
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
        var result = await (await searcher.PostJson("/search", new { query = "pasta" })).Json();
        var hits = result["items"]!.AsArray();
        hits.Select(i => i!["contentType"]!.GetValue<string>()).ShouldAllBe(t => t == "text/markdown");
        hits.Count.ShouldBe(2);
        // The scopes are part of the query: facets count only what the key may see, and every page is full.
        result["facets"]!["contentType"]!.AsObject().Select(p => p.Key).ShouldBe(["text/markdown"]);
        var first = await (await searcher.PostJson("/search", new { query = "pasta", limit = 1 })).Json();
        first["items"]!.AsArray().Count.ShouldBe(1);
        var next = await (await searcher.PostJson("/search", new { query = "pasta", limit = 1, cursor = first["nextCursor"]!.GetValue<string>() })).Json();
        next["items"]!.AsArray().Count.ShouldBe(1);
        next["nextCursor"].ShouldBeNull();

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
        (await (await ada.Client.PostJson("/search", new { query = "a", contentTypes = new[] { "text" } })).ProblemCode()).ShouldBe("invalid_content_type");
        (await (await ada.Client.GetAsync("/search?q=a&contentTypes=text/markdown,a/b/c")).ProblemCode()).ShouldBe("invalid_content_type");
    }

    [Fact]
    public async Task hostile_input_never_500s()
    {
        var ada = await Fixture.NewUserAsync();
        var workspace = await ada.WorkspaceAsync();
        await ada.ArtifactAsync(workspace, "Ünïcödé 東京 title", content: "x & y | !z ('q'):* <-> \\ mark");
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
    }
}

/// <summary>A host whose search stems in German (<c>Search:Language</c>): the index and the queries use the same configuration.</summary>
public sealed class SearchLanguageTests() : IsolatedHostTest(new Dictionary<string, string?> { ["Search:Language"] = "german" })
{
    [Fact]
    public async Task words_are_stemmed_in_the_configured_language_and_still_found_as_written()
    {
        using var ada = await AdaAsync();
        var workspace = (await (await ada.PostJson("/workspaces", new { title = "Stadt" })).Json())["id"]!.GetValue<Guid>();
        var created = await ada.PostJson("/artifacts", new { containerId = workspace, contentType = "text/plain", title = "Die Häuser am See", content = "Wir wohnen in kleinen Häusern." });
        created.StatusCode.ShouldBe(HttpStatusCode.Created);
        var id = (await created.Json())["id"]!.GetValue<Guid>();
        await Host.Store.WaitForNonStaleProjectionDataAsync(TimeSpan.FromSeconds(30));

        async Task<JsonObject> Search(string q) => await (await ada.GetAsync($"/search?q={Uri.EscapeDataString(q)}")).Json();
        // German stemming: "Haus" and "Häusern" share the stem of "Häuser" (English or simple would not find them).
        var hit = (await Search("Haus"))["items"]!.AsArray().ShouldHaveSingleItem()!;
        hit["id"]!.GetValue<Guid>().ShouldBe(id);
        var title = hit["title"]!.GetValue<string>();
        var range = hit["highlights"]!["title"]![0]!.AsArray().Select(n => n!.GetValue<int>()).ToArray();
        title.Substring(range[0], range[1]).ShouldBe("Häuser");
        (await Search("häusern"))["items"]!.AsArray().Count.ShouldBe(1);
        // German stop words still match as written, through the simple fallback.
        (await Search("\"die häuser\""))["items"]!.AsArray().Count.ShouldBe(1);
    }

    [Theory]
    [InlineData("english'; drop table x; --")]
    [InlineData("Deutsch")]
    public void a_language_that_is_not_a_configuration_name_stops_the_start(string language) =>
        Should.Throw<InvalidOperationException>(() => SearchLanguage.From(new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Search:Language"] = language }).Build()));
}
