using System.Net;
using AgentArtifacts.Api.Tests.ApiKeys;
using AgentArtifacts.Api.Tests.Infrastructure;
using Shouldly;
using Xunit;

namespace AgentArtifacts.Api.Tests.Grants;

/// <summary>An API key acts as its owner narrowed by its scopes and resource list, on every route, through the one check.</summary>
public sealed class KeyNarrowingTests(ApiFixture fixture) : ApiTest(fixture)
{
    [Fact]
    public async Task a_text_read_key_reads_its_owners_text_artifacts_only_and_its_listings_show_only_those()
    {
        var ada = await Fixture.NewUserAsync();
        var workspace = await ada.WorkspaceAsync();
        var notes = (await ada.ArtifactAsync(workspace, "Notes"))["id"]!.GetValue<Guid>();
        var config = (await ada.ArtifactAsync(workspace, "Config", contentType: "application/json", content: "{}"))["id"]!.GetValue<Guid>();
        var key = await ada.KeyAsync("resource:text/*:read");
        using var client = Fixture.Host.NewClient(key.Secret);

        (await client.GetAsync($"/artifacts/{notes}")).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await client.GetAsync($"/artifacts/{config}")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await (await client.PostJson("/artifacts/batch", new { ids = new[] { notes, config } })).Json())["items"]!.AsArray().Count.ShouldBe(1);
        await Fixture.WaitForProjectionsAsync();
        (await (await client.GetAsync($"/workspaces/{workspace}/artifacts")).Json())["items"]!.AsArray()
            .Select(i => i!["id"]!.GetValue<Guid>()).ShouldBe([notes]);
        var before = await Fixture.EventCountAsync();
        (await client.MergePatch($"/artifacts/{notes}", new { title = "no" })).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await Fixture.EventCountAsync()).ShouldBe(before);
    }

    [Fact]
    public async Task a_key_creates_only_the_content_types_its_scopes_name()
    {
        var ada = await Fixture.NewUserAsync();
        var workspace = await ada.WorkspaceAsync();
        var key = await ada.KeyAsync("resource:text/*:create", "resource:*/*:read");
        using var client = Fixture.Host.NewClient(key.Secret);
        var before = await Fixture.EventCountAsync();

        var refused = await client.PostJson("/artifacts", new { containerId = workspace, contentType = "application/json", title = "j", content = "{}" });

        refused.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await refused.ProblemCode()).ShouldBe("insufficient_scope");
        (await Fixture.EventCountAsync()).ShouldBe(before);
        (await client.PostJson("/artifacts", new { containerId = workspace, contentType = "text/markdown", title = "m" })).StatusCode.ShouldBe(HttpStatusCode.Created);
    }

    [Fact]
    public async Task a_key_limited_to_resources_reaches_those_and_their_contents_only()
    {
        var ada = await Fixture.NewUserAsync();
        var (open, closed) = (await ada.WorkspaceAsync("Open"), await ada.WorkspaceAsync("Closed"));
        var inside = (await ada.ArtifactAsync(open))["id"]!.GetValue<Guid>();
        var outside = (await ada.ArtifactAsync(closed))["id"]!.GetValue<Guid>();
        var key = await ada.Client.KeyAsync(["resource:*/*:read"], resourceIds: [open]);
        using var client = Fixture.Host.NewClient(key.Secret);

        (await client.GetAsync($"/artifacts/{inside}")).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await client.GetAsync($"/artifacts/{outside}")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await client.GetAsync($"/workspaces/{closed}")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        await Fixture.WaitForProjectionsAsync();
        (await (await client.GetAsync("/workspaces")).Json())["items"]!.AsArray().Single()!["id"]!.GetValue<Guid>().ShouldBe(open);
    }

    [Fact]
    public async Task a_grant_can_name_a_key_and_then_reaches_the_key_but_not_its_owner()
    {
        var (ada, bob) = (await Fixture.NewUserAsync(), await Fixture.NewUserAsync());
        var docs = await ada.CollectionAsync();
        var key = await bob.KeyAsync("resource:*/*:read");
        var grant = await ada.Client.PostJson("/grants", new { resourceId = docs, grantee = new { type = "apiKey", id = key.Id }, role = "viewer" });
        grant.StatusCode.ShouldBe(HttpStatusCode.Created);
        using var client = Fixture.Host.NewClient(key.Secret);

        (await client.GetAsync($"/collections/{docs}")).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await bob.Client.GetAsync($"/collections/{docs}")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
    }
}
