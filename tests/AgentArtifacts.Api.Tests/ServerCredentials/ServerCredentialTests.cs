using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using AgentArtifacts.Api.ServerCredentials;
using AgentArtifacts.Api.Tests.Infrastructure;
using Marten;
using Microsoft.IdentityModel.JsonWebTokens;
using Shouldly;
using Xunit;

namespace AgentArtifacts.Api.Tests.ServerCredentials;

public sealed class ServerCredentialTests(ApiFixture fixture) : ApiTest(fixture)
{
    private async Task<(TestUser Admin, Guid ClientId, string Secret)> CredentialAsync(params string[] scopes)
    {
        var admin = await Fixture.NewUserAsync("Admin");
        var response = await admin.Client.PostJson("/server-credentials", new { name = "Indexer", scopes = scopes.Length > 0 ? scopes : ["resource:*/*:read"] });
        response.StatusCode.ShouldBe(HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        var body = await response.Json();
        return (admin, body["clientId"]!.GetValue<Guid>(), body["clientSecret"]!.GetValue<string>());
    }

    private Task<HttpResponseMessage> BasicGrant(string clientId, string secret, string? scope = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/auth/token")
        {
            Content = new FormUrlEncodedContent(scope is null ? [KeyValuePair.Create("grant_type", "client_credentials")]
                : [KeyValuePair.Create("grant_type", "client_credentials"), KeyValuePair.Create("scope", scope)]),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic",
            Convert.ToBase64String(Encoding.UTF8.GetBytes($"{Uri.EscapeDataString(clientId)}:{Uri.EscapeDataString(secret)}")));
        return Fixture.Anonymous().SendAsync(request);
    }

    private Task<HttpResponseMessage> FormGrant(string clientId, string secret) =>
        Fixture.Anonymous().PostForm("/auth/token", ("grant_type", "client_credentials"), ("client_id", clientId), ("client_secret", secret));

    private static async Task<string> AccessToken(HttpResponseMessage response)
    {
        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        return (await response.Json())["access_token"]!.GetValue<string>();
    }

    [Fact]
    public async Task an_admin_creates_a_credential_whose_secret_is_shown_once()
    {
        var admin = await Fixture.NewUserAsync("Admin");

        var response = await admin.Client.PostJson("/server-credentials", new { name = "Indexer", scopes = new[] { "resource:text/*:read" } });

        response.StatusCode.ShouldBe(HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        var body = await response.Json();
        var clientId = body["clientId"]!.GetValue<Guid>();
        var secret = body["clientSecret"]!.GetValue<string>();
        secret.ShouldStartWith("aas_");
        body["scopes"]!.AsArray().Select(s => s!.GetValue<string>()).ShouldBe(["resource:text/*:read"]);
        var list = await admin.Client.GetAsync("/server-credentials");
        list.StatusCode.ShouldBe(HttpStatusCode.OK);
        (await list.Content.ReadAsStringAsync()).ShouldNotContain(secret);
        var item = (await list.Json())["items"]!.AsArray().Single()!.AsObject();
        item["clientId"]!.GetValue<Guid>().ShouldBe(clientId);
        item["createdBy"]!.GetValue<Guid>().ShouldBe(admin.Id);
        item.ContainsKey("clientSecret").ShouldBeFalse();
    }

    [Fact]
    public async Task only_platform_admins_manage_server_credentials()
    {
        var (_, clientId, _) = await CredentialAsync();
        var bob = await Fixture.NewUserAsync("Bob");
        var before = await Fixture.EventCountAsync();

        HttpResponseMessage[] responses =
        [
            await bob.Client.PostJson("/server-credentials", new { name = "Mine", scopes = new[] { "resource:*/*:read" } }),
            await bob.Client.GetAsync("/server-credentials"),
            await bob.Client.DeleteAsync($"/server-credentials/{clientId}"),
            await bob.Client.PostAsync($"/server-credentials/{clientId}/rotate", null),
        ];

        foreach (var response in responses)
        {
            response.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
            (await response.ProblemCode()).ShouldBe("permission_denied");
        }
        (await Fixture.EventCountAsync()).ShouldBe(before);
    }

    [Fact]
    public async Task client_credentials_with_basic_auth_issue_a_short_lived_server_token_without_refresh_token()
    {
        var (_, clientId, secret) = await CredentialAsync("resource:*/*:read");

        var response = await BasicGrant(clientId.ToString(), secret);

        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        response.Headers.CacheControl!.NoStore.ShouldBeTrue();
        var body = await response.Json();
        body.Select(p => p.Key).ShouldBe(["access_token", "token_type", "expires_in", "scope"], ignoreOrder: true);
        body["expires_in"]!.GetValue<int>().ShouldBe(900);
        body["scope"]!.GetValue<string>().ShouldBe("resource:*/*:read");
        var jwt = new JsonWebToken(body["access_token"]!.GetValue<string>());
        jwt.Subject.ShouldBe(clientId.ToString());
        jwt.GetClaim("kind").Value.ShouldBe("server");

        using var server = Fixture.Host.NewClient(jwt.EncodedToken);
        var me = await (await server.GetAsync("/auth/me")).Json();
        me["id"]!.GetValue<Guid>().ShouldBe(clientId);
        me["kind"]!.GetValue<string>().ShouldBe("server");
        me["isPlatformAdmin"]!.GetValue<bool>().ShouldBeFalse();
        (await server.GetAsync("/workspaces")).StatusCode.ShouldBe(HttpStatusCode.OK);
        var create = await server.PostJson("/workspaces", new { title = "Not allowed" });
        create.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await create.ProblemCode()).ShouldBe("insufficient_scope");
        (await server.GetAsync("/server-credentials")).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await server.GetAsync("/api-keys")).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task form_client_authentication_works_and_may_narrow_the_scope()
    {
        var (_, clientId, secret) = await CredentialAsync("resource:*/*:read", "resource:*/*:create");

        var full = await FormGrant(clientId.ToString(), secret);
        var narrowed = await BasicGrant(clientId.ToString(), secret, "resource:*/*:read");
        var wider = await BasicGrant(clientId.ToString(), secret, "resource:*/*:delete");

        (await full.Json())["scope"]!.GetValue<string>().ShouldBe("resource:*/*:read resource:*/*:create");
        var token = await AccessToken(narrowed);
        (await Fixture.Host.NewClient(token).PostJson("/workspaces", new { title = "No" })).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        wider.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await wider.Json())["error"]!.GetValue<string>().ShouldBe("invalid_scope");
    }

    [Fact]
    public async Task a_bad_secret_is_invalid_client_401_with_a_basic_challenge_when_basic_was_used()
    {
        var (_, clientId, secret) = await CredentialAsync();

        var basic = await BasicGrant(clientId.ToString(), secret + "x");
        var unknownClient = await BasicGrant(Guid.NewGuid().ToString(), secret);
        var form = await FormGrant(clientId.ToString(), "aas_wrong");

        basic.StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        basic.Headers.WwwAuthenticate.ToString().ShouldStartWith("Basic");
        (await basic.Json())["error"]!.GetValue<string>().ShouldBe("invalid_client");
        unknownClient.StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        form.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await form.Json())["error"]!.GetValue<string>().ShouldBe("invalid_client");
    }

    [Fact]
    public async Task revoking_refuses_the_secret_and_rotation_issues_a_new_one()
    {
        var (admin, clientId, secret) = await CredentialAsync();

        var rotate = await admin.Client.PostAsync($"/server-credentials/{clientId}/rotate", null);
        rotate.StatusCode.ShouldBe(HttpStatusCode.OK, await rotate.Content.ReadAsStringAsync());
        var fresh = (await rotate.Json())["clientSecret"]!.GetValue<string>();
        await AccessToken(await BasicGrant(clientId.ToString(), fresh));
        await AccessToken(await BasicGrant(clientId.ToString(), secret)); // still inside the overlap

        (await admin.Client.DeleteAsync($"/server-credentials/{clientId}")).StatusCode.ShouldBe(HttpStatusCode.NoContent);

        (await BasicGrant(clientId.ToString(), fresh)).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        (await (await admin.Client.GetAsync("/server-credentials")).Json())["items"]!.AsArray().ShouldBeEmpty();
        (await admin.Client.DeleteAsync($"/server-credentials/{clientId}")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        await using var session = Fixture.Host.Store.QuerySession();
        var events = await session.Events.FetchStreamAsync(clientId);
        events.Select(e => e.Data.GetType()).ShouldBe([typeof(ServerCredentialIssued), typeof(ServerCredentialRotated), typeof(ServerCredentialRevoked)]);
        events.ShouldAllBe(e => e.UserName == admin.Id.ToString());
    }

    [Fact]
    public async Task a_retried_create_does_not_store_or_replay_the_secret()
    {
        var admin = await Fixture.NewUserAsync("Admin");
        var body = new { name = "Indexer", scopes = new[] { "resource:*/*:read" } };
        Action<HttpRequestMessage> key = r => r.Headers.Add("Idempotency-Key", "srv-once");

        var first = await admin.Client.PostJson("/server-credentials", body, key);
        var retry = await admin.Client.PostJson("/server-credentials", body, key);

        var secret = (await first.Json())["clientSecret"]!.GetValue<string>();
        retry.StatusCode.ShouldBe(HttpStatusCode.Created);
        retry.Headers.GetValues("Idempotent-Replayed").Single().ShouldBe("true");
        (await retry.Json())["clientSecret"].ShouldBeNull();
        (await Fixture.SqlScalarAsync<long>(
            $"select count(*) from agentartifacts.idempotency_keys where position('{secret}' in convert_from(body, 'UTF8')) > 0")).ShouldBe(0);
    }
}
