using System.Net;
using System.Text.Json.Nodes;
using AgentArtifacts.Api.Infrastructure;
using AgentArtifacts.Api.Tests.ApiKeys;
using AgentArtifacts.Api.Tests.Infrastructure;
using Shouldly;
using Xunit;

namespace AgentArtifacts.Api.Tests.Audit;

/// <summary><c>GET /audit-logs</c>: who did what, when, with which credential, and what it changed.</summary>
public sealed class GetAuditLogsTests(ApiFixture fixture) : ApiTest(fixture)
{
    private sealed record World(TestUser Admin, TestUser Ada, TestUser Bob, Guid AdaWorkspace, Guid Artifact, Guid BobWorkspace);

    /// <summary>The platform admin (first user); Ada's workspace with an artifact she retitles; Bob's workspace.</summary>
    private async Task<World> ArrangeAsync()
    {
        var admin = await Fixture.NewUserAsync("Admin");
        var ada = await Fixture.NewUserAsync("Ada");
        var bob = await Fixture.NewUserAsync("Bob");
        var adaWorkspace = await ada.WorkspaceAsync("Ada's");
        var artifact = (await ada.ArtifactAsync(adaWorkspace, "Notes", content: "one"))["id"]!.GetValue<Guid>();
        (await ada.Client.MergePatch($"/artifacts/{artifact}", new { title = "Notes, revised" })).EnsureSuccessStatusCode();
        var bobWorkspace = await bob.WorkspaceAsync("Bob's");
        await Fixture.WaitForProjectionsAsync();
        return new World(admin, ada, bob, adaWorkspace, artifact, bobWorkspace);
    }

    private static async Task<JsonArray> ItemsAsync(HttpClient client, string query)
    {
        var response = await client.GetAsync("/audit-logs" + query);
        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        return (await response.Json())["items"]!.AsArray();
    }

    private static string Action(JsonNode? entry) => entry!["action"]!.GetValue<string>();

    [Fact]
    public async Task an_entry_says_who_did_what_to_which_resource_in_which_container_and_what_changed()
    {
        var w = await ArrangeAsync();

        var items = await ItemsAsync(w.Admin.Client, $"?resourceId={w.Artifact}");

        items.Select(Action).ShouldBe(["artifact.created", "artifact.updated"]);
        var created = items[0]!;
        created["actor"]!["type"]!.GetValue<string>().ShouldBe("user");
        created["actor"]!["userId"]!.GetValue<Guid>().ShouldBe(w.Ada.Id);
        created["resourceType"]!.GetValue<string>().ShouldBe("artifact");
        created["containerId"]!.GetValue<Guid>().ShouldBe(w.AdaWorkspace);
        created["before"].ShouldBeNull();
        created["after"]!["title"]!.GetValue<string>().ShouldBe("Notes");
        created["after"]!["content"]!.GetValue<string>().ShouldBe("one");
        var updated = items[1]!;
        updated["before"]!.ToJsonString().ShouldBe("""{"title":"Notes"}""");
        updated["after"]!.ToJsonString().ShouldBe("""{"title":"Notes, revised"}""");
        updated["sequence"]!.GetValue<long>().ShouldBeGreaterThan(created["sequence"]!.GetValue<long>());
        updated["traceId"]!.GetValue<string>().ShouldMatch("^[0-9a-f]{32}$");
    }

    [Fact]
    public async Task a_write_with_an_api_key_names_the_key_as_well_as_its_owner()
    {
        var w = await ArrangeAsync();
        var key = await w.Ada.KeyAsync("resource:*/*:read", "resource:*/*:write");
        using var withKey = Fixture.Host.NewClient(key.Secret);
        var patched = await withKey.MergePatch($"/artifacts/{w.Artifact}", new { tags = new[] { "keyed" } });
        patched.StatusCode.ShouldBe(HttpStatusCode.OK, await patched.Content.ReadAsStringAsync());
        await Fixture.WaitForProjectionsAsync();

        var entry = (await ItemsAsync(w.Admin.Client, $"?resourceId={w.Artifact}&action=artifact.updated"))[^1]!;

        entry["actor"]!["type"]!.GetValue<string>().ShouldBe("api_key");
        entry["actor"]!["userId"]!.GetValue<Guid>().ShouldBe(w.Ada.Id);
        entry["actor"]!["apiKeyId"]!.GetValue<Guid>().ShouldBe(key.Id);
        entry["after"]!.ToJsonString().ShouldBe("""{"tags":["keyed"]}""");
    }

    [Fact]
    public async Task a_container_admin_sees_what_happened_inside_her_containers_only()
    {
        var w = await ArrangeAsync();

        var items = await ItemsAsync(w.Ada.Client, "");
        var intoBobs = await w.Ada.Client.GetAsync($"/audit-logs?containerId={w.BobWorkspace}");

        items.Count.ShouldBeGreaterThanOrEqualTo(4); // her workspace, its admin grant, the artifact, its edit
        items.ShouldAllBe(e => e!["containerId"]!.GetValue<Guid>() == w.AdaWorkspace);
        intoBobs.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await intoBobs.ProblemCode()).ShouldBe("permission_denied");
        (await ItemsAsync(w.Admin.Client, "")).Select(e => e!["containerId"]?.GetValue<Guid>()).ShouldContain(w.BobWorkspace);
    }

    [Fact]
    public async Task a_reader_who_administers_nothing_and_any_api_key_get_403()
    {
        var w = await ArrangeAsync();
        var carol = await Fixture.NewUserAsync("Carol");
        (await w.Ada.GrantAsync(w.AdaWorkspace, carol.Id, "collaborator")).EnsureSuccessStatusCode();
        var adminKey = await w.Admin.KeyAsync("resource:*/*:read");
        using var withKey = Fixture.Host.NewClient(adminKey.Secret);

        var asCarol = await carol.Client.GetAsync("/audit-logs");
        var asKey = await withKey.GetAsync("/audit-logs");

        asCarol.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await asCarol.ProblemCode()).ShouldBe("permission_denied");
        asKey.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task filters_by_actor_action_globs_container_and_time()
    {
        var w = await ArrangeAsync();
        var all = await ItemsAsync(w.Admin.Client, "?limit=200");
        var edit = all.Single(e => Action(e) == "artifact.updated")!;
        var editTime = edit["time"]!.GetValue<DateTimeOffset>();

        (await ItemsAsync(w.Admin.Client, $"?actor={w.Bob.Id}")).ShouldAllBe(e => e!["actor"]!["userId"]!.GetValue<Guid>() == w.Bob.Id);
        (await ItemsAsync(w.Admin.Client, $"?actor={w.Bob.Id}")).ShouldNotBeEmpty();
        (await ItemsAsync(w.Admin.Client, "?action=artifact.updated")).Select(Action).ShouldBe(["artifact.updated"]);
        (await ItemsAsync(w.Admin.Client, "?action=grant.*,artifact.up*")).Select(Action).Distinct().Order().ShouldBe(["artifact.updated", "grant.issued"]);
        (await ItemsAsync(w.Admin.Client, $"?containerId={w.BobWorkspace}")).ShouldAllBe(e => e!["containerId"]!.GetValue<Guid>() == w.BobWorkspace);
        var at = Uri.EscapeDataString(editTime.ToString("O"));
        (await ItemsAsync(w.Admin.Client, $"?from={at}&to={at}")).Select(e => e!["sequence"]!.GetValue<long>()).ShouldContain(edit["sequence"]!.GetValue<long>());
        (await ItemsAsync(w.Admin.Client, $"?to={Uri.EscapeDataString(editTime.AddTicks(-10).ToString("O"))}")).Select(Action).ShouldNotContain("artifact.updated");
    }

    [Theory]
    [InlineData("?from=2026-12-03T10:00:00Z&to=2026-12-03T09:00:00Z", "invalid_time_range")]
    [InlineData("?action=artifcat.*", "unknown_event_type")]
    [InlineData("?action=Artifact.Created", "invalid_event_type_glob")]
    [InlineData("?action=,", "invalid_event_type_glob")]
    [InlineData("?from=yesterday", "invalid_query_parameter")]
    [InlineData("?actor=bob", "invalid_query_parameter")]
    [InlineData("?cursor=nope", "invalid_cursor")]
    public async Task bad_input_is_400_with_a_code(string query, string code)
    {
        var admin = await Fixture.NewUserAsync();

        var response = await admin.Client.GetAsync("/audit-logs" + query);

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await response.ProblemCode()).ShouldBe(code);
    }

    [Fact]
    public async Task cursor_paging_visits_every_entry_once_in_log_order()
    {
        var w = await ArrangeAsync();
        var all = (await ItemsAsync(w.Admin.Client, "?limit=200")).Select(e => e!["sequence"]!.GetValue<long>()).ToList();

        var seen = new List<long>();
        string? cursor = null;
        do
        {
            var page = await (await w.Admin.Client.GetAsync("/audit-logs?limit=2" + (cursor is null ? "" : $"&cursor={cursor}"))).Json();
            var items = page["items"]!.AsArray();
            items.Count.ShouldBeLessThanOrEqualTo(2);
            seen.AddRange(items.Select(e => e!["sequence"]!.GetValue<long>()));
            cursor = page["nextCursor"]?.GetValue<string>();
        } while (cursor is not null);

        seen.ShouldBe(all);
        all.ShouldBeInOrder();
        all.Count.ShouldBeGreaterThan(4);
    }

    [Fact]
    public async Task secrets_in_a_tools_context_are_redacted()
    {
        var w = await ArrangeAsync();
        var tool = await w.Ada.ArtifactAsync(w.AdaWorkspace, "Tool", "application/vnd.agience.http-tool+json", content: null,
            context: new { endpoint = new { url = "https://tools.example/run", headers = new Dictionary<string, string> { ["Authorization"] = "Bearer s3cr3t-value" } } });
        await Fixture.WaitForProjectionsAsync();

        var response = await w.Admin.Client.GetAsync($"/audit-logs?resourceId={tool["id"]}");
        var body = await response.Content.ReadAsStringAsync();

        body.ShouldNotContain("s3cr3t-value");
        var after = (await response.Json())["items"]![0]!["after"]!;
        after["context"]!["endpoint"]!["headers"]!["Authorization"]!.GetValue<string>().ShouldBe("[redacted]");
        after["context"]!["endpoint"]!["url"]!.GetValue<string>().ShouldBe("https://tools.example/run");
    }

    [Fact]
    public async Task the_consistency_token_of_a_write_makes_the_audit_log_include_it()
    {
        var admin = await Fixture.NewUserAsync();
        var created = await admin.Client.PostJson("/workspaces", new { title = "Fresh" });
        var id = (await created.Json())["id"]!.GetValue<Guid>();
        var request = new HttpRequestMessage(HttpMethod.Get, $"/audit-logs?resourceId={id}");
        request.Headers.TryAddWithoutValidation(ConsistencyToken.Header, created.Headers.GetValues(ConsistencyToken.Header).Single());

        var response = await admin.Client.SendAsync(request);

        (await response.Json())["items"]!.AsArray().Select(Action).ShouldBe(["artifact.created"]);
    }

    [Fact]
    public async Task ndjson_exports_every_matching_entry_across_batches_one_per_line()
    {
        var w = await ArrangeAsync();
        await Fixture.DraftsAsync(w.Ada.Id, w.AdaWorkspace, 620);
        await Fixture.WaitForProjectionsAsync();
        var request = new HttpRequestMessage(HttpMethod.Get, $"/audit-logs?containerId={w.AdaWorkspace}&action=artifact.created");
        request.Headers.Accept.ParseAdd("application/x-ndjson");

        var response = await w.Ada.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);

        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        response.Content.Headers.ContentType!.MediaType.ShouldBe("application/x-ndjson");
        var lines = (await response.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines.Length.ShouldBe(622); // the workspace (its own container), the artifact and the drafts: more than one batch
        var sequences = lines.Select(l => JsonNode.Parse(l)!["sequence"]!.GetValue<long>()).ToList();
        sequences.ShouldBeInOrder();
        sequences.Distinct().Count().ShouldBe(622);
    }

    [Fact]
    public async Task csv_exports_a_header_and_one_quoted_row_per_entry()
    {
        var w = await ArrangeAsync();
        var request = new HttpRequestMessage(HttpMethod.Get, $"/audit-logs?resourceId={w.Artifact}");
        request.Headers.Accept.ParseAdd("text/csv");

        var response = await w.Admin.Client.SendAsync(request);

        response.Content.Headers.ContentType!.MediaType.ShouldBe("text/csv");
        var lines = (await response.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines[0].ShouldBe("sequence,time,action,actorType,actorUserId,actorApiKeyId,actorServerId,resourceType,resourceId,containerId,contentType,traceId,before,after,data");
        lines.Length.ShouldBe(3);
        lines[2].ShouldContain(",artifact.updated,user," + w.Ada.Id + ",,,artifact," + w.Artifact + "," + w.AdaWorkspace + ",text/markdown,");
        lines[2].ShouldContain("\"{\"\"title\"\":\"\"Notes\"\"}\",\"{\"\"title\"\":\"\"Notes, revised\"\"}\"");
    }
}
