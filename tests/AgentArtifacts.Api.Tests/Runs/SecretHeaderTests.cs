using System.Net;
using System.Text.Json.Nodes;
using AgentArtifacts.Api.Tests.Infrastructure;
using AgentArtifacts.Api.Tests.StoredSecrets;
using Shouldly;
using Xunit;

namespace AgentArtifacts.Api.Tests.Runs;

/// <summary>HTTP tools whose headers reference secrets (<c>{{secret:NAME}}</c>): the invoking caller's, never in a run, event or log.</summary>
public sealed class SecretHeaderTests(ApiFixture fixture) : ApiTest(fixture), IAsyncLifetime
{
    private HttpPeer _peer = null!;

    async Task IAsyncLifetime.InitializeAsync()
    {
        await Fixture.ResetAsync();
        _peer = await HttpPeer.StartAsync();
    }

    async Task IAsyncLifetime.DisposeAsync() => await _peer.DisposeAsync();

    private static string NewValue() => $"sv-{Guid.NewGuid():N}";

    private static async Task<Guid> SecretAsync(TestUser user, string name, string value)
    {
        var response = await user.Client.PostJson("/secrets", new { name, value });
        response.StatusCode.ShouldBe(HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        return (await response.Json())["id"]!.GetValue<Guid>();
    }

    /// <summary>An HTTP tool on the peer's echo route, which answers the Authorization header it received.</summary>
    private async Task<(Guid Tool, Guid Workspace)> EchoToolAsync(TestUser user, string authorization = "Bearer {{secret:TOKEN}}")
    {
        var workspace = await user.WorkspaceAsync();
        var context = new JsonObject
        {
            ["endpoint"] = new JsonObject
            {
                ["url"] = _peer.Url("/echo").ToString(),
                ["headers"] = new JsonObject { ["Authorization"] = authorization, ["X-Plain"] = "plain" },
            },
        };
        var tool = (await user.ArtifactAsync(workspace, "Tool", contentType: "application/vnd.agience.http-tool+json", content: null, context: context))["id"]!
            .GetValue<Guid>();
        return (tool, workspace);
    }

    private static async Task<JsonObject> InvokeAsync(TestUser user, Guid tool, object? input = null)
    {
        var response = await user.Client.PostJson($"/artifacts/{tool}/invoke", new { input = input ?? new { q = 1 } });
        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        return await response.Json();
    }

    [Fact]
    public async Task the_peer_receives_the_secret_and_the_run_its_events_and_the_logs_never_hold_it()
    {
        var ada = await Fixture.NewUserAsync();
        var value = NewValue();
        await SecretAsync(ada, "TOKEN", value);
        var (tool, _) = await EchoToolAsync(ada);

        var response = await ada.Client.PostJson($"/artifacts/{tool}/invoke", new { input = new { q = 1 } });

        _peer.Authorizations.ShouldBe([$"Bearer {value}"]);
        var text = await response.Content.ReadAsStringAsync();
        text.ShouldNotContain(value);
        var run = await response.Json();
        run["status"]!.GetValue<string>().ShouldBe("completed");
        // The peer echoed the header back: the run holds the reference's name instead.
        run["output"]!["auth"]!.GetValue<string>().ShouldBe("Bearer [secret:TOKEN]");
        var runId = run["id"]!.GetValue<Guid>();
        (await (await ada.Client.GetAsync($"/runs/{runId}")).Content.ReadAsStringAsync()).ShouldNotContain(value);
        (await Fixture.SqlScalarAsync<long>($"select count(*) from agentartifacts.mt_events where stream_id = '{runId}'")).ShouldBe(3);
        (await Fixture.SqlScalarAsync<long>($"select count(*) from agentartifacts.mt_events where stream_id = '{runId}' and data::text like '%{value}%'")).ShouldBe(0);
        (await Fixture.SqlScalarAsync<long>($"select count(*) from agentartifacts.mt_events where data::text like '%{value}%'")).ShouldBe(0);
        (await Fixture.SqlScalarAsync<long>($"select count(*) from agentartifacts.mt_doc_run where data::text like '%{value}%'")).ShouldBe(0);
        var probe = $"/log-probe/{Guid.NewGuid():N}";
        await ada.Client.GetAsync(probe);
        var lines = await Logs.UntilAsync(Fixture, probe);
        lines.ShouldContain(l => l.Contains($"POST /artifacts/{tool}/invoke responded 200"));
        lines.ShouldNotContain(l => l.Contains(value));
    }

    [Fact]
    public async Task another_user_invoking_a_shared_tool_uses_their_own_secrets_never_the_owners()
    {
        var ada = await Fixture.NewUserAsync();
        var bob = await Fixture.NewUserAsync();
        var adaValue = NewValue();
        await SecretAsync(ada, "TOKEN", adaValue);
        var (tool, workspace) = await EchoToolAsync(ada);
        (await ada.GrantAsync(workspace, bob.Id, role: "collaborator")).EnsureSuccessStatusCode();

        var run = await InvokeAsync(bob, tool);

        run["status"]!.GetValue<string>().ShouldBe("failed");
        run["error"]!["code"]!.GetValue<string>().ShouldBe("secret_not_found");
        run["error"]!["detail"]!.GetValue<string>().ShouldContain("'TOKEN'");
        run.ToJsonString().ShouldNotContain(adaValue);
        _peer.Calls.ShouldBe(0);

        var bobValue = NewValue();
        await SecretAsync(bob, "TOKEN", bobValue);
        (await InvokeAsync(bob, tool))["status"]!.GetValue<string>().ShouldBe("completed");
        _peer.Authorizations.ShouldBe([$"Bearer {bobValue}"]);
    }

    [Fact]
    public async Task a_deleted_or_unknown_secret_fails_the_run_with_secret_not_found_and_nothing_is_sent()
    {
        var ada = await Fixture.NewUserAsync();
        var id = await SecretAsync(ada, "TOKEN", NewValue());
        var (tool, _) = await EchoToolAsync(ada);
        var (unknown, _) = await EchoToolAsync(ada, "Bearer {{secret:NEVER_CREATED}}");
        (await ada.Client.DeleteAsync($"/secrets/{id}")).StatusCode.ShouldBe(HttpStatusCode.NoContent);

        var deleted = await InvokeAsync(ada, tool);
        var missing = await InvokeAsync(ada, unknown);

        (deleted["status"]!.GetValue<string>(), deleted["error"]!["code"]!.GetValue<string>()).ShouldBe(("failed", "secret_not_found"));
        missing["error"]!["detail"]!.GetValue<string>().ShouldContain("'NEVER_CREATED'");
        _peer.Calls.ShouldBe(0);
    }

    [Fact]
    public async Task an_api_key_invokes_with_its_owners_secrets()
    {
        var ada = await Fixture.NewUserAsync();
        var value = NewValue();
        await SecretAsync(ada, "TOKEN", value);
        var (tool, _) = await EchoToolAsync(ada);
        var key = await ApiKeys.ApiKeyArrange.KeyAsync(ada, "tool:*/*:read", "tool:*/*:invoke");
        using var client = Fixture.Host.NewClient(key.Secret);

        var response = await client.PostJson($"/artifacts/{tool}/invoke", new { input = 1 });

        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        var run = await response.Json();

        run["status"]!.GetValue<string>().ShouldBe("completed");
        _peer.Authorizations.ShouldBe([$"Bearer {value}"]);
    }
}

/// <summary>Without an encryption key (allowed in Development only), secrets cannot be created or used: 503 / <c>secrets_unavailable</c>.</summary>
public sealed class SecretsUnavailableTests() : IsolatedHostTest(new Dictionary<string, string?> { ["Secrets:EncryptionKey"] = "" })
{

    [Fact]
    public async Task creating_is_503_and_an_invocation_that_references_a_secret_fails()
    {
        await using var peer = await HttpPeer.StartAsync();
        using var ada = await AdaAsync();

        var create = await ada.PostJson("/secrets", new { name = "TOKEN", value = "v" });

        create.StatusCode.ShouldBe(HttpStatusCode.ServiceUnavailable);
        (await create.ProblemCode()).ShouldBe("secrets_unavailable");
        (await ada.GetAsync("/secrets")).StatusCode.ShouldBe(HttpStatusCode.OK);
        var workspace = (await (await ada.PostJson("/workspaces", new { title = "W" })).Json())["id"]!.GetValue<Guid>();
        var tool = (await (await ada.PostJson("/artifacts", new { containerId = workspace, contentType = "application/vnd.agience.http-tool+json",
            title = "T", context = new { endpoint = new { url = peer.Url("/echo").ToString(), headers = new { Authorization = "Bearer {{secret:TOKEN}}" } } } })).Json())["id"]!
            .GetValue<Guid>();
        var run = await (await ada.PostJson($"/artifacts/{tool}/invoke", new { input = 1 })).Json();
        run["error"]!["code"]!.GetValue<string>().ShouldBe("secrets_unavailable");
        peer.Calls.ShouldBe(0);
    }
}
