using System.Net;
using AgentArtifacts.Api.Tests.Infrastructure;
using Shouldly;
using Xunit;

namespace AgentArtifacts.Api.Tests.Artifacts;

public sealed class ArchiveArtifactTests(ApiFixture fixture) : ApiTest(fixture)
{
    [Fact]
    public async Task delete_archives_and_the_artifact_stays_readable_then_restore_brings_it_back()
    {
        var ada = await Fixture.NewUserAsync();
        var created = await ada.ArtifactAsync(await ada.WorkspaceAsync());
        var url = $"/artifacts/{created["id"]}";

        var deleted = await ada.Client.DeleteAsync(url);
        deleted.StatusCode.ShouldBe(HttpStatusCode.NoContent);
        deleted.Headers.ETag!.Tag.ShouldBe("\"2\"");
        (await (await ada.Client.GetAsync(url)).Json())["state"]!.GetValue<string>().ShouldBe("archived");

        var restored = await ada.Client.PostAsync($"{url}/restore", null);
        restored.StatusCode.ShouldBe(HttpStatusCode.OK);
        (await restored.Json())["state"]!.GetValue<string>().ShouldBe("draft");
    }

    [Fact]
    public async Task archiving_twice_is_409_and_restoring_a_live_artifact_is_409()
    {
        var ada = await Fixture.NewUserAsync();
        var created = await ada.ArtifactAsync(await ada.WorkspaceAsync());
        var url = $"/artifacts/{created["id"]}";

        var restoreLive = await ada.Client.PostAsync($"{url}/restore", null);
        restoreLive.StatusCode.ShouldBe(HttpStatusCode.Conflict);
        (await restoreLive.ProblemCode()).ShouldBe("not_archived");

        await ada.Client.DeleteAsync(url);
        var before = await Fixture.EventCountAsync();
        var again = await ada.Client.DeleteAsync(url);
        again.StatusCode.ShouldBe(HttpStatusCode.Conflict);
        (await again.ProblemCode()).ShouldBe("already_archived");
        (await Fixture.EventCountAsync()).ShouldBe(before);
    }

    [Fact]
    public async Task delete_with_stale_if_match_is_412()
    {
        var ada = await Fixture.NewUserAsync();
        var created = await ada.ArtifactAsync(await ada.WorkspaceAsync());
        var request = new HttpRequestMessage(HttpMethod.Delete, $"/artifacts/{created["id"]}");
        request.Headers.TryAddWithoutValidation("If-Match", "\"7\"");

        (await ada.Client.SendAsync(request)).StatusCode.ShouldBe(HttpStatusCode.PreconditionFailed);
        (await (await ada.Client.GetAsync($"/artifacts/{created["id"]}")).Json())["state"]!.GetValue<string>().ShouldBe("draft");
    }

    [Fact]
    public async Task another_user_cannot_archive()
    {
        var ada = await Fixture.NewUserAsync();
        var bob = await Fixture.NewUserAsync();
        var created = await ada.ArtifactAsync(await ada.WorkspaceAsync());

        (await bob.Client.DeleteAsync($"/artifacts/{created["id"]}")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await bob.Client.PostAsync($"/artifacts/{created["id"]}/restore", null)).StatusCode.ShouldBe(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task a_workspace_is_not_archived_through_the_artifact_route()
    {
        var ada = await Fixture.NewUserAsync();
        var workspace = await ada.WorkspaceAsync();

        (await ada.Client.DeleteAsync($"/artifacts/{workspace}")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
    }
}
