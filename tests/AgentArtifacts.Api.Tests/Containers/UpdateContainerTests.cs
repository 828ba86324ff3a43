using System.Net;
using AgentArtifacts.Api.Tests.Infrastructure;
using Shouldly;
using Xunit;

namespace AgentArtifacts.Api.Tests.Containers;

public sealed class UpdateContainerTests(ApiFixture fixture) : ApiTest(fixture)
{
    [Fact]
    public async Task rename_and_set_targets_with_if_match()
    {
        var ada = await Fixture.NewUserAsync();
        var workspace = await ada.WorkspaceAsync("Old");
        var collection = await ada.CollectionAsync();

        var response = await ada.Client.SendJson(HttpMethod.Patch, $"/workspaces/{workspace}",
            new { title = "New", targetCollectionIds = new[] { collection } }, r => r.Headers.TryAddWithoutValidation("If-Match", "\"1\""));

        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        response.Headers.ETag!.Tag.ShouldBe("\"3\"");
        var body = await response.Json();
        body["title"]!.GetValue<string>().ShouldBe("New");
        body["targetCollectionIds"]!.AsArray().Single()!.GetValue<Guid>().ShouldBe(collection);
    }

    [Fact]
    public async Task stale_if_match_is_412()
    {
        var ada = await Fixture.NewUserAsync();
        var collection = await ada.CollectionAsync("Old");

        var response = await ada.Client.SendJson(HttpMethod.Patch, $"/collections/{collection}", new { title = "New" },
            r => r.Headers.TryAddWithoutValidation("If-Match", "\"5\""));

        response.StatusCode.ShouldBe(HttpStatusCode.PreconditionFailed);
    }

    [Fact]
    public async Task a_workspace_id_on_the_collection_route_is_404()
    {
        var ada = await Fixture.NewUserAsync();
        var workspace = await ada.WorkspaceAsync();

        (await ada.Client.SendJson(HttpMethod.Patch, $"/collections/{workspace}", new { title = "x" })).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await ada.Client.GetAsync($"/collections/{workspace}")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task archive_then_the_workspace_takes_no_new_artifacts()
    {
        var ada = await Fixture.NewUserAsync();
        var workspace = await ada.WorkspaceAsync();

        (await ada.Client.DeleteAsync($"/workspaces/{workspace}")).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        (await (await ada.Client.GetAsync($"/workspaces/{workspace}")).Json())["state"]!.GetValue<string>().ShouldBe("archived");
        (await ada.Client.DeleteAsync($"/workspaces/{workspace}")).StatusCode.ShouldBe(HttpStatusCode.Conflict);
        (await ada.Client.PostJson("/artifacts", new { containerId = workspace, contentType = "text/plain", title = "late" }))
            .StatusCode.ShouldBe(HttpStatusCode.NotFound);
    }
}
