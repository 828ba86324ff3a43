using System.Net;
using AgentArtifacts.Api.Tests.Infrastructure;
using Shouldly;
using Xunit;

namespace AgentArtifacts.Api.Tests.Containers;

public sealed class CreateContainerTests(ApiFixture fixture) : ApiTest(fixture)
{
    [Fact]
    public async Task a_workspace_is_an_artifact_of_the_workspace_type_with_its_targets()
    {
        var ada = await Fixture.NewUserAsync();
        var collection = await ada.CollectionAsync();

        var response = await ada.Client.PostJson("/workspaces", new { title = "Drafts", description = "mine", targetCollectionIds = new[] { collection } });

        response.StatusCode.ShouldBe(HttpStatusCode.Created);
        var body = await response.Json();
        response.Headers.Location!.ToString().ShouldBe($"/workspaces/{body["id"]}");
        response.Headers.ETag!.Tag.ShouldBe("\"2\"");
        body["kind"]!.GetValue<string>().ShouldBe("workspace");
        body["contentType"]!.GetValue<string>().ShouldBe("application/vnd.agience.workspace+json");
        body["targetCollectionIds"]!.AsArray().Single()!.GetValue<Guid>().ShouldBe(collection);
    }

    [Fact]
    public async Task a_collection_has_no_targets()
    {
        var ada = await Fixture.NewUserAsync();

        var response = await ada.Client.PostJson("/collections", new { title = "Shared", targetCollectionIds = Array.Empty<Guid>() });

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task targets_must_be_collections_the_caller_can_see()
    {
        var ada = await Fixture.NewUserAsync();
        var bob = await Fixture.NewUserAsync();
        var bobsCollection = await bob.CollectionAsync();
        var adasWorkspace = await ada.WorkspaceAsync();
        var before = await Fixture.EventCountAsync();

        var response = await ada.Client.PostJson("/workspaces", new { title = "x", targetCollectionIds = new[] { bobsCollection, adasWorkspace } });

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await response.ProblemCode()).ShouldBe("invalid_target_collections");
        (await Fixture.EventCountAsync()).ShouldBe(before);
    }

    [Fact]
    public async Task a_blank_title_is_400()
    {
        var ada = await Fixture.NewUserAsync();
        (await ada.Client.PostJson("/workspaces", new { title = " " })).StatusCode.ShouldBe(HttpStatusCode.BadRequest);
    }
}
