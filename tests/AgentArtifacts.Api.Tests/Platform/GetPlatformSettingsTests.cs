using System.Net;
using AgentArtifacts.Api.Tests.Infrastructure;
using Shouldly;
using Xunit;

namespace AgentArtifacts.Api.Tests.Platform;

public sealed class GetPlatformSettingsTests(ApiFixture fixture) : ApiTest(fixture)
{
    [Fact]
    public async Task until_an_admin_changes_them_the_settings_are_the_configuration_with_etag_0()
    {
        var admin = await Fixture.NewUserAsync();

        var response = await admin.Client.GetAsync("/platform/settings");

        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        response.Headers.ETag!.Tag.ShouldBe("\"0\"");
        var body = await response.Json();
        body.Select(p => p.Key).ShouldBe(["registrationEnabled", "rateLimitPermitLimit", "rateLimitWindowSeconds", "tokenPermitLimit",
            "accessTokenLifetimeMinutes", "refreshTokenLifetimeDays", "egressAllowedHosts", "version", "updatedBy", "updatedAt"], ignoreOrder: true);
        body["registrationEnabled"]!.GetValue<bool>().ShouldBeTrue();
        // ServiceHost configures the limits; the rest are the option classes' defaults.
        body["rateLimitPermitLimit"]!.GetValue<int>().ShouldBe(1_000_000);
        body["rateLimitWindowSeconds"]!.GetValue<int>().ShouldBe(60);
        body["tokenPermitLimit"]!.GetValue<int>().ShouldBe(1_000_000);
        body["accessTokenLifetimeMinutes"]!.GetValue<int>().ShouldBe(60);
        body["refreshTokenLifetimeDays"]!.GetValue<int>().ShouldBe(30);
        body["egressAllowedHosts"]!.AsArray().ShouldBeEmpty();
        body["version"]!.GetValue<long>().ShouldBe(0);
        body["updatedBy"].ShouldBeNull();
    }

    [Fact]
    public async Task if_none_match_with_the_current_etag_is_304()
    {
        var admin = await Fixture.NewUserAsync();
        (await admin.Client.MergePatch("/platform/settings", new { tokenPermitLimit = 50 })).StatusCode.ShouldBe(HttpStatusCode.OK);

        var request = new HttpRequestMessage(HttpMethod.Get, "/platform/settings");
        request.Headers.TryAddWithoutValidation("If-None-Match", "\"1\"");
        var response = await admin.Client.SendAsync(request);

        response.StatusCode.ShouldBe(HttpStatusCode.NotModified);
    }

    [Fact]
    public async Task a_user_who_is_not_platform_admin_gets_403_permission_denied()
    {
        await Fixture.NewUserAsync();
        var bob = await Fixture.NewUserAsync();

        var response = await bob.Client.GetAsync("/platform/settings");

        response.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await response.ProblemCode()).ShouldBe("permission_denied");
    }

    [Fact]
    public async Task without_a_token_it_is_401()
    {
        var response = await Fixture.Anonymous().GetAsync("/platform/settings");

        response.StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        (await response.ProblemCode()).ShouldBe("unauthenticated");
    }
}
