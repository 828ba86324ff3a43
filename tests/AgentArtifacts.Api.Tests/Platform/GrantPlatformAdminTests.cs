using System.Net;
using AgentArtifacts.Api.Identity;
using AgentArtifacts.Api.Platform;
using AgentArtifacts.Api.Tests.Infrastructure;
using Marten;
using Microsoft.IdentityModel.JsonWebTokens;
using Shouldly;
using Xunit;

namespace AgentArtifacts.Api.Tests.Platform;

public sealed class GrantPlatformAdminTests(ApiFixture fixture) : ApiTest(fixture)
{
    [Fact]
    public async Task an_admin_makes_a_user_admin_audited_on_the_users_stream_and_the_next_token_carries_the_claim()
    {
        var admin = await Fixture.NewUserAsync();
        var bob = await Fixture.NewUserAsync();

        var response = await admin.Client.PostAsync($"/platform/users/{bob.Id}/admin", null);

        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        var body = await response.Json();
        body["id"]!.GetValue<Guid>().ShouldBe(bob.Id);
        body["isPlatformAdmin"]!.GetValue<bool>().ShouldBeTrue();

        await using var session = Fixture.Host.Store.QuerySession();
        (await session.LoadAsync<User>(bob.Id))!.IsPlatformAdmin.ShouldBeTrue();
        var granted = (await session.Events.FetchStreamAsync(bob.Id)).ShouldHaveSingleItem();
        granted.Data.ShouldBe(new UserPlatformAdminGranted(bob.Id));
        granted.UserName.ShouldBe(admin.Id.ToString());

        // The token bob already holds says he is not an admin; the next one does.
        (await bob.Client.GetAsync("/platform/settings")).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        var token = (await Fixture.TokenAsync(bob.Email, bob.Password))["access_token"]!.GetValue<string>();
        new JsonWebToken(token).GetClaim("platform_admin").Value.ShouldBe("true");
        (await Fixture.Host.NewClient(token).GetAsync("/platform/settings")).StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public async Task making_an_admin_admin_again_changes_nothing()
    {
        var admin = await Fixture.NewUserAsync();
        var events = await Fixture.EventCountAsync();

        var response = await admin.Client.PostAsync($"/platform/users/{admin.Id}/admin", null);

        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        (await response.Json())["isPlatformAdmin"]!.GetValue<bool>().ShouldBeTrue();
        (await Fixture.EventCountAsync()).ShouldBe(events);
    }

    [Fact]
    public async Task an_unknown_user_is_404()
    {
        var admin = await Fixture.NewUserAsync();

        var response = await admin.Client.PostAsync($"/platform/users/{Guid.CreateVersion7()}/admin", null);

        response.StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await response.ProblemCode()).ShouldBe("not_found");
    }

    [Fact]
    public async Task a_user_who_is_not_platform_admin_cannot_make_anyone_admin()
    {
        await Fixture.NewUserAsync();
        var bob = await Fixture.NewUserAsync();
        var events = await Fixture.EventCountAsync();

        var response = await bob.Client.PostAsync($"/platform/users/{bob.Id}/admin", null);

        response.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await response.ProblemCode()).ShouldBe("permission_denied");
        (await Fixture.EventCountAsync()).ShouldBe(events);
        await using var session = Fixture.Host.Store.QuerySession();
        (await session.LoadAsync<User>(bob.Id))!.IsPlatformAdmin.ShouldBeFalse();
    }
}
