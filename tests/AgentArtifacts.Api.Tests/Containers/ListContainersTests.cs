using System.Net;
using AgentArtifacts.Api.Tests.Infrastructure;
using Shouldly;
using Xunit;

namespace AgentArtifacts.Api.Tests.Containers;

public sealed class ListContainersTests(ApiFixture fixture) : ApiTest(fixture)
{
    [Fact]
    public async Task workspaces_list_only_the_callers_and_pages_through_each_once()
    {
        var ada = await Fixture.NewUserAsync();
        var bob = await Fixture.NewUserAsync();
        var mine = new List<Guid>();
        for (var i = 0; i < 5; i++) mine.Add(await ada.WorkspaceAsync($"W{i}"));
        await bob.WorkspaceAsync("Bob's");
        await ada.CollectionAsync();
        await Fixture.WaitForProjectionsAsync();

        var seen = new List<Guid>();
        string? cursor = null;
        do
        {
            var page = await (await ada.Client.GetAsync($"/workspaces?limit=2{(cursor is null ? "" : $"&cursor={cursor}")}")).Json();
            seen.AddRange(page["items"]!.AsArray().Select(i => i!["id"]!.GetValue<Guid>()));
            cursor = page["nextCursor"]?.GetValue<string>();
        } while (cursor is not null);

        seen.ShouldBe(mine);
    }

    [Fact]
    public async Task archived_workspaces_are_hidden_unless_asked_for()
    {
        var ada = await Fixture.NewUserAsync();
        var kept = await ada.WorkspaceAsync("Kept");
        var archived = await ada.WorkspaceAsync("Archived");
        await ada.Client.DeleteAsync($"/workspaces/{archived}");
        await Fixture.WaitForProjectionsAsync();

        (await (await ada.Client.GetAsync("/workspaces")).Json())["items"]!.AsArray().Select(i => i!["id"]!.GetValue<Guid>()).ShouldBe([kept]);
        (await (await ada.Client.GetAsync("/workspaces?state=archived")).Json())["items"]!.AsArray().Select(i => i!["id"]!.GetValue<Guid>()).ShouldBe([archived]);
    }

    [Fact]
    public async Task a_bad_state_filter_or_cursor_is_400()
    {
        var ada = await Fixture.NewUserAsync();

        (await ada.Client.GetAsync("/collections?state=sideways")).StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        var badCursor = await ada.Client.GetAsync("/collections?cursor=%%%");
        badCursor.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await badCursor.ProblemCode()).ShouldBe("invalid_cursor");
    }
}
