using System.Net;
using System.Text.Json.Nodes;
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
        // Counted by each node on its own, and the response says so.
        response.Headers.GetValues("X-RateLimit-Scope").Single().ShouldBe("node");
    }

    [Fact]
    public async Task the_openapi_document_says_rate_limits_are_per_node()
    {
        var document = await (await Fixture.Anonymous().GetAsync("/openapi.json")).Json();

        document["info"]!["description"]!.GetValue<string>().ShouldContain("X-RateLimit-Scope: node");
    }
}

/// <summary>A node whose database has events no node projects: readiness must say the projections are stalled.</summary>
public sealed class StalledProjectionReadinessTests() : IsolatedHostTest(new Dictionary<string, string?>
{
    // No daemon on this node and no other node: as when the node leading the projections died and nobody took over.
    ["Marten:DaemonMode"] = "Disabled",
    ["Health:StalledProjectionSeconds"] = "1",
})
{
    [Fact]
    public async Task ready_is_503_projections_stalled_when_events_wait_and_no_node_advances_the_projections()
    {
        using var ada = await AdaAsync();
        (await ada.PostJson("/workspaces", new { title = "Waiting" })).StatusCode.ShouldBe(HttpStatusCode.Created);

        JsonObject readiness;
        var deadline = DateTime.UtcNow.AddSeconds(15);
        do
        {
            var response = await Host.NewClient().GetAsync("/health/ready");
            readiness = await response.Json();
            if (response.StatusCode == HttpStatusCode.ServiceUnavailable) break;
            DateTime.UtcNow.ShouldBeLessThan(deadline, readiness.ToJsonString());
            await Task.Delay(200);
        } while (true);

        readiness["status"]!.GetValue<string>().ShouldBe("projections_stalled");
        var search = readiness["projections"]!.AsArray().Single(p => p!["shard"]!.GetValue<string>().EndsWith(".SearchProjection:All", StringComparison.Ordinal))!;
        search["stalled"]!.GetValue<bool>().ShouldBeTrue();
        search["waitingSeconds"]!.GetValue<double>().ShouldBeGreaterThan(1);
    }
}
