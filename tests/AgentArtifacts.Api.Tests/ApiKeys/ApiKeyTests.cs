using System.Net;
using System.Security.Cryptography;
using System.Text;
using AgentArtifacts.Api.ApiKeys;
using AgentArtifacts.Api.Infrastructure;
using AgentArtifacts.Api.Tests.Infrastructure;
using Marten;
using Shouldly;
using Xunit;

namespace AgentArtifacts.Api.Tests.ApiKeys;

public sealed class ApiKeyTests(ApiFixture fixture) : ApiTest(fixture)
{
    private static string Sha256(string s) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(s)));

    [Fact]
    public async Task issuing_shows_the_key_once_and_stores_only_its_hash()
    {
        var ada = await Fixture.NewUserAsync();

        var response = await ada.Client.PostJson("/api-keys", new { name = "CI", scopes = new[] { "resource:text/*:read", "Tool:*:invoke" }, expiresInDays = 30 });

        response.StatusCode.ShouldBe(HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        var body = await response.Json();
        var id = body["id"]!.GetValue<Guid>();
        var secret = body["key"]!.GetValue<string>();
        secret.ShouldStartWith("aa_");
        secret.Length.ShouldBeGreaterThanOrEqualTo(46);
        response.Headers.Location!.ToString().ShouldBe($"/api-keys/{id}");
        body["name"]!.GetValue<string>().ShouldBe("CI");
        body["scopes"]!.AsArray().Select(s => s!.GetValue<string>()).ShouldBe(["resource:text/*:read", "tool:*/*:invoke"]);
        body["resourceIds"].ShouldBeNull();
        body["expiresAt"]!.GetValue<DateTimeOffset>().ShouldBe(DateTimeOffset.UtcNow.AddDays(30), TimeSpan.FromMinutes(1));
        body["lastUsedAt"].ShouldBeNull();

        var get = await ada.Client.GetAsync($"/api-keys/{id}");
        get.StatusCode.ShouldBe(HttpStatusCode.OK);
        get.Headers.ETag!.Tag.ShouldBe("\"1\"");
        var shown = await get.Json();
        shown.ContainsKey("key").ShouldBeFalse();
        (await get.Content.ReadAsStringAsync()).ShouldNotContain(secret);
        var list = await (await ada.Client.GetAsync("/api-keys")).Json();
        list["items"]!.AsArray().Single()!["id"]!.GetValue<Guid>().ShouldBe(id);
        list["items"]!.AsArray().Single()!.AsObject().ContainsKey("key").ShouldBeFalse();

        await using var session = Fixture.Host.Store.QuerySession();
        (await session.LoadAsync<CredentialSecret>(Sha256(secret)))!.CredentialId.ShouldBe(id);
        var events = await session.Events.FetchStreamAsync(id);
        events.Single().Data.ShouldBeOfType<ApiKeyIssued>();
        events.Single().UserName.ShouldBe(ada.Id.ToString());
        (await Fixture.SqlScalarAsync<long>($"select count(*) from agentartifacts.mt_events where data::text like '%{secret[3..]}%' or data::text like '%{Sha256(secret)}%'")).ShouldBe(0);
    }

    [Fact]
    public async Task a_key_authenticates_as_its_owner_narrowed_by_its_scopes()
    {
        var ada = await Fixture.NewUserAsync();
        var key = await ada.KeyAsync("resource:*/*:read");

        var response = await Fixture.Host.NewClient(key.Secret).GetAsync("/auth/me");

        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        var me = await response.Json();
        me["id"]!.GetValue<Guid>().ShouldBe(ada.Id);
        me["kind"]!.GetValue<string>().ShouldBe("apiKey");
        me["apiKeyId"]!.GetValue<Guid>().ShouldBe(key.Id);
        me["isPlatformAdmin"]!.GetValue<bool>().ShouldBeFalse(); // Ada registered first: she is an admin, her key is not.
        me["scopes"]!.AsArray().Select(s => s!.GetValue<string>()).ShouldBe(["resource:*/*:read"]);
    }

    [Fact]
    public async Task a_key_with_the_routes_action_may_use_it()
    {
        var ada = await Fixture.NewUserAsync();
        var workspace = await ada.WorkspaceAsync();
        var key = await ada.KeyAsync("resource:*/*:read", "resource:*/*:write");
        using var client = Fixture.Host.NewClient(key.Secret);

        (await client.GetAsync($"/workspaces/{workspace}")).StatusCode.ShouldBe(HttpStatusCode.OK);
        var patch = await client.MergePatch($"/workspaces/{workspace}", new { title = "Renamed by a key" });

        patch.StatusCode.ShouldBe(HttpStatusCode.OK, await patch.Content.ReadAsStringAsync());
        await using var session = Fixture.Host.Store.QuerySession();
        (await session.Events.FetchStreamAsync(workspace)).Last().UserName.ShouldBe(ada.Id.ToString());
    }

    [Fact]
    public async Task a_key_without_the_routes_action_is_403_insufficient_scope_and_changes_nothing()
    {
        var ada = await Fixture.NewUserAsync();
        var workspace = await ada.WorkspaceAsync();
        var key = await ada.KeyAsync("resource:*/*:read");
        using var client = Fixture.Host.NewClient(key.Secret);
        var before = await Fixture.EventCountAsync();

        var create = await client.PostJson("/artifacts", new { containerId = workspace, contentType = "text/plain", title = "No" },
            r => r.Headers.Add("Idempotency-Key", "k-1"));
        var patch = await client.MergePatch($"/workspaces/{workspace}", new { title = "No" });
        var delete = await client.DeleteAsync($"/workspaces/{workspace}");

        create.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await create.ProblemCode()).ShouldBe("insufficient_scope");
        create.Headers.WwwAuthenticate.ToString().ShouldBe("Bearer error=\"insufficient_scope\", scope=\"create\"");
        patch.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        delete.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await Fixture.EventCountAsync()).ShouldBe(before);
        (await Fixture.SqlScalarAsync<long>("select count(*) from agentartifacts.idempotency_keys")).ShouldBe(0);
    }

    [Theory]
    [InlineData("GET", "/api-keys")]
    [InlineData("POST", "/api-keys")]
    [InlineData("GET", "/api-keys/{id}")]
    [InlineData("PATCH", "/api-keys/{id}")]
    [InlineData("DELETE", "/api-keys/{id}")]
    [InlineData("POST", "/api-keys/{id}/rotate")]
    [InlineData("GET", "/server-credentials")]
    [InlineData("POST", "/server-credentials")]
    public async Task a_key_can_never_manage_keys_or_credentials(string method, string path)
    {
        var ada = await Fixture.NewUserAsync();
        var key = await ada.Client.KeyAsync(ApiKeyScopes.Kinds.SelectMany(k => ApiKeyScopes.Actions.Select(a => $"{k}:*/*:{a}")).ToArray());
        var before = await Fixture.EventCountAsync();

        var response = await Fixture.Host.NewClient(key.Secret).SendJson(new HttpMethod(method), path.Replace("{id}", key.Id.ToString()),
            new { name = "Escalated", scopes = new[] { "resource:*/*:read" } });

        response.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await response.ProblemCode()).ShouldBe("permission_denied");
        (await Fixture.EventCountAsync()).ShouldBe(before);
    }

    [Fact]
    public async Task an_unknown_key_is_401_like_any_invalid_token()
    {
        var response = await Fixture.Host.NewClient("aa_" + new string('x', 43)).GetAsync("/auth/me");

        response.StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        response.Headers.WwwAuthenticate.ToString().ShouldStartWith("Bearer error=\"invalid_token\", resource_metadata=");
        (await response.ProblemCode()).ShouldBe("unauthenticated");
    }

    [Fact]
    public async Task a_revoked_key_is_401_and_gone_from_the_owners_list()
    {
        var ada = await Fixture.NewUserAsync();
        var key = await ada.KeyAsync("resource:*/*:read");
        using var client = Fixture.Host.NewClient(key.Secret);
        (await client.GetAsync("/auth/me")).StatusCode.ShouldBe(HttpStatusCode.OK);

        var revoke = await ada.Client.DeleteAsync($"/api-keys/{key.Id}");

        revoke.StatusCode.ShouldBe(HttpStatusCode.NoContent);
        var refused = await client.GetAsync("/auth/me");
        refused.StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        (await refused.ProblemCode()).ShouldBe("unauthenticated");
        (await ada.Client.GetAsync($"/api-keys/{key.Id}")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await ada.Client.DeleteAsync($"/api-keys/{key.Id}")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await (await ada.Client.GetAsync("/api-keys")).Json())["items"]!.AsArray().ShouldBeEmpty();
        await using var session = Fixture.Host.Store.QuerySession();
        (await session.Events.FetchStreamAsync(key.Id)).Select(e => e.Data.GetType()).ShouldBe([typeof(ApiKeyIssued), typeof(ApiKeyRevoked)]);
    }

    [Fact]
    public async Task another_users_key_does_not_exist_for_you()
    {
        var ada = await Fixture.NewUserAsync();
        var bob = await Fixture.NewUserAsync();
        var key = await ada.KeyAsync("resource:*/*:read");
        var before = await Fixture.EventCountAsync();

        (await bob.Client.GetAsync($"/api-keys/{key.Id}")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await bob.Client.DeleteAsync($"/api-keys/{key.Id}")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await bob.Client.PostAsync($"/api-keys/{key.Id}/rotate", null)).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await bob.Client.MergePatch($"/api-keys/{key.Id}", new { name = "Mine" })).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await (await bob.Client.GetAsync("/api-keys")).Json())["items"]!.AsArray().ShouldBeEmpty();
        (await Fixture.EventCountAsync()).ShouldBe(before);
    }

    [Theory]
    [InlineData("""{"name":"k","scopes":[]}""", "scopes")]
    [InlineData("""{"name":"k","scopes":["resource:*/*:read","resource:text:read"]}""", "scopes[1]")]
    [InlineData("""{"name":"k","scopes":["admin:*/*:read"]}""", "scopes[0]")]
    [InlineData("""{"name":"k","scopes":["resource:*/*:admin"]}""", "scopes[0]")]
    [InlineData("""{"name":"k","scopes":["resource:*/*:read"],"expiresInDays":7}""", "expiresInDays")]
    [InlineData("""{"name":"","scopes":["resource:*/*:read"]}""", "name")]
    [InlineData("""{"name":"k","scopes":["resource:*/*:read"],"resourceIds":[]}""", "resourceIds")]
    public async Task invalid_keys_are_400_naming_the_field_and_create_nothing(string body, string field)
    {
        var ada = await Fixture.NewUserAsync();
        var before = await Fixture.EventCountAsync();

        var response = await ada.Client.PostJson("/api-keys", body);

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        var problem = await response.Json();
        problem["code"]!.GetValue<string>().ShouldBe("validation_failed");
        problem["errors"]!.AsObject().Select(e => e.Key).ShouldContain(field);
        (await Fixture.EventCountAsync()).ShouldBe(before);
    }

    [Fact]
    public async Task only_the_name_can_change()
    {
        var ada = await Fixture.NewUserAsync();
        var key = await ada.KeyAsync("resource:*/*:read");

        var rename = await ada.Client.MergePatch($"/api-keys/{key.Id}", new { name = "Deploy bot" }, ifMatch: "\"1\"");
        var rescope = await ada.Client.MergePatch($"/api-keys/{key.Id}", new { name = "x", scopes = new[] { "resource:*/*:delete" } });
        var stale = await ada.Client.MergePatch($"/api-keys/{key.Id}", new { name = "Late" }, ifMatch: "\"1\"");

        rename.StatusCode.ShouldBe(HttpStatusCode.OK, await rename.Content.ReadAsStringAsync());
        rename.Headers.ETag!.Tag.ShouldBe("\"2\"");
        (await rename.Json())["name"]!.GetValue<string>().ShouldBe("Deploy bot");
        rescope.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await rescope.ProblemCode()).ShouldBe("unknown_field");
        stale.StatusCode.ShouldBe(HttpStatusCode.PreconditionFailed);
        var shown = await (await ada.Client.GetAsync($"/api-keys/{key.Id}")).Json();
        shown["name"]!.GetValue<string>().ShouldBe("Deploy bot");
        shown["scopes"]!.AsArray().Select(s => s!.GetValue<string>()).ShouldBe(["resource:*/*:read"]);
    }

    [Fact]
    public async Task a_retried_issue_replays_without_the_secret_which_is_never_stored()
    {
        var ada = await Fixture.NewUserAsync();
        var body = new { name = "CI", scopes = new[] { "resource:*/*:read" } };
        Action<HttpRequestMessage> key = r => r.Headers.Add("Idempotency-Key", "issue-once");

        var first = await ada.Client.PostJson("/api-keys", body, key);
        var retry = await ada.Client.PostJson("/api-keys", body, key);

        first.StatusCode.ShouldBe(HttpStatusCode.Created);
        var issued = await first.Json();
        var secret = issued["key"]!.GetValue<string>();
        retry.StatusCode.ShouldBe(HttpStatusCode.Created);
        retry.Headers.GetValues("Idempotent-Replayed").Single().ShouldBe("true");
        var replay = await retry.Json();
        replay["id"]!.GetValue<Guid>().ShouldBe(issued["id"]!.GetValue<Guid>());
        replay["key"].ShouldBeNull();
        (await (await ada.Client.GetAsync("/api-keys")).Json())["items"]!.AsArray().Count.ShouldBe(1);
        (await Fixture.SqlScalarAsync<long>(
            $"select count(*) from agentartifacts.idempotency_keys where position('{secret}' in convert_from(body, 'UTF8')) > 0")).ShouldBe(0);
        (await Fixture.SqlScalarAsync<long>("select count(*) from agentartifacts.idempotency_keys where body is not null")).ShouldBe(1);
    }

    [Fact]
    public async Task a_keys_idempotency_keys_are_its_own_not_its_owners()
    {
        var ada = await Fixture.NewUserAsync();
        var key = await ada.KeyAsync("resource:*/*:create");
        Action<HttpRequestMessage> same = r => r.Headers.Add("Idempotency-Key", "same");

        var adas = await ada.Client.PostJson("/workspaces", new { title = "Same" }, same);
        var keys = await Fixture.Host.NewClient(key.Secret).PostJson("/workspaces", new { title = "Same" }, same);

        keys.StatusCode.ShouldBe(HttpStatusCode.Created);
        keys.Headers.Contains("Idempotent-Replayed").ShouldBeFalse();
        (await keys.Json())["id"]!.GetValue<Guid>().ShouldNotBe((await adas.Json())["id"]!.GetValue<Guid>());
    }

    [Fact]
    public async Task keys_are_listed_oldest_first_in_pages()
    {
        var ada = await Fixture.NewUserAsync();
        var keys = new List<Guid>();
        for (var i = 0; i < 3; i++) keys.Add((await ada.Client.KeyAsync(["resource:*/*:read"], name: $"k{i}")).Id);

        var first = await (await ada.Client.GetAsync("/api-keys?limit=2")).Json();
        var cursor = first["nextCursor"]!.GetValue<string>();
        var second = await (await ada.Client.GetAsync($"/api-keys?limit=2&cursor={cursor}")).Json();

        first["items"]!.AsArray().Select(k => k!["id"]!.GetValue<Guid>()).ShouldBe(keys.Take(2));
        second["items"]!.AsArray().Select(k => k!["id"]!.GetValue<Guid>()).ShouldBe(keys.Skip(2));
        second["nextCursor"].ShouldBeNull();
        (await ada.Client.GetAsync("/api-keys?cursor=bogus")).StatusCode.ShouldBe(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task last_used_at_is_set_when_the_key_is_used()
    {
        var ada = await Fixture.NewUserAsync();
        var key = await ada.KeyAsync("resource:*/*:read");
        (await (await ada.Client.GetAsync($"/api-keys/{key.Id}")).Json())["lastUsedAt"].ShouldBeNull();

        (await Fixture.Host.NewClient(key.Secret).GetAsync("/workspaces")).StatusCode.ShouldBe(HttpStatusCode.OK);

        var used = (await (await ada.Client.GetAsync($"/api-keys/{key.Id}")).Json())["lastUsedAt"]!.GetValue<DateTimeOffset>();
        used.ShouldBe(DateTimeOffset.UtcNow, TimeSpan.FromMinutes(1));
        var listed = await (await ada.Client.GetAsync("/api-keys")).Json();
        listed["items"]![0]!["lastUsedAt"]!.GetValue<DateTimeOffset>().ShouldBe(used);
    }
}
