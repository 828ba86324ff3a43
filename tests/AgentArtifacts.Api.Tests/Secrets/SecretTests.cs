using System.Net;
using AgentArtifacts.Api.Tests.ApiKeys;
using AgentArtifacts.Api.Tests.Infrastructure;
using Shouldly;
using Xunit;

namespace AgentArtifacts.Api.Tests.StoredSecrets;

public sealed class SecretTests(ApiFixture fixture) : ApiTest(fixture)
{
    private static string NewValue() => $"sv-{Guid.NewGuid():N}";

    private static async Task<Guid> CreateAsync(TestUser user, string name, string value, string? description = null)
    {
        var response = await user.Client.PostJson("/secrets", new { name, value, description });
        response.StatusCode.ShouldBe(HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        return (await response.Json())["id"]!.GetValue<Guid>();
    }

    [Fact]
    public async Task creating_answers_201_with_metadata_only_and_the_value_is_never_shown_again()
    {
        var ada = await Fixture.NewUserAsync();
        var value = NewValue();

        var response = await ada.Client.PostJson("/secrets", new { name = "OPENAI_KEY", value, description = "For the agent" });

        response.StatusCode.ShouldBe(HttpStatusCode.Created);
        var text = await response.Content.ReadAsStringAsync();
        text.ShouldNotContain(value);
        var body = await response.Json();
        var id = body["id"]!.GetValue<Guid>();
        body.Select(p => p.Key).ShouldBe(["id", "name", "description", "createdAt"], ignoreOrder: true);
        (body["name"]!.GetValue<string>(), body["description"]!.GetValue<string>()).ShouldBe(("OPENAI_KEY", "For the agent"));
        response.Headers.Location!.ToString().ShouldBe($"/secrets/{id}");
        response.Headers.ETag!.Tag.ShouldBe("\"1\"");

        var get = await ada.Client.GetAsync($"/secrets/{id}");
        get.StatusCode.ShouldBe(HttpStatusCode.OK);
        get.Headers.ETag!.Tag.ShouldBe("\"1\"");
        (await get.Content.ReadAsStringAsync()).ShouldNotContain(value);
        (await get.Json())["name"]!.GetValue<string>().ShouldBe("OPENAI_KEY");
        var list = await ada.Client.GetAsync("/secrets");
        var listText = await list.Content.ReadAsStringAsync();
        listText.ShouldNotContain(value);
        (await list.Json())["items"]!.AsArray().Single()!["id"]!.GetValue<Guid>().ShouldBe(id);
    }

    [Fact]
    public async Task the_value_is_stored_encrypted_and_never_in_events_or_snapshots()
    {
        var ada = await Fixture.NewUserAsync();
        var value = NewValue();
        var id = await CreateAsync(ada, "TOKEN", value);

        (await Fixture.SqlScalarAsync<long>($"select count(*) from agentartifacts.mt_doc_secretciphertext where id = '{id}'")).ShouldBe(1);
        (await Fixture.SqlScalarAsync<long>($"select count(*) from agentartifacts.mt_doc_secretciphertext where data::text like '%{value}%'")).ShouldBe(0);
        // Not base64 of the value either (a stored byte[] is base64 in JSON).
        var base64 = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(value))[..20];
        (await Fixture.SqlScalarAsync<long>($"select count(*) from agentartifacts.mt_doc_secretciphertext where data::text like '%{base64}%'")).ShouldBe(0);
        (await Fixture.SqlScalarAsync<long>($"select count(*) from agentartifacts.mt_events where stream_id = '{id}'")).ShouldBe(1);
        (await Fixture.SqlScalarAsync<long>($"select count(*) from agentartifacts.mt_events where data::text like '%{value}%'")).ShouldBe(0);
        (await Fixture.SqlScalarAsync<long>("select count(*) from agentartifacts.mt_events where data::text like '%Sealed%' or data::text like '%Nonce%'")).ShouldBe(0);
        (await Fixture.SqlScalarAsync<long>($"select count(*) from agentartifacts.mt_doc_storedsecret where data::text like '%{value}%'")).ShouldBe(0);
        // The unique index on (owner, name) that CreateSecret's race handling recognises by name.
        (await Fixture.SqlScalarAsync<long>($"select count(*) from pg_indexes where indexname = '{Api.StoredSecrets.SecretStream.NameIndex}'")).ShouldBe(1);
    }

    [Fact]
    public async Task a_duplicate_name_is_409_and_appends_nothing_and_a_deleted_name_is_free_again()
    {
        var ada = await Fixture.NewUserAsync();
        var bob = await Fixture.NewUserAsync();
        var first = await CreateAsync(ada, "TOKEN", NewValue());
        var before = await Fixture.EventCountAsync();

        var duplicate = await ada.Client.PostJson("/secrets", new { name = "TOKEN", value = NewValue() });

        duplicate.StatusCode.ShouldBe(HttpStatusCode.Conflict);
        (await duplicate.ProblemCode()).ShouldBe("secret_name_taken");
        (await Fixture.EventCountAsync()).ShouldBe(before);
        // Names are per owner; case matters.
        await CreateAsync(bob, "TOKEN", NewValue());
        await CreateAsync(ada, "token", NewValue());
        (await ada.Client.DeleteAsync($"/secrets/{first}")).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        await CreateAsync(ada, "TOKEN", NewValue());
    }

    [Theory]
    [InlineData("""{"name":"1ABC","value":"v"}""", "name")]
    [InlineData("""{"name":"WITH-DASH","value":"v"}""", "name")]
    [InlineData("""{"name":"","value":"v"}""", "name")]
    [InlineData("""{"name":"OK","value":""}""", "value")]
    [InlineData("""{"name":"OK"}""", "value")]
    public async Task invalid_input_is_400_and_appends_nothing(string body, string field)
    {
        var ada = await Fixture.NewUserAsync();
        var before = await Fixture.EventCountAsync();

        var response = await ada.Client.PostJson("/secrets", body);

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        var problem = await response.Json();
        problem["code"]!.GetValue<string>().ShouldBe("validation_failed");
        problem["errors"]!.AsObject().Select(e => e.Key).ShouldContain(field);
        (await Fixture.EventCountAsync()).ShouldBe(before);
    }

    [Fact]
    public async Task a_name_of_129_characters_and_a_value_over_64_kib_are_refused_without_quoting_the_value()
    {
        var ada = await Fixture.NewUserAsync();
        var before = await Fixture.EventCountAsync();
        var oversize = "s" + new string('x', 64 * 1024);

        var longName = await ada.Client.PostJson("/secrets", new { name = "N" + new string('x', 128), value = "v" });
        var tooBig = await ada.Client.PostJson("/secrets", new { name = "BIG", value = oversize });

        longName.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        tooBig.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        var text = await tooBig.Content.ReadAsStringAsync();
        text.ShouldContain("\"value\"");
        text.ShouldNotContain("xxxxxxxxxx");
        (await Fixture.EventCountAsync()).ShouldBe(before);
        (await ada.Client.PostJson("/secrets", new { name = "EXACTLY_64K", value = new string('x', 64 * 1024) })).StatusCode.ShouldBe(HttpStatusCode.Created);
    }

    [Fact]
    public async Task another_users_secret_is_404_on_get_and_delete_and_absent_from_their_list()
    {
        var ada = await Fixture.NewUserAsync();
        var eve = await Fixture.NewUserAsync();
        var id = await CreateAsync(ada, "TOKEN", NewValue());
        var before = await Fixture.EventCountAsync();

        (await eve.Client.GetAsync($"/secrets/{id}")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await (await eve.Client.DeleteAsync($"/secrets/{id}")).ProblemCode()).ShouldBe("not_found");
        (await (await eve.Client.GetAsync("/secrets")).Json())["items"]!.AsArray().ShouldBeEmpty();
        (await Fixture.EventCountAsync()).ShouldBe(before);
        (await ada.Client.GetAsync($"/secrets/{id}")).StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public async Task deleting_erases_the_ciphertext_and_honours_if_match()
    {
        var ada = await Fixture.NewUserAsync();
        var id = await CreateAsync(ada, "TOKEN", NewValue());

        var stale = new HttpRequestMessage(HttpMethod.Delete, $"/secrets/{id}") { Headers = { { "If-Match", "\"7\"" } } };
        (await ada.Client.SendAsync(stale)).StatusCode.ShouldBe(HttpStatusCode.PreconditionFailed);
        var current = new HttpRequestMessage(HttpMethod.Delete, $"/secrets/{id}") { Headers = { { "If-Match", "\"1\"" } } };
        (await ada.Client.SendAsync(current)).StatusCode.ShouldBe(HttpStatusCode.NoContent);

        (await ada.Client.GetAsync($"/secrets/{id}")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await ada.Client.DeleteAsync($"/secrets/{id}")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await (await ada.Client.GetAsync("/secrets")).Json())["items"]!.AsArray().ShouldBeEmpty();
        (await Fixture.SqlScalarAsync<long>($"select count(*) from agentartifacts.mt_doc_secretciphertext where id = '{id}'")).ShouldBe(0);
        (await Fixture.SqlScalarAsync<long>($"select count(*) from agentartifacts.mt_events where stream_id = '{id}'")).ShouldBe(2);
    }

    [Fact]
    public async Task the_list_is_cursor_paged()
    {
        var ada = await Fixture.NewUserAsync();
        var ids = new List<Guid>();
        for (var i = 0; i < 3; i++) ids.Add(await CreateAsync(ada, $"S{i}", NewValue()));

        var first = await (await ada.Client.GetAsync("/secrets?limit=2")).Json();
        var second = await (await ada.Client.GetAsync($"/secrets?limit=2&cursor={first["nextCursor"]}")).Json();

        first["items"]!.AsArray().Select(i => i!["id"]!.GetValue<Guid>()).ShouldBe(ids.Take(2));
        second["items"]!.AsArray().Select(i => i!["id"]!.GetValue<Guid>()).ShouldBe(ids.Skip(2));
        second["nextCursor"].ShouldBeNull();
        (await (await ada.Client.GetAsync("/secrets?cursor=nope")).ProblemCode()).ShouldBe("invalid_cursor");
    }

    [Fact]
    public async Task an_idempotent_replay_answers_the_same_metadata_and_stores_no_value()
    {
        var ada = await Fixture.NewUserAsync();
        var value = NewValue();
        Action<HttpRequestMessage> key = r => r.Headers.Add("Idempotency-Key", "secret-once");

        var first = await ada.Client.PostJson("/secrets", new { name = "TOKEN", value }, key);
        var retry = await ada.Client.PostJson("/secrets", new { name = "TOKEN", value }, key);

        first.StatusCode.ShouldBe(HttpStatusCode.Created);
        retry.StatusCode.ShouldBe(HttpStatusCode.Created);
        retry.Headers.GetValues("Idempotent-Replayed").Single().ShouldBe("true");
        var replayed = await retry.Content.ReadAsStringAsync();
        replayed.ShouldNotContain(value);
        (await retry.Json())["id"]!.GetValue<Guid>().ShouldBe((await first.Json())["id"]!.GetValue<Guid>());
        (await Fixture.SqlScalarAsync<long>($"select count(*) from agentartifacts.idempotency_keys where convert_from(body, 'UTF8') like '%{value}%'")).ShouldBe(0);
        // Nor a plain hash of the request, which would confirm guesses of a weak value: a keyed one.
        var plainHash = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(
            System.Text.Encoding.UTF8.GetBytes(System.Text.Json.JsonSerializer.Serialize(new { name = "TOKEN", value }, HttpExtensions.Web))));
        (await Fixture.SqlScalarAsync<long>("select count(*) from agentartifacts.idempotency_keys")).ShouldBe(1);
        (await Fixture.SqlScalarAsync<long>($"select count(*) from agentartifacts.idempotency_keys where request_hash = '{plainHash}'")).ShouldBe(0);
        (await (await ada.Client.PostJson("/secrets", new { name = "TOKEN", value = NewValue() }, key)).ProblemCode()).ShouldBe("idempotency_key_reused");
        (await (await ada.Client.GetAsync("/secrets")).Json())["items"]!.AsArray().Count.ShouldBe(1);
    }

    [Fact]
    public async Task the_request_log_of_a_create_does_not_contain_the_value()
    {
        var ada = await Fixture.NewUserAsync();
        var value = NewValue();
        var rejected = NewValue();

        await CreateAsync(ada, "TOKEN", value);
        (await ada.Client.PostJson("/secrets", new { name = "TOKEN", value = rejected })).StatusCode.ShouldBe(HttpStatusCode.Conflict);
        (await ada.Client.PostJson("/secrets", new { name = "bad-name", value = rejected })).StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        var lastPath = $"/log-probe/{Guid.NewGuid():N}";
        await ada.Client.GetAsync(lastPath);

        var lines = await Logs.UntilAsync(Fixture, lastPath);
        lines.ShouldContain(l => l.Contains("POST /secrets responded 201"));
        lines.ShouldNotContain(l => l.Contains(value));
        lines.ShouldNotContain(l => l.Contains(rejected));
    }

    [Fact]
    public async Task keys_need_a_scope_that_covers_secrets()
    {
        var ada = await Fixture.NewUserAsync();
        var id = await CreateAsync(ada, "TOKEN", NewValue());
        var all = await ada.KeyAsync("resource:*/*:read", "resource:*/*:create", "resource:*/*:delete");
        var textOnly = await ada.KeyAsync("resource:text/*:read", "resource:text/*:create");
        var invokeOnly = await ada.KeyAsync("tool:*/*:invoke");
        using var allClient = Fixture.Host.NewClient(all.Secret);
        using var textClient = Fixture.Host.NewClient(textOnly.Secret);
        using var invokeClient = Fixture.Host.NewClient(invokeOnly.Secret);

        (await allClient.GetAsync($"/secrets/{id}")).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await allClient.PostJson("/secrets", new { name = "FROM_KEY", value = NewValue() })).StatusCode.ShouldBe(HttpStatusCode.Created);
        (await (await textClient.GetAsync("/secrets")).ProblemCode()).ShouldBe("insufficient_scope");
        (await (await textClient.PostJson("/secrets", new { name = "NOPE", value = NewValue() })).ProblemCode()).ShouldBe("insufficient_scope");
        (await (await invokeClient.GetAsync($"/secrets/{id}")).ProblemCode()).ShouldBe("insufficient_scope");
        (await (await invokeClient.DeleteAsync($"/secrets/{id}")).ProblemCode()).ShouldBe("insufficient_scope");
        (await allClient.DeleteAsync($"/secrets/{id}")).StatusCode.ShouldBe(HttpStatusCode.NoContent);
    }

    [Fact]
    public async Task secrets_need_authentication()
    {
        (await Fixture.Anonymous().GetAsync("/secrets")).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        (await Fixture.Anonymous().PostJson("/secrets", new { name = "X", value = "y" })).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
    }
}

public static class Logs
{
    /// <summary>The captured log lines once one mentions <paramref name="text"/> (a request's line is written after its response).</summary>
    public static async Task<List<string>> UntilAsync(ApiFixture fixture, string text)
    {
        for (var attempt = 0; attempt < 50; attempt++)
        {
            var lines = fixture.Host.Logs.Lines.ToList();
            if (lines.Any(l => l.Contains(text))) return lines;
            await Task.Delay(100);
        }
        throw new TimeoutException($"No log line mentions {text}.");
    }
}
