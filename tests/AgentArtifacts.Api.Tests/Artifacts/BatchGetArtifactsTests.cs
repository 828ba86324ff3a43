using System.Net;
using AgentArtifacts.Api.Tests.Infrastructure;
using Shouldly;
using Xunit;

namespace AgentArtifacts.Api.Tests.Artifacts;

public sealed class BatchGetArtifactsTests(ApiFixture fixture) : ApiTest(fixture)
{
    [Fact]
    public async Task batch_returns_the_visible_ids_in_request_order_and_skips_the_rest()
    {
        var ada = await Fixture.NewUserAsync();
        var bob = await Fixture.NewUserAsync();
        var workspace = await ada.WorkspaceAsync();
        var first = (await ada.ArtifactAsync(workspace, "First"))["id"]!.GetValue<Guid>();
        var second = (await ada.ArtifactAsync(workspace, "Second"))["id"]!.GetValue<Guid>();
        var bobs = (await bob.ArtifactAsync(await bob.WorkspaceAsync(), "Bob's"))["id"]!.GetValue<Guid>();

        var response = await ada.Client.PostJson("/artifacts/batch", new { ids = new[] { second, bobs, Guid.CreateVersion7(), first, second } });

        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        (await response.Json())["items"]!.AsArray().Select(i => i!["id"]!.GetValue<Guid>()).ShouldBe([second, first]);
    }

    [Fact]
    public async Task an_empty_or_oversize_batch_is_400()
    {
        var ada = await Fixture.NewUserAsync();

        (await ada.Client.PostJson("/artifacts/batch", new { ids = Array.Empty<Guid>() })).StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await ada.Client.PostJson("/artifacts/batch", new { ids = Enumerable.Range(0, 201).Select(_ => Guid.NewGuid()) }))
            .StatusCode.ShouldBe(HttpStatusCode.BadRequest);
    }
}
