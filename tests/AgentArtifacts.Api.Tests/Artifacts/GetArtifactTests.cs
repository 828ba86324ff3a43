using System.Net;
using AgentArtifacts.Api.Tests.Infrastructure;
using Shouldly;
using Xunit;

namespace AgentArtifacts.Api.Tests.Artifacts;

public sealed class GetArtifactTests(ApiFixture fixture) : ApiTest(fixture)
{
    [Fact]
    public async Task get_returns_the_artifact_with_its_etag()
    {
        var ada = await Fixture.NewUserAsync();
        var created = await ada.ArtifactAsync(await ada.WorkspaceAsync(), content: "body");

        var response = await ada.Client.GetAsync($"/artifacts/{created["id"]}");

        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        response.Headers.ETag!.Tag.ShouldBe("\"1\"");
        var body = await response.Json();
        body["content"]!.GetValue<string>().ShouldBe("body");
        body["version"]!.GetValue<long>().ShouldBe(1);
    }

    [Fact]
    public async Task get_with_a_matching_if_none_match_is_304_and_a_stale_one_is_200()
    {
        var ada = await Fixture.NewUserAsync();
        var created = await ada.ArtifactAsync(await ada.WorkspaceAsync());

        var notModified = new HttpRequestMessage(HttpMethod.Get, $"/artifacts/{created["id"]}");
        notModified.Headers.TryAddWithoutValidation("If-None-Match", "\"1\"");
        (await ada.Client.SendAsync(notModified)).StatusCode.ShouldBe(HttpStatusCode.NotModified);

        var stale = new HttpRequestMessage(HttpMethod.Get, $"/artifacts/{created["id"]}");
        stale.Headers.TryAddWithoutValidation("If-None-Match", "\"0\"");
        (await ada.Client.SendAsync(stale)).StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public async Task an_unknown_id_is_404()
    {
        var ada = await Fixture.NewUserAsync();
        var response = await ada.Client.GetAsync($"/artifacts/{Guid.CreateVersion7()}");

        response.StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await response.ProblemCode()).ShouldBe("not_found");
    }

    [Fact]
    public async Task a_malformed_id_is_404()
    {
        var ada = await Fixture.NewUserAsync();
        (await ada.Client.GetAsync("/artifacts/not-a-guid")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task another_users_artifact_is_404_as_if_it_did_not_exist()
    {
        var ada = await Fixture.NewUserAsync();
        var bob = await Fixture.NewUserAsync();
        var created = await ada.ArtifactAsync(await ada.WorkspaceAsync());

        var response = await bob.Client.GetAsync($"/artifacts/{created["id"]}");

        response.StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await response.ProblemCode()).ShouldBe("not_found");
    }
}
