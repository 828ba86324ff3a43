using System.Net;
using AgentArtifacts.Api.Tests.Infrastructure;
using AgentArtifacts.Api.Webhooks;
using Shouldly;
using Xunit;

namespace AgentArtifacts.Api.Tests.Webhooks;

public sealed class WebhookCrudTests(ApiFixture fixture) : ApiTest(fixture)
{
    private const string Url = "http://127.0.0.1:9/hook";

    [Fact]
    public async Task create_is_201_with_a_whsec_secret_shown_only_once()
    {
        var ada = await Fixture.NewUserAsync();

        var response = await ada.Client.PostJson("/webhooks", new { url = Url, types = new[] { "artifact.*" }, description = "CI" });

        response.StatusCode.ShouldBe(HttpStatusCode.Created);
        var created = await response.Json();
        var id = created["id"]!.GetValue<Guid>();
        response.Headers.Location!.ToString().ShouldBe($"/webhooks/{id}");
        var secret = created["secret"]!.GetValue<string>();
        secret.ShouldStartWith("whsec_");
        Convert.FromBase64String(secret["whsec_".Length..]).Length.ShouldBe(24);
        created["types"]!.AsArray().Select(t => t!.GetValue<string>()).ShouldBe(["artifact.*"]);

        var read = await (await ada.Client.GetAsync($"/webhooks/{id}")).Json();
        read.ContainsKey("secret").ShouldBeFalse();
        read["url"]!.GetValue<string>().ShouldBe(Url);
        read["enabled"]!.GetValue<bool>().ShouldBeTrue();
        (await Fixture.SqlScalarAsync<long>($"select count(*) from agentartifacts.mt_events where data::text like '%{secret["whsec_".Length..]}%'")).ShouldBe(0);
    }

    [Fact]
    public async Task list_is_paged_and_shows_only_your_own()
    {
        var ada = await Fixture.NewUserAsync();
        var bob = await Fixture.NewUserAsync();
        var first = await ada.Client.WebhookAsync(Url);
        var second = await ada.Client.WebhookAsync(Url);
        await bob.Client.WebhookAsync(Url);

        var page = await (await ada.Client.GetAsync("/webhooks?limit=1")).Json();

        page["items"]!.AsArray().Single()!["id"]!.GetValue<Guid>().ShouldBe(first.Id);
        var next = await (await ada.Client.GetAsync($"/webhooks?limit=1&cursor={page["nextCursor"]}")).Json();
        next["items"]!.AsArray().Single()!["id"]!.GetValue<Guid>().ShouldBe(second.Id);
        (await bob.Client.GetAsync($"/webhooks/{first.Id}")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
    }

    [Theory]
    [InlineData("ftp://example.com/hook", "invalid_url")]
    [InlineData("not a url", "invalid_url")]
    [InlineData("https://user:pass@example.com/hook", "invalid_url")]
    [InlineData("https://no-such-host.invalid/hook", "url_unresolvable")]
    public async Task a_bad_url_is_400_and_creates_nothing(string url, string code)
    {
        var ada = await Fixture.NewUserAsync();
        var events = await Fixture.EventCountAsync();

        var response = await ada.Client.PostJson("/webhooks", new { url });

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await response.ProblemCode()).ShouldBe(code);
        (await Fixture.EventCountAsync()).ShouldBe(events);
    }

    [Fact]
    public async Task a_malformed_type_glob_is_400_unknown_event_type()
    {
        var ada = await Fixture.NewUserAsync();
        var events = await Fixture.EventCountAsync();

        var response = await ada.Client.PostJson("/webhooks", new { url = Url, types = new[] { "Artifact Created" } });

        (await response.ProblemCode()).ShouldBe("unknown_event_type");
        (await Fixture.EventCountAsync()).ShouldBe(events);
    }

    [Fact]
    public async Task an_oversized_description_is_400()
    {
        var ada = await Fixture.NewUserAsync();

        var response = await ada.Client.PostJson("/webhooks", new { url = Url, description = new string('x', WebhookRules.MaxDescriptionLength + 1) });

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await response.ProblemCode()).ShouldBe("validation_failed");
    }

    [Fact]
    public async Task a_container_you_cannot_read_is_400_unknown_container()
    {
        var ada = await Fixture.NewUserAsync();

        var response = await ada.Client.PostJson("/webhooks", new { url = Url, containerId = Guid.NewGuid() });

        (await response.ProblemCode()).ShouldBe("unknown_container");
    }

    [Fact]
    public async Task patch_changes_only_the_fields_given_and_an_empty_types_list_removes_the_filter()
    {
        var ada = await Fixture.NewUserAsync();
        var hook = await ada.Client.WebhookAsync(Url, new { types = new[] { "run.*" }, description = "before" });

        var patched = await ada.Client.SendJson(HttpMethod.Patch, $"/webhooks/{hook.Id}", new { description = "after", types = Array.Empty<string>() });

        patched.StatusCode.ShouldBe(HttpStatusCode.OK);
        var body = await patched.Json();
        body["description"]!.GetValue<string>().ShouldBe("after");
        body["types"].ShouldBeNull();
        body["url"]!.GetValue<string>().ShouldBe(Url);
    }

    [Fact]
    public async Task patch_with_a_stale_if_match_is_412()
    {
        var ada = await Fixture.NewUserAsync();
        var hook = await ada.Client.WebhookAsync(Url);

        var response = await ada.Client.SendJson(HttpMethod.Patch, $"/webhooks/{hook.Id}", new { description = "x" }, r => r.Headers.TryAddWithoutValidation("If-Match", "\"7\""));

        response.StatusCode.ShouldBe(HttpStatusCode.PreconditionFailed);
    }

    [Fact]
    public async Task delete_is_204_then_404()
    {
        var ada = await Fixture.NewUserAsync();
        var hook = await ada.Client.WebhookAsync(Url);

        (await ada.Client.DeleteAsync($"/webhooks/{hook.Id}")).StatusCode.ShouldBe(HttpStatusCode.NoContent);

        (await ada.Client.GetAsync($"/webhooks/{hook.Id}")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await ada.Client.DeleteAsync($"/webhooks/{hook.Id}")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await Fixture.SqlScalarAsync<long>($"select count(*) from agentartifacts.webhook_endpoints where webhook_id = '{hook.Id}'")).ShouldBe(0);
    }

    [Fact]
    public async Task rotate_secret_answers_a_new_secret_and_when_the_old_one_stops_signing()
    {
        var ada = await Fixture.NewUserAsync();
        var hook = await ada.Client.WebhookAsync(Url);

        var response = await ada.Client.PostAsync($"/webhooks/{hook.Id}/rotate-secret", null);

        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        var body = await response.Json();
        body["secret"]!.GetValue<string>().ShouldStartWith("whsec_");
        body["secret"]!.GetValue<string>().ShouldNotBe(hook.Secret);
        var until = body["previousSecretValidUntil"]!.GetValue<DateTimeOffset>();
        (until - DateTimeOffset.UtcNow).TotalHours.ShouldBe(24, 0.1);
    }

    [Fact]
    public async Task replay_after_the_head_of_the_log_is_400_after_beyond_head()
    {
        var ada = await Fixture.NewUserAsync();
        var hook = await ada.Client.WebhookAsync(Url);

        var response = await ada.Client.PostJson($"/webhooks/{hook.Id}/replay", new { after = 1_000_000_000 });

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await response.ProblemCode()).ShouldBe("after_beyond_head");
    }

    [Fact]
    public async Task deliveries_with_an_unknown_state_is_400_and_of_someone_elses_webhook_404()
    {
        var ada = await Fixture.NewUserAsync();
        var bob = await Fixture.NewUserAsync();
        var hook = await ada.Client.WebhookAsync(Url);

        (await (await ada.Client.GetAsync($"/webhooks/{hook.Id}/deliveries?state=lost")).ProblemCode()).ShouldBe("invalid_state");
        (await bob.Client.GetAsync($"/webhooks/{hook.Id}/deliveries")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await bob.Client.PostAsync($"/webhooks/{hook.Id}/test", null)).StatusCode.ShouldBe(HttpStatusCode.NotFound);
    }

    [Fact]
    public void signatures_match_the_standard_webhooks_reference_vector()
    {
        // The vector of the Standard Webhooks libraries' own tests.
        WebhookSigning.Signature("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, "{\"test\": 2432232314}", ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"])
            .ShouldBe("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }
}

/// <summary>URLs under the production egress policy and an https requirement.</summary>
public sealed class WebhookEgressTests() : IsolatedHostTest(new Dictionary<string, string?>
{
    ["Egress:AllowPrivateNetworks"] = "false",
    ["Webhooks:RequireHttps"] = "true",
})
{
    [Theory]
    [InlineData("https://127.0.0.1/hook")]
    [InlineData("https://localhost:8443/hook")]
    [InlineData("https://10.1.2.3/hook")]
    [InlineData("https://[::1]/hook")]
    public async Task a_private_or_loopback_url_is_400_egress_refused_and_creates_nothing(string url)
    {
        using var ada = await AdaAsync();

        var response = await ada.PostJson("/webhooks", new { url });

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await response.ProblemCode()).ShouldBe("egress_refused");
        (await (await ada.GetAsync("/webhooks")).Json())["items"]!.AsArray().ShouldBeEmpty();
    }

    [Fact]
    public async Task an_http_url_is_400_https_required()
    {
        using var ada = await AdaAsync();

        var response = await ada.PostJson("/webhooks", new { url = "http://example.com/hook" });

        (await response.ProblemCode()).ShouldBe("https_required");
    }

    [Fact]
    public async Task a_patch_to_a_private_url_is_400_egress_refused()
    {
        using var ada = await AdaAsync();
        (await ada.MergePatch("/platform/settings", new { egressAllowedHosts = new[] { "127.0.0.1" } })).EnsureSuccessStatusCode();
        var hook = await ada.WebhookAsync("https://127.0.0.1/hook");

        var response = await ada.SendJson(HttpMethod.Patch, $"/webhooks/{hook.Id}", new { url = "https://10.0.0.1/hook" });

        (await response.ProblemCode()).ShouldBe("egress_refused");
    }
}
