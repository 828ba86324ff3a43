using System.Net;
using AgentArtifacts.Api.Artifacts;
using AgentArtifacts.Api.Tests.Infrastructure;
using Marten;
using Shouldly;
using Xunit;

namespace AgentArtifacts.Api.Tests.Artifacts;

public sealed class UpdateArtifactTests(ApiFixture fixture) : ApiTest(fixture)
{
    [Fact]
    public async Task merge_patch_with_if_match_appends_one_event_per_changed_field()
    {
        var ada = await Fixture.NewUserAsync();
        var created = await ada.ArtifactAsync(await ada.WorkspaceAsync(), context: new { language = "en" }, tags: ["x"]);
        var id = created["id"]!.GetValue<Guid>();

        var response = await ada.Client.MergePatch($"/artifacts/{id}",
            new { title = "Renamed", tags = new[] { "x" }, context = new { language = (string?)null }, content = "new body" }, "\"1\"");

        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        response.Headers.ETag!.Tag.ShouldBe("\"4\"");
        var body = await response.Json();
        body["title"]!.GetValue<string>().ShouldBe("Renamed");
        body["content"]!.GetValue<string>().ShouldBe("new body");
        body["context"]!.AsObject().Count.ShouldBe(0);
        await using var session = Fixture.Host.Store.QuerySession();
        var events = await session.Events.FetchStreamAsync(id);
        events.Select(e => e.Data.GetType()).ShouldBe([typeof(ArtifactCreated), typeof(ArtifactRetitled), typeof(ArtifactContentRevised), typeof(ArtifactContextChanged)]);
    }

    [Fact]
    public async Task patch_without_if_match_is_allowed()
    {
        var ada = await Fixture.NewUserAsync();
        var created = await ada.ArtifactAsync(await ada.WorkspaceAsync());

        var response = await ada.Client.MergePatch($"/artifacts/{created["id"]}", new { description = "about" });

        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        (await response.Json())["description"]!.GetValue<string>().ShouldBe("about");
    }

    [Fact]
    public async Task patch_that_changes_nothing_appends_nothing()
    {
        var ada = await Fixture.NewUserAsync();
        var created = await ada.ArtifactAsync(await ada.WorkspaceAsync(), title: "Same");
        var before = await Fixture.EventCountAsync();

        var response = await ada.Client.MergePatch($"/artifacts/{created["id"]}", new { title = "Same" }, "\"1\"");

        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        response.Headers.ETag!.Tag.ShouldBe("\"1\"");
        (await Fixture.EventCountAsync()).ShouldBe(before);
    }

    [Fact]
    public async Task patch_with_stale_if_match_is_412_and_changes_nothing()
    {
        var ada = await Fixture.NewUserAsync();
        var created = await ada.ArtifactAsync(await ada.WorkspaceAsync());
        await ada.Client.MergePatch($"/artifacts/{created["id"]}", new { title = "v2" }, "\"1\"");
        var before = await Fixture.EventCountAsync();

        var response = await ada.Client.MergePatch($"/artifacts/{created["id"]}", new { title = "v3" }, "\"1\"");

        response.StatusCode.ShouldBe(HttpStatusCode.PreconditionFailed);
        (await response.ProblemCode()).ShouldBe("precondition_failed");
        (await Fixture.EventCountAsync()).ShouldBe(before);
        (await (await ada.Client.GetAsync($"/artifacts/{created["id"]}")).Json())["title"]!.GetValue<string>().ShouldBe("v2");
    }

    [Fact]
    public async Task an_unparseable_if_match_is_412()
    {
        var ada = await Fixture.NewUserAsync();
        var created = await ada.ArtifactAsync(await ada.WorkspaceAsync());

        var response = await ada.Client.MergePatch($"/artifacts/{created["id"]}", new { title = "v2" }, "W/\"abc\"");

        response.StatusCode.ShouldBe(HttpStatusCode.PreconditionFailed);
    }

    [Fact]
    public async Task concurrent_patches_with_the_same_if_match_exactly_one_wins()
    {
        var ada = await Fixture.NewUserAsync();
        var created = await ada.ArtifactAsync(await ada.WorkspaceAsync());
        var id = created["id"]!.GetValue<Guid>();

        var responses = await Task.WhenAll(Enumerable.Range(0, 8).Select(i =>
            ada.Client.MergePatch($"/artifacts/{id}", new { title = $"writer {i}" }, "\"1\"")));

        responses.Count(r => r.StatusCode == HttpStatusCode.OK).ShouldBe(1);
        responses.Count(r => r.StatusCode == HttpStatusCode.PreconditionFailed).ShouldBe(7);
        await using var session = Fixture.Host.Store.QuerySession();
        (await session.Events.FetchStreamAsync(id)).Count.ShouldBe(2);
    }

    [Fact]
    public async Task concurrent_patches_without_if_match_never_lose_an_update()
    {
        var ada = await Fixture.NewUserAsync();
        var created = await ada.ArtifactAsync(await ada.WorkspaceAsync());
        var id = created["id"]!.GetValue<Guid>();

        var responses = await Task.WhenAll(Enumerable.Range(0, 6).Select(i =>
            ada.Client.MergePatch($"/artifacts/{id}", new { title = $"writer {i}" })));

        responses.ShouldAllBe(r => r.StatusCode == HttpStatusCode.OK || r.StatusCode == HttpStatusCode.Conflict);
        var succeeded = responses.Count(r => r.StatusCode == HttpStatusCode.OK);
        await using var session = Fixture.Host.Store.QuerySession();
        (await session.Events.FetchStreamAsync(id)).Count.ShouldBe(1 + succeeded);
    }

    [Theory]
    [InlineData("{\"title\": 5}", "title")]
    [InlineData("{\"title\": \"\"}", "title")]
    [InlineData("{\"tags\": \"x\"}", "tags")]
    [InlineData("{\"content\": {\"a\": 1}}", "content")]
    [InlineData("{\"state\": \"committed\"}", "state")]
    [InlineData("{\"version\": 9}", "version")]
    public async Task invalid_patch_is_400_naming_the_field_and_changes_nothing(string patch, string field)
    {
        var ada = await Fixture.NewUserAsync();
        var created = await ada.ArtifactAsync(await ada.WorkspaceAsync());
        var before = await Fixture.EventCountAsync();

        var response = await ada.Client.SendJson(HttpMethod.Patch, $"/artifacts/{created["id"]}", patch, mediaType: "application/merge-patch+json");

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await response.Json())["errors"]!.AsObject().ContainsKey(field).ShouldBeTrue();
        (await Fixture.EventCountAsync()).ShouldBe(before);
    }

    [Fact]
    public async Task malformed_patch_json_is_400()
    {
        var ada = await Fixture.NewUserAsync();
        var created = await ada.ArtifactAsync(await ada.WorkspaceAsync());

        var response = await ada.Client.SendJson(HttpMethod.Patch, $"/artifacts/{created["id"]}", "{\"title\": ", mediaType: "application/merge-patch+json");

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await response.ProblemCode()).ShouldBe("invalid_json");
    }

    [Fact]
    public async Task context_that_breaks_the_schema_is_400()
    {
        var ada = await Fixture.NewUserAsync();
        var created = await ada.ArtifactAsync(await ada.WorkspaceAsync(), contentType: "application/vnd.agience.http-tool+json",
            context: new { endpoint = new { url = "https://example.com/hook" } });

        var response = await ada.Client.MergePatch($"/artifacts/{created["id"]}", new { context = new { timeoutSeconds = "soon" } });

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await response.Json())["errors"]!.AsObject().ContainsKey("context.timeoutSeconds").ShouldBeTrue();
    }

    [Fact]
    public async Task an_immutable_context_field_cannot_change()
    {
        var ada = await Fixture.NewUserAsync();
        var created = await ada.ArtifactAsync(await ada.WorkspaceAsync(), contentType: "application/vnd.agience.mcp-server+json",
            context: new { transport = new { type = "http", url = "https://mcp.example.com/mcp" } });
        var before = await Fixture.EventCountAsync();

        var response = await ada.Client.MergePatch($"/artifacts/{created["id"]}",
            new { context = new { transport = new { url = "https://evil.example.com/mcp" } } });

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await response.Json())["errors"]!.AsObject().ContainsKey("context.transport").ShouldBeTrue();
        (await Fixture.EventCountAsync()).ShouldBe(before);
    }

    [Fact]
    public async Task another_users_artifact_is_404_and_unchanged()
    {
        var ada = await Fixture.NewUserAsync();
        var bob = await Fixture.NewUserAsync();
        var created = await ada.ArtifactAsync(await ada.WorkspaceAsync());
        var before = await Fixture.EventCountAsync();

        var response = await bob.Client.MergePatch($"/artifacts/{created["id"]}", new { title = "mine now" });

        response.StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await Fixture.EventCountAsync()).ShouldBe(before);
    }

    [Fact]
    public async Task patching_an_archived_artifact_is_409()
    {
        var ada = await Fixture.NewUserAsync();
        var created = await ada.ArtifactAsync(await ada.WorkspaceAsync());
        (await ada.Client.DeleteAsync($"/artifacts/{created["id"]}")).StatusCode.ShouldBe(HttpStatusCode.NoContent);

        var response = await ada.Client.MergePatch($"/artifacts/{created["id"]}", new { title = "x" });

        response.StatusCode.ShouldBe(HttpStatusCode.Conflict);
        (await response.ProblemCode()).ShouldBe("artifact_archived");
    }
}
