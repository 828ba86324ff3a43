using System.Net;
using AgentArtifacts.Api.Tests.Infrastructure;
using Shouldly;
using Xunit;

namespace AgentArtifacts.Api.Tests.Platform;

public sealed class ListPlatformUsersTests(ApiFixture fixture) : ApiTest(fixture)
{
    [Fact]
    public async Task an_admin_lists_every_user_oldest_first_in_pages()
    {
        var admin = await Fixture.NewUserAsync("Admin");
        var others = new List<TestUser>();
        for (var i = 0; i < 4; i++) others.Add(await Fixture.NewUserAsync($"User {i}"));

        var seen = new List<Guid>();
        var pages = 0;
        string? cursor = null;
        do
        {
            var response = await admin.Client.GetAsync("/platform/users?limit=2" + (cursor is null ? "" : $"&cursor={cursor}"));
            response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
            var page = await response.Json();
            var items = page["items"]!.AsArray();
            items.Count.ShouldBeLessThanOrEqualTo(2);
            foreach (var item in items)
            {
                item!.AsObject().Select(p => p.Key).ShouldBe(["id", "email", "name", "isPlatformAdmin", "createdAt"], ignoreOrder: true);
                seen.Add(item["id"]!.GetValue<Guid>());
            }
            cursor = page["nextCursor"]?.GetValue<string>();
            pages++;
        } while (cursor is not null);

        pages.ShouldBe(3);
        seen.ShouldBe([admin.Id, .. others.Select(u => u.Id)]);
    }

    [Fact]
    public async Task the_list_shows_who_is_platform_admin()
    {
        var admin = await Fixture.NewUserAsync();
        var bob = await Fixture.NewUserAsync();

        var items = (await (await admin.Client.GetAsync("/platform/users")).Json())["items"]!.AsArray();

        items.Select(i => (i!["id"]!.GetValue<Guid>(), i["isPlatformAdmin"]!.GetValue<bool>())).ShouldBe([(admin.Id, true), (bob.Id, false)]);
    }

    [Theory]
    [InlineData("?limit=0", "invalid_limit")]
    [InlineData("?limit=201", "invalid_limit")]
    [InlineData("?cursor=not-a-cursor", "invalid_cursor")]
    public async Task bad_paging_is_400_with_a_code(string query, string code)
    {
        var admin = await Fixture.NewUserAsync();

        var response = await admin.Client.GetAsync("/platform/users" + query);

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await response.ProblemCode()).ShouldBe(code);
    }

    [Fact]
    public async Task a_user_who_is_not_platform_admin_gets_403_permission_denied()
    {
        await Fixture.NewUserAsync();
        var bob = await Fixture.NewUserAsync();

        var response = await bob.Client.GetAsync("/platform/users");

        response.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await response.ProblemCode()).ShouldBe("permission_denied");
    }
}
