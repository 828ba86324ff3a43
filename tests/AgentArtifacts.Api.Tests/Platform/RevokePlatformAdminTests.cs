using System.Net;
using AgentArtifacts.Api.Identity;
using AgentArtifacts.Api.Platform;
using AgentArtifacts.Api.Tests.Infrastructure;
using Marten;
using Shouldly;
using Xunit;

namespace AgentArtifacts.Api.Tests.Platform;

public sealed class RevokePlatformAdminTests(ApiFixture fixture) : ApiTest(fixture)
{
    [Fact]
    public async Task an_admin_removes_another_admin_audited_and_effective_with_the_next_token()
    {
        var admin = await Fixture.NewUserAsync();
        var bob = await Fixture.NewUserAsync();
        (await admin.Client.PostAsync($"/platform/users/{bob.Id}/admin", null)).StatusCode.ShouldBe(HttpStatusCode.OK);

        var response = await admin.Client.DeleteAsync($"/platform/users/{bob.Id}/admin");

        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        (await response.Json())["isPlatformAdmin"]!.GetValue<bool>().ShouldBeFalse();
        await using var session = Fixture.Host.Store.QuerySession();
        (await session.LoadAsync<User>(bob.Id))!.IsPlatformAdmin.ShouldBeFalse();
        var events = await session.Events.FetchStreamAsync(bob.Id);
        events.Select(e => e.Data).ShouldBe([new UserPlatformAdminGranted(bob.Id), new UserPlatformAdminRevoked(bob.Id)]);
        events.ShouldAllBe(e => e.UserName == admin.Id.ToString());
        var token = (await Fixture.TokenAsync(bob.Email, bob.Password))["access_token"]!.GetValue<string>();
        (await Fixture.Host.NewClient(token).GetAsync("/platform/users")).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task the_last_admin_cannot_remove_themself_409_last_admin()
    {
        var admin = await Fixture.NewUserAsync();
        await Fixture.NewUserAsync();
        var events = await Fixture.EventCountAsync();

        var response = await admin.Client.DeleteAsync($"/platform/users/{admin.Id}/admin");

        response.StatusCode.ShouldBe(HttpStatusCode.Conflict);
        (await response.ProblemCode()).ShouldBe("last_admin");
        (await Fixture.EventCountAsync()).ShouldBe(events);
        await using var session = Fixture.Host.Store.QuerySession();
        (await session.LoadAsync<User>(admin.Id))!.IsPlatformAdmin.ShouldBeTrue();
    }

    [Fact]
    public async Task an_admin_may_remove_themself_while_another_admin_remains()
    {
        var admin = await Fixture.NewUserAsync();
        var bob = await Fixture.NewUserAsync();
        (await admin.Client.PostAsync($"/platform/users/{bob.Id}/admin", null)).StatusCode.ShouldBe(HttpStatusCode.OK);

        var response = await admin.Client.DeleteAsync($"/platform/users/{admin.Id}/admin");

        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        await using var session = Fixture.Host.Store.QuerySession();
        (await session.Query<User>().Where(u => u.IsPlatformAdmin).Select(u => u.Id).ToListAsync()).ShouldBe([bob.Id]);
    }

    [Fact]
    public async Task two_admins_removing_each_other_at_once_leave_one_admin()
    {
        var ada = await Fixture.NewUserAsync();
        var bob = await Fixture.NewUserAsync();
        (await ada.Client.PostAsync($"/platform/users/{bob.Id}/admin", null)).StatusCode.ShouldBe(HttpStatusCode.OK);
        using var bobAsAdmin = Fixture.Host.NewClient((await Fixture.TokenAsync(bob.Email, bob.Password))["access_token"]!.GetValue<string>());

        var responses = await Task.WhenAll(ada.Client.DeleteAsync($"/platform/users/{bob.Id}/admin"), bobAsAdmin.DeleteAsync($"/platform/users/{ada.Id}/admin"));

        responses.Select(r => r.StatusCode).ShouldBe([HttpStatusCode.OK, HttpStatusCode.Conflict], ignoreOrder: true);
        await using var session = Fixture.Host.Store.QuerySession();
        (await session.Query<User>().CountAsync(u => u.IsPlatformAdmin)).ShouldBe(1);
    }

    [Fact]
    public async Task removing_admin_from_a_user_who_is_not_one_changes_nothing()
    {
        var admin = await Fixture.NewUserAsync();
        var bob = await Fixture.NewUserAsync();
        var events = await Fixture.EventCountAsync();

        var response = await admin.Client.DeleteAsync($"/platform/users/{bob.Id}/admin");

        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        (await Fixture.EventCountAsync()).ShouldBe(events);
    }

    [Fact]
    public async Task an_unknown_user_is_404()
    {
        var admin = await Fixture.NewUserAsync();

        var response = await admin.Client.DeleteAsync($"/platform/users/{Guid.CreateVersion7()}/admin");

        response.StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await response.ProblemCode()).ShouldBe("not_found");
    }

    [Fact]
    public async Task a_user_who_is_not_platform_admin_cannot_remove_an_admin()
    {
        var admin = await Fixture.NewUserAsync();
        var bob = await Fixture.NewUserAsync();

        var response = await bob.Client.DeleteAsync($"/platform/users/{admin.Id}/admin");

        response.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await response.ProblemCode()).ShouldBe("permission_denied");
        await using var session = Fixture.Host.Store.QuerySession();
        (await session.LoadAsync<User>(admin.Id))!.IsPlatformAdmin.ShouldBeTrue();
    }
}
