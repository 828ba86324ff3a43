using System.Net;
using AgentArtifacts.Api.Tests.Infrastructure;
using Shouldly;
using Xunit;

namespace AgentArtifacts.Api.Tests.Artifacts;

public sealed class GetArtifactHistoryTests(ApiFixture fixture) : ApiTest(fixture)
{
    [Fact]
    public async Task history_lists_every_event_with_actor_and_time_and_pages_by_cursor()
    {
        var ada = await Fixture.NewUserAsync();
        var created = await ada.ArtifactAsync(await ada.WorkspaceAsync());
        var url = $"/artifacts/{created["id"]}";
        await ada.Client.MergePatch(url, new { title = "Two" });
        await ada.Client.MergePatch(url, new { content = "three" });
        await ada.Client.DeleteAsync(url);

        var first = await (await ada.Client.GetAsync($"{url}/history?limit=3")).Json();
        var items = first["items"]!.AsArray();
        items.Select(i => i!["event"]!.GetValue<string>()).ShouldBe(["artifact_created", "artifact_retitled", "artifact_content_revised"]);
        items.ShouldAllBe(i => i!["actor"]!.GetValue<Guid>() == ada.Id);
        items.ShouldAllBe(i => i!["at"]!.GetValue<DateTimeOffset>() > DateTimeOffset.UtcNow.AddMinutes(-5));
        items[1]!["data"]!["title"]!.GetValue<string>().ShouldBe("Two");

        var second = await (await ada.Client.GetAsync($"{url}/history?limit=3&cursor={first["nextCursor"]}")).Json();
        second["items"]!.AsArray().Select(i => i!["version"]!.GetValue<long>()).ShouldBe([4L]);
        second["nextCursor"].ShouldBeNull();
    }

    [Theory]
    [InlineData("cursor=garbage", "invalid_cursor")]
    [InlineData("cursor=djE6YWJj", "invalid_cursor")]
    [InlineData("limit=0", "invalid_limit")]
    [InlineData("limit=201", "invalid_limit")]
    public async Task bad_paging_parameters_are_400(string query, string code)
    {
        var ada = await Fixture.NewUserAsync();
        var created = await ada.ArtifactAsync(await ada.WorkspaceAsync());

        var response = await ada.Client.GetAsync($"/artifacts/{created["id"]}/history?{query}");

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await response.ProblemCode()).ShouldBe(code);
    }

    [Fact]
    public async Task a_limit_that_is_not_a_number_is_400()
    {
        var ada = await Fixture.NewUserAsync();
        var created = await ada.ArtifactAsync(await ada.WorkspaceAsync());

        (await ada.Client.GetAsync($"/artifacts/{created["id"]}/history?limit=lots")).StatusCode.ShouldBe(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task another_users_history_is_404()
    {
        var ada = await Fixture.NewUserAsync();
        var bob = await Fixture.NewUserAsync();
        var created = await ada.ArtifactAsync(await ada.WorkspaceAsync());

        (await bob.Client.GetAsync($"/artifacts/{created["id"]}/history")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
    }
}
