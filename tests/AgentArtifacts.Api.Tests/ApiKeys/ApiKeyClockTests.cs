using System.Net;
using AgentArtifacts.Api.ApiKeys;
using AgentArtifacts.Api.Tests.Infrastructure;
using Marten;
using Microsoft.Extensions.DependencyInjection;
using Shouldly;
using Xunit;

namespace AgentArtifacts.Api.Tests.ApiKeys;

/// <summary>Expiry, rotation overlap and the lastUsedAt write rate, in a host whose clock the test moves.</summary>
public sealed class ApiKeyClockTests(ApiFixture fixture) : ApiTest(fixture)
{
    private ManualClock _clock = null!;

    /// <summary>Starts at the real time now, so the signing key the user's token was signed with is already active.</summary>
    private ServiceHost StartWithClock()
    {
        _clock = new ManualClock(DateTimeOffset.UtcNow);
        return ServiceHost.Start(Fixture.Database.ConnectionString, new Dictionary<string, string?> { ["ApiKeys:RotationOverlapMinutes"] = "10" },
            services => services.AddSingleton<TimeProvider>(_clock));
    }

    [Fact]
    public async Task an_expired_key_is_401()
    {
        var ada = await Fixture.NewUserAsync();
        await using var host = StartWithClock();
        var key = await host.NewClient(ada.AccessToken).KeyAsync(["resource:*/*:read"], expiresInDays: 30);
        using var client = host.NewClient(key.Secret);
        _clock.Advance(TimeSpan.FromDays(30) - TimeSpan.FromMinutes(1));
        (await client.GetAsync("/auth/me")).StatusCode.ShouldBe(HttpStatusCode.OK);

        _clock.Advance(TimeSpan.FromMinutes(1));
        var response = await client.GetAsync("/auth/me");

        response.StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        response.Headers.WwwAuthenticate.ToString().ShouldStartWith("Bearer error=\"invalid_token\", resource_metadata=");
        (await response.ProblemCode()).ShouldBe("unauthenticated");
        (await host.NewClient(ada.AccessToken).PostAsync($"/api-keys/{key.Id}/rotate", null)).StatusCode.ShouldBe(HttpStatusCode.Conflict);
    }

    [Fact]
    public async Task after_rotation_the_old_secret_works_until_the_overlap_ends()
    {
        var ada = await Fixture.NewUserAsync();
        await using var host = StartWithClock();
        using var owner = host.NewClient(ada.AccessToken);
        var key = await owner.KeyAsync(["resource:*/*:read"]);

        var rotate = await owner.PostAsync($"/api-keys/{key.Id}/rotate", null);

        rotate.StatusCode.ShouldBe(HttpStatusCode.OK, await rotate.Content.ReadAsStringAsync());
        var rotated = await rotate.Json();
        var fresh = rotated["key"]!.GetValue<string>();
        fresh.ShouldStartWith("aa_");
        fresh.ShouldNotBe(key.Secret);
        rotated["id"]!.GetValue<Guid>().ShouldBe(key.Id);
        (await host.NewClient(key.Secret).GetAsync("/auth/me")).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await host.NewClient(fresh).GetAsync("/auth/me")).StatusCode.ShouldBe(HttpStatusCode.OK);

        _clock.Advance(TimeSpan.FromMinutes(10));

        (await host.NewClient(key.Secret).GetAsync("/auth/me")).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        (await host.NewClient(fresh).GetAsync("/auth/me")).StatusCode.ShouldBe(HttpStatusCode.OK);
        await using var session = host.Store.QuerySession();
        (await session.Events.FetchStreamAsync(key.Id)).Select(e => e.Data.GetType()).ShouldBe([typeof(ApiKeyIssued), typeof(ApiKeyRotated)]);
    }

    [Fact]
    public async Task last_used_at_is_written_at_most_about_once_a_minute()
    {
        var ada = await Fixture.NewUserAsync();
        await using var host = StartWithClock();
        using var owner = host.NewClient(ada.AccessToken);
        var key = await owner.KeyAsync(["resource:*/*:read"]);
        using var client = host.NewClient(key.Secret);
        async Task<DateTimeOffset?> LastUsed()
        {
            await using var session = host.Store.QuerySession();
            return (await session.LoadAsync<ApiKeyUsage>(key.Id))?.LastUsedAt;
        }

        await client.GetAsync("/auth/me");
        var first = await LastUsed();
        _clock.Advance(TimeSpan.FromSeconds(59));
        await client.GetAsync("/auth/me");
        var within = await LastUsed();
        _clock.Advance(TimeSpan.FromSeconds(1));
        await client.GetAsync("/auth/me");

        first!.Value.ShouldBe(_clock.GetUtcNow() - TimeSpan.FromMinutes(1), TimeSpan.FromMilliseconds(1));
        within.ShouldBe(first);
        (await LastUsed())!.Value.ShouldBe(_clock.GetUtcNow(), TimeSpan.FromMilliseconds(1));
    }
}
