using System.Net;
using System.Text.Json.Nodes;
using AgentArtifacts.Api.Tests.Infrastructure;
using Shouldly;
using Xunit;

namespace AgentArtifacts.Api.Tests.Artifacts;

public sealed class ArtifactRevisionTests(ApiFixture fixture) : ApiTest(fixture)
{
    [Fact]
    public async Task a_copy_reads_its_origins_revisions_and_bad_revision_numbers_are_400_or_404()
    {
        var ada = await Fixture.NewUserAsync();
        var bob = await Fixture.NewUserAsync();
        var home = await ada.WorkspaceAsync("Home");
        var id = Id(await ada.ArtifactAsync(home, "Original"));
        await ada.CommitAsync(home, "one");
        var copy = Id(await (await ada.Client.PostJson($"/artifacts/{id}/checkout", new { workspaceId = await ada.WorkspaceAsync("Other") })).Json());

        var revisions = (await (await ada.Client.GetAsync($"/artifacts/{copy}/revisions")).Json())["items"]!.AsArray();
        revisions.Single()!["artifactId"]!.GetValue<Guid>().ShouldBe(id);
        var first = await ada.Client.GetAsync($"/artifacts/{copy}?revision=1");
        (await first.Json())["id"]!.GetValue<Guid>().ShouldBe(id);
        first.Headers.ETag.ShouldNotBeNull();
        var notModified = new HttpRequestMessage(HttpMethod.Get, $"/artifacts/{id}?revision=1");
        notModified.Headers.IfNoneMatch.Add(first.Headers.ETag!);
        (await ada.Client.SendAsync(notModified)).StatusCode.ShouldBe(HttpStatusCode.NotModified);

        (await (await ada.Client.GetAsync($"/artifacts/{id}?revision=0")).ProblemCode()).ShouldBe("invalid_revision");
        (await (await ada.Client.GetAsync($"/artifacts/{id}?revision=2")).ProblemCode()).ShouldBe("revision_not_found");
        (await ada.Client.GetAsync($"/artifacts/{id}?revision=x")).StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await bob.Client.GetAsync($"/artifacts/{id}?revision=1")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await bob.Client.GetAsync($"/artifacts/{id}/revisions")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await (await ada.Client.GetAsync($"/artifacts/{id}/revisions?cursor=bad")).ProblemCode()).ShouldBe("invalid_cursor");
    }

    private static Guid Id(JsonObject artifact) => artifact["id"]!.GetValue<Guid>();
}
