using System.Net;
using AgentArtifacts.Api.Tests.Infrastructure;
using Shouldly;
using Xunit;

namespace AgentArtifacts.Api.Tests.Health;

public sealed class HealthEndpointsTests(ApiFixture fixture) : ApiTest(fixture)
{
    [Fact]
    public async Task live_and_ready_answer_without_credentials()
    {
        var client = Fixture.Anonymous();

        (await client.GetAsync("/health/live")).StatusCode.ShouldBe(HttpStatusCode.OK);
        var ready = await client.GetAsync("/health/ready");
        ready.StatusCode.ShouldBe(HttpStatusCode.OK);
        (await ready.Json())["postgres"]!.GetValue<string>().ShouldBe("ok");
    }

    [Fact]
    public async Task ready_reports_projection_lag_after_writes()
    {
        var ada = await Fixture.NewUserAsync();
        await ada.ArtifactAsync(await ada.WorkspaceAsync());
        await Fixture.WaitForProjectionsAsync();

        var ready = await (await Fixture.Anonymous().GetAsync("/health/ready")).Json();

        ready["highWaterMark"]!.GetValue<long>().ShouldBeGreaterThanOrEqualTo(2);
        var summary = ready["projections"]!.AsArray().Single(p => p!["shard"]!.GetValue<string>().StartsWith("ArtifactSummary"));
        summary!["lag"]!.GetValue<long>().ShouldBe(0);
        var search = ready["projections"]!.AsArray().Single(p => p!["shard"]!.GetValue<string>().EndsWith(".SearchProjection:All", StringComparison.Ordinal));
        search!["lag"]!.GetValue<long>().ShouldBe(0);
    }

    [Fact]
    public async Task ready_is_503_when_projections_lag_beyond_the_limit()
    {
        var ada = await Fixture.NewUserAsync();
        await ada.WorkspaceAsync();
        await ada.WorkspaceAsync();
        await Fixture.WaitForProjectionsAsync();
        // A node whose allowed lag is negative can never be ready: the check must report it, not hide it.
        await using var strict = ServiceHost.Start(Fixture.Database.ConnectionString, new Dictionary<string, string?> { ["Health:MaxProjectionLag"] = "-1" });

        var response = await strict.NewClient().GetAsync("/health/ready");

        response.StatusCode.ShouldBe(HttpStatusCode.ServiceUnavailable);
        (await response.Json())["status"]!.GetValue<string>().ShouldBe("projections_lagging");
    }

    [Fact]
    public async Task every_response_carries_rate_limit_headers()
    {
        var response = await Fixture.Anonymous().GetAsync("/health/live");

        response.Headers.GetValues("X-RateLimit-Limit").Single().ShouldNotBeEmpty();
        response.Headers.GetValues("X-RateLimit-Remaining").Single().ShouldNotBeEmpty();
        long.Parse(response.Headers.GetValues("X-RateLimit-Reset").Single()).ShouldBeGreaterThan(DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 1);
    }
}
