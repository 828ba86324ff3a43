using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Shouldly;
using Xunit;

namespace AgentArtifacts.Api.Tests.Infrastructure;

/// <summary>The input hygiene promises one by one; <see cref="HostileInputTests"/> sends the whole class to every route.</summary>
public sealed class InputHygieneTests(ApiFixture fixture) : ApiTest(fixture)
{
    private static StringContent Raw(string json, string mediaType = "application/json")
    {
        var content = new StringContent(json, Encoding.UTF8);
        content.Headers.ContentType = new(mediaType);
        return content;
    }

    [Theory]
    [InlineData("title", "\"a\\u0000b\"")]
    [InlineData("description", "\"a\\u0000b\"")]
    [InlineData("content", "\"line\\u0000\"")]
    [InlineData("tags", "[\"a\\u0000\"]")]
    [InlineData("context", "{\"k\":\"\\u0000\"}")]
    [InlineData("context", "{\"k\\u0000\":\"v\"}")]
    [InlineData("title", "\"a\\u0001b\"")]
    [InlineData("title", "\"a\\u007fb\"")]
    [InlineData("title", "\"a\\u0085b\"")]
    public async Task a_control_character_in_any_stored_string_is_400_invalid_character_and_stores_nothing(string field, string value)
    {
        var ada = await Fixture.NewUserAsync();
        var workspace = await ada.WorkspaceAsync();
        var title = field == "title" ? value : "\"T\"";
        var other = field == "title" ? "" : $",\"{field}\":{value}";
        var body = $"{{\"containerId\":\"{workspace}\",\"contentType\":\"text/markdown\",\"title\":{title}{other}}}";
        var before = await Fixture.EventCountAsync();

        var response = await ada.Client.PostAsync("/artifacts", Raw(body));

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest, body);
        (await response.ProblemCode()).ShouldBe("invalid_character");
        (await Fixture.EventCountAsync()).ShouldBe(before);
    }

    [Fact]
    public async Task line_breaks_and_tabs_in_text_are_kept()
    {
        var ada = await Fixture.NewUserAsync();

        var created = await ada.ArtifactAsync(await ada.WorkspaceAsync(), content: "a\tb\r\nc\n");

        created["content"]!.GetValue<string>().ShouldBe("a\tb\r\nc\n");
    }

    [Theory]
    [InlineData("{\"email\":\"a\\u0000@example.com\",\"password\":\"correct horse battery\",\"name\":\"A\"}")]
    [InlineData("{\"email\":\"a@example.com\",\"password\":\"correct horse battery\",\"name\":\"A\\u0000\"}")]
    public async Task registering_with_nul_is_400_invalid_character_and_adds_no_user(string body)
    {
        using var anonymous = Fixture.Anonymous();

        var response = await anonymous.PostAsync("/auth/register", Raw(body));

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await response.ProblemCode()).ShouldBe("invalid_character");
        (await Fixture.SqlScalarAsync<long>("select count(*) from agentartifacts.mt_doc_user")).ShouldBe(0);
    }

    [Theory]
    [InlineData("a\u202e@example.com")]
    [InlineData("a\u200b@example.com")]
    [InlineData("a\u2066b@example.com")]
    [InlineData("a b@example.com")]
    [InlineData("a\t@example.com")]
    public async Task an_email_with_spaces_or_invisible_characters_is_refused(string email)
    {
        using var anonymous = Fixture.Anonymous();

        var response = await anonymous.PostJson("/auth/register", new { email, password = "correct horse battery", name = "A" });

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        var problem = await response.Json();
        problem["code"]!.GetValue<string>().ShouldBe("validation_failed");
        problem["errors"]!["email"].ShouldNotBeNull();
        (await Fixture.SqlScalarAsync<long>("select count(*) from agentartifacts.mt_doc_user")).ShouldBe(0);
    }

    [Fact]
    public async Task nul_in_a_token_form_is_400_with_an_oauth_error_and_a_problem_code()
    {
        var ada = await Fixture.NewUserAsync();
        using var anonymous = Fixture.Anonymous();

        var response = await anonymous.PostAsync("/auth/token", new StringContent(
            $"grant_type=password&username={Uri.EscapeDataString(ada.Email)}&password=a%01b", Encoding.ASCII, "application/x-www-form-urlencoded"));

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        var body = await response.Json();
        body["code"]!.GetValue<string>().ShouldBe("invalid_character");
        body["error"]!.GetValue<string>().ShouldBe("invalid_request");
    }

    [Fact]
    public async Task nul_under_concurrent_load_is_refused_and_other_users_requests_still_succeed()
    {
        var (ada, bob) = (await Fixture.NewUserAsync(), await Fixture.NewUserAsync());
        var (adaSpace, bobSpace) = (await ada.WorkspaceAsync(), await bob.WorkspaceAsync());

        var hostile = Enumerable.Range(0, 60).Select(i => ada.Client.PostAsync("/artifacts",
            Raw($"{{\"containerId\":\"{adaSpace}\",\"contentType\":\"text/markdown\",\"title\":\"t{i}\",\"content\":\"x\\u0000y\"}}")));
        var valid = Enumerable.Range(0, 60).Select(i => bob.Client.PostJson("/artifacts",
            new { containerId = bobSpace, contentType = "text/markdown", title = $"Valid {i}", content = "fine" }));
        var answers = await Task.WhenAll(hostile.Concat(valid));

        answers.Take(60).Select(r => r.StatusCode).ShouldAllBe(s => s == HttpStatusCode.BadRequest);
        answers.Skip(60).Select(r => r.StatusCode).ShouldAllBe(s => s == HttpStatusCode.Created);
        // And afterwards, on the same pool.
        (await bob.ArtifactAsync(bobSpace, "After"))["title"]!.GetValue<string>().ShouldBe("After");
    }

    [Theory]
    [InlineData("{\"title\":\"\\ud800\"}", "invalid_unicode")]
    [InlineData("{\"title\":\"\\udc00x\"}", "invalid_unicode")]
    [InlineData("{\"title\":\"a\",\"title\":\"b\"}", "duplicate_field")]
    [InlineData("{\"context\":{\"k\":1,\"k\":2}}", "duplicate_field")]
    [InlineData("{\"title\":", "invalid_json")]
    [InlineData("null", "invalid_json")]
    public async Task a_patch_with_invalid_unicode_duplicate_members_or_broken_json_is_400_and_changes_nothing(string body, string code)
    {
        var ada = await Fixture.NewUserAsync();
        var id = (await ada.ArtifactAsync(await ada.WorkspaceAsync()))["id"];
        var before = await Fixture.EventCountAsync();

        var response = await ada.Client.PatchAsync($"/artifacts/{id}", Raw(body, "application/merge-patch+json"));

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await response.ProblemCode()).ShouldBe(code);
        (await Fixture.EventCountAsync()).ShouldBe(before);
    }

    [Fact]
    public async Task a_patch_with_invalid_utf8_bytes_is_400_invalid_unicode()
    {
        var ada = await Fixture.NewUserAsync();
        var id = (await ada.ArtifactAsync(await ada.WorkspaceAsync()))["id"];
        var content = new ByteArrayContent([.. "{\"title\":\""u8.ToArray(), 0xC3, 0x28, .. "\"}"u8.ToArray()]);
        content.Headers.ContentType = new("application/merge-patch+json");

        var response = await ada.Client.PatchAsync($"/artifacts/{id}", content);

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await response.ProblemCode()).ShouldBe("invalid_unicode");
    }

    [Theory]
    [InlineData("5")]
    [InlineData("\"text\"")]
    [InlineData("true")]
    [InlineData("[1]")]
    public async Task a_patch_whose_context_is_not_an_object_is_400_and_keeps_the_context(string context)
    {
        var ada = await Fixture.NewUserAsync();
        var id = (await ada.ArtifactAsync(await ada.WorkspaceAsync(), context: new { language = "en" }))["id"];
        var before = await Fixture.EventCountAsync();

        var response = await ada.Client.PatchAsync($"/artifacts/{id}", Raw($"{{\"context\":{context}}}", "application/merge-patch+json"));

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await response.Json())["errors"]!["context"].ShouldNotBeNull();
        (await Fixture.EventCountAsync()).ShouldBe(before);
        (await (await ada.Client.GetAsync($"/artifacts/{id}")).Json())["context"]!["language"]!.GetValue<string>().ShouldBe("en");
    }

    [Fact]
    public async Task a_patch_whose_context_is_null_clears_it()
    {
        var ada = await Fixture.NewUserAsync();
        var id = (await ada.ArtifactAsync(await ada.WorkspaceAsync(), context: new { language = "en" }))["id"];

        var response = await ada.Client.PatchAsync($"/artifacts/{id}", Raw("{\"context\":null}", "application/merge-patch+json"));

        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        (await response.Json())["context"]!.AsObject().Count.ShouldBe(0);
    }

    [Theory]
    [InlineData("\"effect\":99")]
    [InlineData("\"effect\":\"1\"")]
    [InlineData("\"grantee\":{\"type\":7,\"id\":\"{bob}\"}")]
    public async Task an_enum_given_as_a_number_is_400_and_issues_no_grant(string member)
    {
        var (ada, bob) = (await Fixture.NewUserAsync(), await Fixture.NewUserAsync());
        var workspace = await ada.WorkspaceAsync();
        var grantee = member.StartsWith("\"grantee\"", StringComparison.Ordinal) ? "" : $",\"grantee\":{{\"type\":\"user\",\"id\":\"{bob.Id}\"}}";
        var body = $"{{\"resourceId\":\"{workspace}\",\"role\":\"viewer\"{grantee},{member.Replace("{bob}", bob.Id.ToString())}}}";
        var before = await Fixture.EventCountAsync();

        var response = await ada.Client.PostAsync("/grants", Raw(body));

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest, body);
        (await response.ProblemCode()).ShouldBe("invalid_json");
        (await Fixture.EventCountAsync()).ShouldBe(before);
    }

    [Theory]
    [InlineData("/workspaces?state=1")]
    [InlineData("/workspaces?state=-1")]
    [InlineData("/collections?state=2")]
    public async Task an_enum_query_parameter_given_as_a_number_is_400(string url)
    {
        var ada = await Fixture.NewUserAsync();

        var response = await ada.Client.GetAsync(url);

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await response.ProblemCode()).ShouldBe("invalid_query_parameter");
        (await ada.Client.GetAsync(url.Split('=')[0] + "=archived")).StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    [Theory]
    [InlineData("/grants?resourceId=abc", "resourceId")]
    [InlineData("/workspaces?limit=99999999999", "limit")]
    [InlineData("/artifacts/{id}?revision=x", "revision")]
    public async Task an_unparseable_query_value_is_a_problem_that_names_no_dotnet_type(string url, string parameter)
    {
        var ada = await Fixture.NewUserAsync();
        var id = (await ada.ArtifactAsync(await ada.WorkspaceAsync()))["id"];

        var response = await ada.Client.GetAsync(url.Replace("{id}", id!.ToString()));

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        response.Content.Headers.ContentType!.MediaType.ShouldBe("application/problem+json");
        var problem = await response.Json();
        problem["code"]!.GetValue<string>().ShouldBe("invalid_query_parameter");
        var detail = problem["detail"]!.GetValue<string>();
        detail.ShouldContain(parameter);
        detail.ShouldNotContain("System.");
        detail.ShouldNotContain("Int32");
    }

    [Theory]
    [InlineData("/search?q=a%00b")]
    [InlineData("/search?q=a%01b")]
    [InlineData("/workspaces?cursor=%00")]
    [InlineData("/artifacts/a%01b")]
    public async Task a_control_character_in_the_query_or_path_is_400_invalid_character(string url)
    {
        var ada = await Fixture.NewUserAsync();

        var response = await ada.Client.GetAsync(url);

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await response.ProblemCode()).ShouldBe("invalid_character");
    }

    /// <summary>
    /// A path that percent-decodes to NUL is refused by the web server while it parses the request line, before any of the
    /// service's code runs (as Apache and nginx do): a 400 without a problem body, and nothing is acted on.
    /// </summary>
    [Fact]
    public async Task a_nul_in_the_path_is_refused_by_the_web_server_and_changes_nothing()
    {
        var ada = await Fixture.NewUserAsync();
        var before = await Fixture.EventCountAsync();

        var response = await ada.Client.PostAsync("/workspaces%00", new StringContent("{\"title\":\"W\"}", System.Text.Encoding.UTF8, "application/json"));

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await Fixture.EventCountAsync()).ShouldBe(before);
    }

    [Theory]
    [InlineData("null")]
    [InlineData("{\"contentTypes\":[null]}")]
    [InlineData("{\"states\":[null]}")]
    public async Task a_search_with_a_null_body_or_null_list_items_is_400(string body)
    {
        var ada = await Fixture.NewUserAsync();

        var response = await ada.Client.PostAsync("/search", Raw(body));

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await response.ProblemCode()).ShouldBeOneOf("invalid_json", "validation_failed");
    }

    [Fact]
    public async Task a_json_body_without_a_content_type_is_415_and_creates_nothing()
    {
        var ada = await Fixture.NewUserAsync();
        var content = new ByteArrayContent("{\"title\":\"W\"}"u8.ToArray());
        var before = await Fixture.EventCountAsync();

        var response = await ada.Client.PostAsync("/workspaces", content);

        response.StatusCode.ShouldBe(HttpStatusCode.UnsupportedMediaType);
        (await response.ProblemCode()).ShouldBe("unsupported_media_type");
        (await Fixture.EventCountAsync()).ShouldBe(before);
    }

    [Fact]
    public async Task a_large_valid_body_passes_the_check_unchanged()
    {
        var ada = await Fixture.NewUserAsync();
        var text = string.Concat(Enumerable.Repeat("Grüße, \"world\" \\ 😀\n", 20_000));

        var created = await ada.ArtifactAsync(await ada.WorkspaceAsync(), content: text);

        created["content"]!.GetValue<string>().ShouldBe(text);
    }

    [Theory]
    [InlineData("application/vnd.agience.http-tool+json", "endpoint")]
    [InlineData("application/vnd.agience.mcp-server+json", "transport")]
    public async Task a_tool_header_value_with_a_line_break_is_refused_when_created(string contentType, string holder)
    {
        var ada = await Fixture.NewUserAsync();
        var workspace = await ada.WorkspaceAsync();
        var context = new JsonObject
        {
            [holder] = new JsonObject
            {
                ["type"] = holder == "transport" ? "http" : null, ["url"] = "https://tools.example.com/",
                ["headers"] = new JsonObject { ["X-Api"] = "a\r\nX-Injected: yes" },
            },
        };
        if (holder == "endpoint") context[holder]!.AsObject().Remove("type");
        var before = await Fixture.EventCountAsync();

        var response = await ada.Client.PostJson("/artifacts", new { containerId = workspace, contentType, title = "Tool", context });

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest, await response.Content.ReadAsStringAsync());
        (await response.ProblemCode()).ShouldBe("invalid_context");
        (await Fixture.EventCountAsync()).ShouldBe(before);
    }

    [Theory]
    [InlineData("a\r\nX-Injected: yes", null)]
    [InlineData("a\nb", null)]
    [InlineData("ok", "Bad Name:")]
    public async Task a_tool_header_with_a_line_break_or_a_bad_name_is_refused_when_patched(string value, string? name)
    {
        var ada = await Fixture.NewUserAsync();
        var tool = (await ada.ArtifactAsync(await ada.WorkspaceAsync(), "Tool", "application/vnd.agience.http-tool+json", content: null,
            context: new { endpoint = new { url = "https://tools.example.com/", headers = new { Authorization = "Bearer x" } } }))["id"];
        var before = await Fixture.EventCountAsync();

        var response = await ada.Client.MergePatch($"/artifacts/{tool}",
            new { context = new { endpoint = new { headers = new JsonObject { [name ?? "X-Api"] = value } } } });

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest, await response.Content.ReadAsStringAsync());
        (await Fixture.EventCountAsync()).ShouldBe(before);
        var ok = await ada.Client.MergePatch($"/artifacts/{tool}", new { context = new { endpoint = new { headers = new { X_Api = "plain value" } } } });
        ok.StatusCode.ShouldBe(HttpStatusCode.OK, await ok.Content.ReadAsStringAsync());
    }
}
