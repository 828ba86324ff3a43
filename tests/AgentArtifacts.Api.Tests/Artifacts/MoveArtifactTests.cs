using System.Net;
using AgentArtifacts.Api.Tests.Infrastructure;
using Shouldly;
using Xunit;

namespace AgentArtifacts.Api.Tests.Artifacts;

public sealed class MoveArtifactTests(ApiFixture fixture) : ApiTest(fixture)
{
    [Fact]
    public async Task a_draft_moves_to_another_workspace_and_the_listings_follow()
    {
        var ada = await Fixture.NewUserAsync();
        var from = await ada.WorkspaceAsync("From");
        var to = await ada.WorkspaceAsync("To");
        var created = await ada.ArtifactAsync(from);

        var response = await ada.Client.PostJson($"/artifacts/{created["id"]}/move", new { workspaceId = to });

        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        (await response.Json())["containerId"]!.GetValue<Guid>().ShouldBe(to);
        await Fixture.WaitForProjectionsAsync();
        (await (await ada.Client.GetAsync($"/workspaces/{from}/artifacts")).Json())["items"]!.AsArray().Count.ShouldBe(0);
        (await (await ada.Client.GetAsync($"/workspaces/{to}/artifacts")).Json())["items"]!.AsArray().Count.ShouldBe(1);
    }

    [Fact]
    public async Task moving_into_someone_elses_workspace_is_404_and_changes_nothing()
    {
        var ada = await Fixture.NewUserAsync();
        var bob = await Fixture.NewUserAsync();
        var created = await ada.ArtifactAsync(await ada.WorkspaceAsync());
        var bobs = await bob.WorkspaceAsync();
        var before = await Fixture.EventCountAsync();

        var response = await ada.Client.PostJson($"/artifacts/{created["id"]}/move", new { workspaceId = bobs });

        response.StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await Fixture.EventCountAsync()).ShouldBe(before);
    }

    [Fact]
    public async Task moving_an_archived_artifact_is_409()
    {
        var ada = await Fixture.NewUserAsync();
        var to = await ada.WorkspaceAsync("To");
        var created = await ada.ArtifactAsync(await ada.WorkspaceAsync("From"));
        await ada.Client.DeleteAsync($"/artifacts/{created["id"]}");

        var response = await ada.Client.PostJson($"/artifacts/{created["id"]}/move", new { workspaceId = to });

        response.StatusCode.ShouldBe(HttpStatusCode.Conflict);
        (await response.ProblemCode()).ShouldBe("not_a_draft");
    }

    [Fact]
    public async Task moving_to_a_collection_is_404_and_a_missing_target_is_400()
    {
        var ada = await Fixture.NewUserAsync();
        var created = await ada.ArtifactAsync(await ada.WorkspaceAsync());
        var collection = await ada.CollectionAsync();

        (await ada.Client.PostJson($"/artifacts/{created["id"]}/move", new { workspaceId = collection })).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        var missing = await ada.Client.PostJson($"/artifacts/{created["id"]}/move", new { });
        missing.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await missing.ProblemCode()).ShouldBe("validation_failed");
    }
}
