using System.Net;
using System.Text.Json.Nodes;
using AgentArtifacts.Api.Tests.Infrastructure;
using AgentArtifacts.Api.Tests.Runs;
using Shouldly;
using Xunit;

namespace AgentArtifacts.Api.Tests.ApiKeys;

/// <summary>
/// A run is visible to an API key only when the key may read the artifact that ran (its content type and resource list), and
/// cancellable only when it may also invoke it. The owner's own token sees all of the owner's runs, as before.
/// </summary>
public sealed class KeyRunAccessTests(ApiFixture fixture) : ApiTest(fixture), IAsyncLifetime
{
    private HttpPeer _peer = null!;

    async Task IAsyncLifetime.InitializeAsync()
    {
        await Fixture.ResetAsync();
        _peer = await HttpPeer.StartAsync();
    }

    async Task IAsyncLifetime.DisposeAsync() => await _peer.DisposeAsync();

    /// <summary>Ada's two HTTP tools, each run once by her own token with its own input.</summary>
    private async Task<(TestUser Ada, Guid First, Guid FirstRun, Guid Second, Guid SecondRun)> TwoRunsAsync()
    {
        var ada = await Fixture.NewUserAsync();
        var first = await ada.HttpToolAsync(_peer, "/echo");
        var second = await ada.HttpToolAsync(_peer, "/echo");
        var firstRun = await (await ada.Client.InvokeAsync(first, new { secret = "first input" })).Json();
        var secondRun = await (await ada.Client.InvokeAsync(second, new { secret = "second input" })).Json();
        return (ada, first, firstRun["id"]!.GetValue<Guid>(), second, secondRun["id"]!.GetValue<Guid>());
    }

    private static async Task<Guid[]> RunIdsAsync(HttpClient client, string query = "")
    {
        var response = await client.GetAsync($"/runs{query}");
        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        return (await response.Json())["items"]!.AsArray().Select(r => r!["id"]!.GetValue<Guid>()).ToArray();
    }

    [Fact]
    public async Task a_key_restricted_to_one_tool_sees_that_tools_runs_and_no_others()
    {
        var (ada, first, firstRun, _, secondRun) = await TwoRunsAsync();
        using var key = Fixture.Host.NewClient((await ada.Client.KeyAsync(["tool:*/*:read"], resourceIds: [first])).Secret);

        var visible = await key.GetAsync($"/runs/{firstRun}");
        var hidden = await key.GetAsync($"/runs/{secondRun}");
        var hiddenEvents = await key.GetAsync($"/runs/{secondRun}/events");

        visible.StatusCode.ShouldBe(HttpStatusCode.OK);
        (await visible.Json())["output"]!["echo"]!["secret"]!.GetValue<string>().ShouldBe("first input");
        (hidden.StatusCode, hiddenEvents.StatusCode).ShouldBe((HttpStatusCode.NotFound, HttpStatusCode.NotFound));
        (await hidden.ProblemCode()).ShouldBe("not_found");
        (await hiddenEvents.Content.ReadAsStringAsync()).ShouldNotContain("second input");
        (await RunIdsAsync(key)).ShouldBe([firstRun]);
        // The newest run is the other tool's: the first page of one is empty, yet leads on to the visible run.
        var firstPage = await (await key.GetAsync("/runs?limit=1")).Json();
        firstPage["items"]!.AsArray().ShouldBeEmpty();
        (await RunIdsAsync(key, $"?limit=1&cursor={firstPage["nextCursor"]}")).ShouldBe([firstRun]);
        var frames = await (await key.OpenStreamAsync(HttpMethod.Get, $"/runs/{firstRun}/events")).EventsToEndAsync();
        frames.Last().Event.ShouldBe("run.completed");
        (await RunIdsAsync(ada.Client)).ShouldBe([secondRun, firstRun]);
    }

    [Fact]
    public async Task a_key_whose_scopes_do_not_cover_the_tools_content_type_sees_none_of_their_runs()
    {
        var (ada, _, firstRun, _, secondRun) = await TwoRunsAsync();
        using var key = Fixture.Host.NewClient((await ada.Client.KeyAsync(["resource:*/*:read", "prompt:*/*:read"])).Secret);

        (await key.GetAsync($"/runs/{firstRun}")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await key.GetAsync($"/runs/{secondRun}/events")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await RunIdsAsync(key)).ShouldBeEmpty();
    }

    [Fact]
    public async Task a_key_cancels_a_run_only_when_it_may_invoke_the_artifact_that_runs()
    {
        var ada = await Fixture.NewUserAsync();
        var guarded = await ada.HttpToolAsync(_peer, "/echo", c => c["requiresApproval"] = true);
        var other = await ada.HttpToolAsync(_peer, "/echo");
        var run = (await (await ada.Client.InvokeAsync(guarded, new { })).Json())["id"]!.GetValue<Guid>();
        using var readsTools = Fixture.Host.NewClient((await ada.Client.KeyAsync(["tool:*/*:read", "resource:*/*:invoke"])).Secret);
        using var invokesAnother = Fixture.Host.NewClient((await ada.Client.KeyAsync(["tool:*/*:read", "tool:*/*:invoke"], resourceIds: [other])).Secret);
        using var invokesTools = Fixture.Host.NewClient((await ada.Client.KeyAsync(["tool:*/*:read", "tool:*/*:invoke"])).Secret);
        var before = await Fixture.EventCountAsync();

        var readOnly = await readsTools.PostJson($"/runs/{run}/cancel", new { });
        var elsewhere = await invokesAnother.PostJson($"/runs/{run}/cancel", new { });

        readOnly.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await readOnly.ProblemCode()).ShouldBe("insufficient_scope");
        elsewhere.StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await elsewhere.ProblemCode()).ShouldBe("not_found");
        (await Fixture.EventCountAsync()).ShouldBe(before);

        var cancelled = await invokesTools.PostJson($"/runs/{run}/cancel", new { });

        cancelled.StatusCode.ShouldBe(HttpStatusCode.OK, await cancelled.Content.ReadAsStringAsync());
        (await cancelled.Json())["status"]!.GetValue<string>().ShouldBe("cancelled");
    }

    [Theory]
    [InlineData("00000000-0000-0000-0000-000000000000")]
    [InlineData("0193f3a4-7c1e-7d2a-9b3c-4d5e6f708192")]
    public async Task run_routes_answer_an_id_that_does_not_exist_with_404_for_users_and_keys(string id)
    {
        var ada = await Fixture.NewUserAsync();
        using var key = Fixture.Host.NewClient((await ada.Client.KeyAsync(["tool:*/*:read", "tool:*/*:invoke"])).Secret);

        foreach (var client in new[] { ada.Client, key })
        {
            foreach (var response in new[]
                     {
                         await client.GetAsync($"/runs/{id}"), await client.GetAsync($"/runs/{id}/events"),
                         await client.PostJson($"/runs/{id}/cancel", new { }),
                     })
            {
                response.StatusCode.ShouldBe(HttpStatusCode.NotFound);
                (await response.ProblemCode()).ShouldBe("not_found");
            }
        }
        foreach (var response in new[]
                 {
                     await ada.Client.PostJson($"/approvals/{id}/approve", new { }), await ada.Client.PostJson($"/approvals/{id}/reject", new { }),
                 })
        {
            response.StatusCode.ShouldBe(HttpStatusCode.NotFound);
            (await response.ProblemCode()).ShouldBe("not_found");
        }
    }
}
