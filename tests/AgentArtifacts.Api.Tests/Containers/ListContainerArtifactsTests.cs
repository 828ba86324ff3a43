using System.Net;
using AgentArtifacts.Api.Tests.Infrastructure;
using Shouldly;
using Xunit;

namespace AgentArtifacts.Api.Tests.Containers;

public sealed class ListContainerArtifactsTests(ApiFixture fixture) : ApiTest(fixture)
{
    [Fact]
    public async Task filters_by_content_type_family_and_state()
    {
        var ada = await Fixture.NewUserAsync();
        var workspace = await ada.WorkspaceAsync();
        var markdown = (await ada.ArtifactAsync(workspace, "md", "text/markdown"))["id"]!.GetValue<Guid>();
        var plain = (await ada.ArtifactAsync(workspace, "txt", "text/plain"))["id"]!.GetValue<Guid>();
        var json = (await ada.ArtifactAsync(workspace, "json", "application/json", content: "{}"))["id"]!.GetValue<Guid>();
        await ada.Client.DeleteAsync($"/artifacts/{plain}");
        await Fixture.WaitForProjectionsAsync();

        async Task<List<Guid>> Ids(string query) => (await (await ada.Client.GetAsync($"/workspaces/{workspace}/artifacts{query}")).Json())
            ["items"]!.AsArray().Select(i => i!["id"]!.GetValue<Guid>()).ToList();

        (await Ids("")).ShouldBe([markdown, plain, json]);
        (await Ids("?contentType=text/*")).ShouldBe([markdown, plain]);
        (await Ids("?contentType=application/json")).ShouldBe([json]);
        (await Ids("?state=archived")).ShouldBe([plain]);
        (await Ids("?contentType=text/*&state=draft")).ShouldBe([markdown]);
    }

    [Fact]
    public async Task listing_items_carry_no_content()
    {
        var ada = await Fixture.NewUserAsync();
        var workspace = await ada.WorkspaceAsync();
        await ada.ArtifactAsync(workspace, content: "secret-ish body");
        await Fixture.WaitForProjectionsAsync();

        var item = (await (await ada.Client.GetAsync($"/workspaces/{workspace}/artifacts")).Json())["items"]!.AsArray().Single()!.AsObject();

        item.ContainsKey("content").ShouldBeFalse();
        item["title"]!.GetValue<string>().ShouldBe("Notes");
    }

    [Fact]
    public async Task another_users_workspace_listing_is_404()
    {
        var ada = await Fixture.NewUserAsync();
        var bob = await Fixture.NewUserAsync();
        var workspace = await ada.WorkspaceAsync();

        (await bob.Client.GetAsync($"/workspaces/{workspace}/artifacts")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task a_bad_content_type_filter_is_400()
    {
        var ada = await Fixture.NewUserAsync();
        var workspace = await ada.WorkspaceAsync();

        var response = await ada.Client.GetAsync($"/workspaces/{workspace}/artifacts?contentType=%27%3B%20drop%20table");

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await response.ProblemCode()).ShouldBe("invalid_content_type");
    }

    [Fact]
    public async Task a_collection_lists_nothing_before_any_commit()
    {
        var ada = await Fixture.NewUserAsync();
        var collection = await ada.CollectionAsync();
        await ada.ArtifactAsync(await ada.WorkspaceAsync(targets: [collection]));
        await Fixture.WaitForProjectionsAsync();

        var page = await (await ada.Client.GetAsync($"/collections/{collection}/artifacts")).Json();

        page["items"]!.AsArray().Count.ShouldBe(0);
        page["nextCursor"].ShouldBeNull();
    }
}
