using System.Net;
using System.Text.Json.Nodes;
using AgentArtifacts.Api.Tests.Infrastructure;
using Shouldly;
using Xunit;

namespace AgentArtifacts.Api.Tests.Runs;

public sealed class InvokeArtifactTests(ApiFixture fixture) : ApiTest(fixture), IAsyncLifetime
{
    private HttpPeer _peer = null!;

    async Task IAsyncLifetime.InitializeAsync()
    {
        await Fixture.ResetAsync();
        _peer = await HttpPeer.StartAsync();
    }

    async Task IAsyncLifetime.DisposeAsync() => await _peer.DisposeAsync();

    private async Task<Guid> HttpToolAsync(TestUser user, string path, object? extra = null, int? timeoutSeconds = null)
    {
        var context = new JsonObject { ["endpoint"] = new JsonObject { ["url"] = _peer.Url(path).ToString(), ["headers"] = new JsonObject { ["Authorization"] = "Bearer peer-token" } } };
        if (timeoutSeconds is { } seconds) context["timeoutSeconds"] = seconds;
        return (await user.ArtifactAsync(await user.WorkspaceAsync(), "Tool", contentType: "application/vnd.agience.http-tool+json", content: null,
            context: context))["id"]!.GetValue<Guid>();
    }

    [Fact]
    public async Task invoking_an_http_tool_posts_the_input_and_the_run_holds_the_output()
    {
        var ada = await Fixture.NewUserAsync();
        var tool = await HttpToolAsync(ada, "/echo");

        var response = await ada.Client.PostJson($"/artifacts/{tool}/invoke", new { input = new { question = "ping" } });

        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        var run = await response.Json();
        run["status"]!.GetValue<string>().ShouldBe("completed");
        run["output"]!["echo"]!["question"]!.GetValue<string>().ShouldBe("ping");
        run["output"]!["auth"]!.GetValue<string>().ShouldBe("Bearer peer-token");
        (run["operation"]!.GetValue<string>(), run["kind"]!.GetValue<string>(), run["artifactId"]!.GetValue<Guid>()).ShouldBe(("invoke", "http", tool));
        // The answer is the stored run, field for field (the sync path answers from the session that appended its end).
        var stored = await (await ada.Client.GetAsync($"/runs/{run["id"]}")).Json();
        JsonNode.DeepEquals(stored, run).ShouldBeTrue($"stored {stored.ToJsonString()}, answered {run.ToJsonString()}");
        (await Fixture.SqlScalarAsync<long>($"select count(*) from agentartifacts.mt_events where stream_id = '{run["id"]}'")).ShouldBe(3);
    }

    [Theory]
    [InlineData("/fail", "upstream_error", null)]
    [InlineData("/slow", "upstream_timeout", 1)]
    [InlineData("/big", "response_too_large", null)]
    public async Task a_failing_target_gives_a_failed_run_with_a_problem_shaped_error(string path, string code, int? timeoutSeconds)
    {
        var ada = await Fixture.NewUserAsync();
        var tool = await HttpToolAsync(ada, path, timeoutSeconds: timeoutSeconds);

        var response = await ada.Client.PostJson($"/artifacts/{tool}/invoke", new { input = new { } });

        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        var run = await response.Json();
        run["status"]!.GetValue<string>().ShouldBe("failed");
        run["error"]!["code"]!.GetValue<string>().ShouldBe(code);
        run["output"].ShouldBeNull();
    }

    [Fact]
    public async Task undeclared_and_reserved_operations_permissions_and_strangers_are_refused_and_nothing_runs()
    {
        var (ada, bob, eve) = (await Fixture.NewUserAsync(), await Fixture.NewUserAsync(), await Fixture.NewUserAsync());
        var tool = await HttpToolAsync(ada, "/echo");
        var notes = (await ada.ArtifactAsync(await ada.WorkspaceAsync()))["id"]!.GetValue<Guid>();
        var toolWorkspace = (await (await ada.Client.GetAsync($"/artifacts/{tool}")).Json())["containerId"]!.GetValue<Guid>();
        await ada.GrantAsync(toolWorkspace, bob.Id, role: "viewer");
        var before = await Fixture.EventCountAsync();

        (await (await ada.Client.PostJson($"/artifacts/{notes}/invoke", new { })).ProblemCode()).ShouldBe("operation_not_declared");
        (await (await ada.Client.PostJson($"/artifacts/{tool}/op/list_tools", new { })).ProblemCode()).ShouldBe("operation_not_declared");
        (await (await ada.Client.PostJson($"/artifacts/{tool}/op/delete", new { })).ProblemCode()).ShouldBe("reserved_operation");
        (await (await bob.Client.PostJson($"/artifacts/{tool}/invoke", new { })).ProblemCode()).ShouldBe("permission_denied");
        (await eve.Client.PostJson($"/artifacts/{tool}/invoke", new { })).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await (await ada.Client.PostJson($"/artifacts/{tool}/invoke", new { mode = "later" })).ProblemCode()).ShouldBe("validation_failed");
        (await (await ada.Client.PostJson($"/artifacts/{tool}/invoke", "{\"input\":")).ProblemCode()).ShouldBe("invalid_json");

        (await Fixture.EventCountAsync()).ShouldBe(before);
        _peer.Calls.ShouldBe(0);
    }

    [Fact]
    public async Task a_run_is_visible_to_its_caller_only()
    {
        var (ada, bob) = (await Fixture.NewUserAsync(), await Fixture.NewUserAsync());
        var tool = await HttpToolAsync(ada, "/echo");
        var run = (await (await ada.Client.PostJson($"/artifacts/{tool}/invoke", new { input = 1 })).Json())["id"]!.GetValue<Guid>();

        (await bob.Client.GetAsync($"/runs/{run}")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await ada.Client.GetAsync($"/runs/{Guid.NewGuid()}")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
    }
}

/// <summary>With the default egress policy, invocations may not reach private or loopback addresses.</summary>
public sealed class EgressPolicyTests() : IsolatedHostTest(new Dictionary<string, string?> { ["Egress:AllowPrivateNetworks"] = "false" })
{

    [Fact]
    public async Task a_loopback_endpoint_is_refused_and_never_called()
    {
        await using var peer = await HttpPeer.StartAsync();
        using var ada = await AdaAsync();
        var workspace = (await (await ada.PostJson("/workspaces", new { title = "W" })).Json())["id"]!.GetValue<Guid>();
        var tool = (await (await ada.PostJson("/artifacts", new { containerId = workspace, contentType = "application/vnd.agience.http-tool+json",
            title = "Local", context = new { endpoint = new { url = peer.Url("/echo").ToString() } } })).Json())["id"]!.GetValue<Guid>();

        var run = await (await ada.PostJson($"/artifacts/{tool}/invoke", new { input = 1 })).Json();

        run["status"]!.GetValue<string>().ShouldBe("failed");
        run["error"]!["code"]!.GetValue<string>().ShouldBe("egress_refused");
        peer.Calls.ShouldBe(0);

        // A platform admin (Ada, the first user) lets invocations reach this one host: the same tool now runs.
        var allowed = await ada.SendJson(HttpMethod.Patch, "/platform/settings", new { egressAllowedHosts = new[] { "127.0.0.1" } });
        allowed.StatusCode.ShouldBe(HttpStatusCode.OK, await allowed.Content.ReadAsStringAsync());
        (await allowed.Json())["egressAllowedHosts"]!.AsArray().Select(h => h!.GetValue<string>()).ShouldBe(["127.0.0.1"]);
        var again = await (await ada.PostJson($"/artifacts/{tool}/invoke", new { input = 2 })).Json();
        again["status"]!.GetValue<string>().ShouldBe("completed", again.ToJsonString());
        peer.Calls.ShouldBe(1);
        (await (await ada.SendJson(HttpMethod.Patch, "/platform/settings", new { egressAllowedHosts = new[] { "http://x/" } })).ProblemCode())
            .ShouldBe("validation_failed");
    }
}
