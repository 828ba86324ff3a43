using System.Net;
using System.Text.Json.Nodes;
using AgentArtifacts.Api.Tests.Infrastructure;
using Shouldly;
using Xunit;

namespace AgentArtifacts.Api.Tests.Artifacts;

public sealed class CheckoutArtifactTests(ApiFixture fixture) : ApiTest(fixture)
{
    [Fact]
    public async Task checkout_is_refused_for_drafts_and_twice_into_one_workspace()
    {
        var ada = await Fixture.NewUserAsync();
        var home = await ada.WorkspaceAsync("Home");
        var other = await ada.WorkspaceAsync("Other");
        var id = Id(await ada.ArtifactAsync(home));

        (await (await ada.Client.PostJson($"/artifacts/{id}/checkout", new { workspaceId = other })).ProblemCode()).ShouldBe("not_committed");
        await ada.CommitAsync(home, "commit");
        (await ada.Client.PostJson($"/artifacts/{id}/checkout", new { workspaceId = other })).StatusCode.ShouldBe(HttpStatusCode.Created);
        (await (await ada.Client.PostJson($"/artifacts/{id}/checkout", new { workspaceId = other })).ProblemCode()).ShouldBe("already_checked_out");
        (await (await ada.Client.PostJson($"/artifacts/{id}/checkout", new { workspaceId = home })).ProblemCode()).ShouldBe("already_checked_out");
    }

    [Fact]
    public async Task checking_out_someone_elses_artifact_or_into_someone_elses_workspace_is_404_and_writes_nothing()
    {
        var ada = await Fixture.NewUserAsync();
        var bob = await Fixture.NewUserAsync();
        var home = await ada.WorkspaceAsync();
        var id = Id(await ada.ArtifactAsync(home));
        await ada.CommitAsync(home, "commit");
        var bobs = await bob.WorkspaceAsync();
        var before = await Fixture.EventCountAsync();

        (await bob.Client.PostJson($"/artifacts/{id}/checkout", new { workspaceId = bobs })).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await ada.Client.PostJson($"/artifacts/{id}/checkout", new { workspaceId = bobs })).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await ada.Client.PostJson($"/artifacts/{Guid.NewGuid()}/checkout", new { workspaceId = home })).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await (await ada.Client.PostJson($"/artifacts/{id}/checkout", new { })).ProblemCode()).ShouldBe("validation_failed");
        (await Fixture.EventCountAsync()).ShouldBe(before);
    }

    private static Guid Id(JsonObject artifact) => artifact["id"]!.GetValue<Guid>();
}
