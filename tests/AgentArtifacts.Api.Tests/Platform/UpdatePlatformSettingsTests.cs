using System.Net;
using System.Text.Json.Nodes;
using AgentArtifacts.Api.Identity;
using AgentArtifacts.Api.Platform;
using AgentArtifacts.Api.Tests.Infrastructure;
using Marten;
using Microsoft.IdentityModel.JsonWebTokens;
using Shouldly;
using Xunit;

namespace AgentArtifacts.Api.Tests.Platform;

public sealed class UpdatePlatformSettingsTests(ApiFixture fixture) : ApiTest(fixture)
{
    [Fact]
    public async Task an_admin_patches_settings_and_the_change_is_one_event_with_the_changed_fields_and_the_actor()
    {
        var admin = await Fixture.NewUserAsync();

        // rateLimitWindowSeconds is sent with its current value: not a change.
        var response = await admin.Client.SendJson(HttpMethod.Patch, "/platform/settings",
            new { registrationEnabled = false, accessTokenLifetimeMinutes = 15, rateLimitWindowSeconds = 60 });

        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        response.Headers.ETag!.Tag.ShouldBe("\"1\"");
        var body = await response.Json();
        body["registrationEnabled"]!.GetValue<bool>().ShouldBeFalse();
        body["accessTokenLifetimeMinutes"]!.GetValue<int>().ShouldBe(15);
        body["rateLimitWindowSeconds"]!.GetValue<int>().ShouldBe(60);
        body["refreshTokenLifetimeDays"]!.GetValue<int>().ShouldBe(30);
        body["version"]!.GetValue<long>().ShouldBe(1);
        body["updatedBy"]!.GetValue<Guid>().ShouldBe(admin.Id);

        var read = await (await admin.Client.GetAsync("/platform/settings")).Json();
        JsonNode.DeepEquals(read, body).ShouldBeTrue();

        await using var session = Fixture.Host.Store.QuerySession();
        var change = (await session.Events.FetchStreamAsync(PlatformSettings.StreamId)).ShouldHaveSingleItem();
        change.UserName.ShouldBe(admin.Id.ToString());
        change.Data.ShouldBe(new PlatformSettingsChanged(PlatformSettings.StreamId, RegistrationEnabled: false, AccessTokenLifetimeMinutes: 15));
    }

    [Fact]
    public async Task successive_changes_keep_earlier_ones_and_each_is_audited()
    {
        var admin = await Fixture.NewUserAsync();

        (await admin.Client.SendJson(HttpMethod.Patch, "/platform/settings", new { tokenPermitLimit = 30 })).StatusCode.ShouldBe(HttpStatusCode.OK);
        var second = await admin.Client.SendJson(HttpMethod.Patch, "/platform/settings", new { refreshTokenLifetimeDays = 7 },
            r => r.Headers.TryAddWithoutValidation("If-Match", "\"1\""));

        second.StatusCode.ShouldBe(HttpStatusCode.OK, await second.Content.ReadAsStringAsync());
        var body = await second.Json();
        body["tokenPermitLimit"]!.GetValue<int>().ShouldBe(30);
        body["refreshTokenLifetimeDays"]!.GetValue<int>().ShouldBe(7);
        body["version"]!.GetValue<long>().ShouldBe(2);
        await using var session = Fixture.Host.Store.QuerySession();
        (await session.Events.FetchStreamAsync(PlatformSettings.StreamId)).Select(e => e.Data).ShouldBe([
            new PlatformSettingsChanged(PlatformSettings.StreamId, TokenPermitLimit: 30),
            new PlatformSettingsChanged(PlatformSettings.StreamId, RefreshTokenLifetimeDays: 7),
        ]);
    }

    [Fact]
    public async Task a_patch_that_changes_nothing_appends_no_event()
    {
        var admin = await Fixture.NewUserAsync();
        var events = await Fixture.EventCountAsync();

        var response = await admin.Client.SendJson(HttpMethod.Patch, "/platform/settings", new { registrationEnabled = true, accessTokenLifetimeMinutes = 60 });

        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        (await response.Json())["version"]!.GetValue<long>().ShouldBe(0);
        (await Fixture.EventCountAsync()).ShouldBe(events);
    }

    [Fact]
    public async Task a_user_who_is_not_platform_admin_gets_403_and_nothing_changes()
    {
        var admin = await Fixture.NewUserAsync();
        var bob = await Fixture.NewUserAsync();
        var events = await Fixture.EventCountAsync();

        var response = await bob.Client.SendJson(HttpMethod.Patch, "/platform/settings", new { registrationEnabled = false });

        response.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await response.ProblemCode()).ShouldBe("permission_denied");
        (await Fixture.EventCountAsync()).ShouldBe(events);
        (await (await admin.Client.GetAsync("/platform/settings")).Json())["registrationEnabled"]!.GetValue<bool>().ShouldBeTrue();
    }

    [Theory]
    [InlineData("""{"accessTokenLifetimeMinutes": 0}""", "validation_failed", "accessTokenLifetimeMinutes")]
    [InlineData("""{"accessTokenLifetimeMinutes": 1441}""", "validation_failed", "accessTokenLifetimeMinutes")]
    [InlineData("""{"refreshTokenLifetimeDays": 0}""", "validation_failed", "refreshTokenLifetimeDays")]
    [InlineData("""{"refreshTokenLifetimeDays": 366}""", "validation_failed", "refreshTokenLifetimeDays")]
    [InlineData("""{"rateLimitPermitLimit": -5}""", "validation_failed", "rateLimitPermitLimit")]
    [InlineData("""{"rateLimitWindowSeconds": 0}""", "validation_failed", "rateLimitWindowSeconds")]
    [InlineData("""{"tokenPermitLimit": 0, "registrationEnabled": false}""", "validation_failed", "tokenPermitLimit")]
    [InlineData("""{"registrationEnabled": "no"}""", "invalid_json", null)]
    [InlineData("""{"rateLimitPermitLimit": 1.5}""", "invalid_json", null)]
    [InlineData("""{"signupEnabled": false}""", "unknown_field", null)]
    public async Task invalid_values_are_400_with_a_code_and_change_nothing(string json, string code, string? field)
    {
        var admin = await Fixture.NewUserAsync();
        var events = await Fixture.EventCountAsync();

        var response = await admin.Client.SendJson(HttpMethod.Patch, "/platform/settings", json);

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest, await response.Content.ReadAsStringAsync());
        var problem = await response.Json();
        problem["code"]!.GetValue<string>().ShouldBe(code);
        if (field is not null) problem["errors"]!.AsObject().Select(e => e.Key).ShouldBe([field]);
        (await Fixture.EventCountAsync()).ShouldBe(events);
        var settings = await (await admin.Client.GetAsync("/platform/settings")).Json();
        settings["version"]!.GetValue<long>().ShouldBe(0);
        settings["registrationEnabled"]!.GetValue<bool>().ShouldBeTrue();
    }

    [Fact]
    public async Task concurrent_first_changes_never_lose_an_update_one_wins_and_the_others_get_409()
    {
        var admin = await Fixture.NewUserAsync();

        var responses = await Task.WhenAll(Enumerable.Range(1, 4).Select(i =>
            admin.Client.SendJson(HttpMethod.Patch, "/platform/settings", new { tokenPermitLimit = 100 + i })));

        var won = responses.Where(r => r.StatusCode == HttpStatusCode.OK).ToList();
        won.ShouldNotBeEmpty();
        foreach (var lost in responses.Except(won))
        {
            lost.StatusCode.ShouldBe(HttpStatusCode.Conflict, await lost.Content.ReadAsStringAsync());
            (await lost.ProblemCode()).ShouldBe("concurrent_modification");
        }
        await using var session = Fixture.Host.Store.QuerySession();
        (await session.Events.FetchStreamAsync(PlatformSettings.StreamId)).Count.ShouldBe(won.Count);
    }

    [Fact]
    public async Task a_stale_if_match_is_412_and_changes_nothing()
    {
        var admin = await Fixture.NewUserAsync();
        (await admin.Client.SendJson(HttpMethod.Patch, "/platform/settings", new { tokenPermitLimit = 30 })).StatusCode.ShouldBe(HttpStatusCode.OK);

        var response = await admin.Client.SendJson(HttpMethod.Patch, "/platform/settings", new { tokenPermitLimit = 40 },
            r => r.Headers.TryAddWithoutValidation("If-Match", "\"0\""));

        response.StatusCode.ShouldBe(HttpStatusCode.PreconditionFailed);
        (await response.ProblemCode()).ShouldBe("precondition_failed");
        (await (await admin.Client.GetAsync("/platform/settings")).Json())["tokenPermitLimit"]!.GetValue<int>().ShouldBe(30);
    }

    [Fact]
    public async Task registration_switched_off_in_the_settings_refuses_register_with_403_registration_disabled()
    {
        var admin = await Fixture.NewUserAsync();

        (await admin.Client.SendJson(HttpMethod.Patch, "/platform/settings", new { registrationEnabled = false })).StatusCode.ShouldBe(HttpStatusCode.OK);
        var refused = await Fixture.Anonymous().PostJson("/auth/register", new { email = "late@example.com", password = "a long enough passphrase", name = "Late" });
        (await admin.Client.SendJson(HttpMethod.Patch, "/platform/settings", new { registrationEnabled = true })).StatusCode.ShouldBe(HttpStatusCode.OK);
        var accepted = await Fixture.Anonymous().PostJson("/auth/register", new { email = "late@example.com", password = "a long enough passphrase", name = "Late" });

        refused.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await refused.ProblemCode()).ShouldBe("registration_disabled");
        accepted.StatusCode.ShouldBe(HttpStatusCode.Created);
    }

    [Fact]
    public async Task token_lifetimes_from_the_settings_show_in_expires_in_the_token_and_the_refresh_token()
    {
        var admin = await Fixture.NewUserAsync();

        (await admin.Client.SendJson(HttpMethod.Patch, "/platform/settings", new { accessTokenLifetimeMinutes = 15, refreshTokenLifetimeDays = 7 }))
            .StatusCode.ShouldBe(HttpStatusCode.OK);
        var token = await Fixture.TokenAsync(admin.Email, admin.Password);

        token["expires_in"]!.GetValue<int>().ShouldBe(900);
        new JsonWebToken(token["access_token"]!.GetValue<string>()).ValidTo.ShouldBe(DateTime.UtcNow.AddMinutes(15), TimeSpan.FromMinutes(1));
        await using var session = Fixture.Host.Store.QuerySession();
        var refresh = await session.Query<RefreshToken>().OrderBy(t => t.ExpiresAt).FirstAsync();
        // The one just issued (the one NewUserAsync got expires after the configured 30 days).
        refresh.ExpiresAt.ShouldBe(DateTimeOffset.UtcNow.AddDays(7), TimeSpan.FromMinutes(1));
    }

    [Fact]
    public async Task rate_limits_from_the_settings_apply_at_once_on_the_node_that_changed_them()
    {
        var admin = await Fixture.NewUserAsync();

        (await admin.Client.SendJson(HttpMethod.Patch, "/platform/settings", new { rateLimitPermitLimit = 777_777 })).StatusCode.ShouldBe(HttpStatusCode.OK);
        var response = await admin.Client.GetAsync("/auth/me");

        response.Headers.GetValues("X-RateLimit-Limit").Single().ShouldBe("777777");
    }

    [Fact]
    public async Task another_node_sees_a_change_within_its_cache_bound()
    {
        var admin = await Fixture.NewUserAsync();
        await using var otherNode = ServiceHost.Start(Fixture.Database.ConnectionString,
            new Dictionary<string, string?> { ["Platform:SettingsCacheSeconds"] = "1" });
        using var there = otherNode.NewClient(admin.AccessToken);
        (await there.GetAsync("/auth/me")).Headers.GetValues("X-RateLimit-Limit").Single().ShouldBe("1000000");

        (await admin.Client.SendJson(HttpMethod.Patch, "/platform/settings", new { rateLimitPermitLimit = 555_555 })).StatusCode.ShouldBe(HttpStatusCode.OK);
        await Task.Delay(TimeSpan.FromSeconds(1.2));

        (await there.GetAsync("/auth/me")).Headers.GetValues("X-RateLimit-Limit").Single().ShouldBe("555555");
    }

    [Fact]
    public void the_decision_records_only_the_fields_whose_value_changes()
    {
        var current = EffectivePlatformSettings.From(null, new PlatformDefaults(true, new(), new SigningKeyOptions(), ["tools.internal"]));

        UpdatePlatformSettingsEndpoint.Decide(current, new UpdatePlatformSettings()).ShouldBeNull();
        UpdatePlatformSettingsEndpoint.Decide(current, new UpdatePlatformSettings(RegistrationEnabled: true, RateLimitWindowSeconds: 60)).ShouldBeNull();
        UpdatePlatformSettingsEndpoint.Decide(current, new UpdatePlatformSettings(RegistrationEnabled: true, TokenPermitLimit: 5))
            .ShouldBe(new PlatformSettingsChanged(PlatformSettings.StreamId, TokenPermitLimit: 5));
        UpdatePlatformSettingsEndpoint.Decide(current, new UpdatePlatformSettings(EgressAllowedHosts: ["TOOLS.internal"])).ShouldBeNull();
        UpdatePlatformSettingsEndpoint.Decide(current, new UpdatePlatformSettings(EgressAllowedHosts: []))!.EgressAllowedHosts.ShouldBe([]);
    }
}
