using System.Net;
using AgentArtifacts.Api.Artifacts;
using AgentArtifacts.Api.Tests.Infrastructure;
using Marten;
using Shouldly;
using Xunit;

namespace AgentArtifacts.Api.Tests.Artifacts;

public sealed class CreateArtifactTests(ApiFixture fixture) : ApiTest(fixture)
{
    [Fact]
    public async Task create_returns_201_with_location_etag_and_the_draft()
    {
        var ada = await Fixture.NewUserAsync();
        var workspace = await ada.WorkspaceAsync();

        var response = await ada.Client.PostJson("/artifacts", new
        {
            containerId = workspace, contentType = "text/markdown", title = " Notes ", content = "# Hi", tags = new[] { "a", "b", "a" },
            context = new { language = "en" },
        });

        response.StatusCode.ShouldBe(HttpStatusCode.Created);
        var body = await response.Json();
        var id = body["id"]!.GetValue<Guid>();
        response.Headers.Location!.ToString().ShouldBe($"/artifacts/{id}");
        response.Headers.ETag!.Tag.ShouldBe("\"1\"");
        body["title"]!.GetValue<string>().ShouldBe("Notes");
        body["state"]!.GetValue<string>().ShouldBe("draft");
        body["revision"]!.GetValue<int>().ShouldBe(0);
        body["tags"]!.AsArray().Select(t => t!.GetValue<string>()).ShouldBe(["a", "b"]);
        body["createdBy"]!.GetValue<Guid>().ShouldBe(ada.Id);

        var stored = await (await ada.Client.GetAsync($"/artifacts/{id}")).Json();
        System.Text.Json.Nodes.JsonNode.DeepEquals(stored, body).ShouldBeTrue($"GET shows {stored} but POST answered {body}");

        await using var session = Fixture.Host.Store.QuerySession();
        var events = await session.Events.FetchStreamAsync(id);
        events.Single().Data.ShouldBeOfType<ArtifactCreated>().ContainerId.ShouldBe(workspace);
        events.Single().UserName.ShouldBe(ada.Id.ToString());
    }

    [Fact]
    public async Task create_without_a_token_is_401_with_www_authenticate()
    {
        var response = await Fixture.Anonymous().PostJson("/artifacts", new { containerId = Guid.NewGuid(), contentType = "text/plain", title = "x" });

        response.StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        response.Headers.WwwAuthenticate.ToString().ShouldStartWith("Bearer");
        (await response.ProblemCode()).ShouldBe("unauthenticated");
    }

    [Fact]
    public async Task create_with_a_forged_token_is_401()
    {
        var client = Fixture.Host.NewClient("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl");
        var response = await client.PostJson("/artifacts", new { containerId = Guid.NewGuid(), contentType = "text/plain", title = "x" });

        response.StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        response.Headers.WwwAuthenticate.ToString().ShouldContain("invalid_token");
    }

    [Theory]
    [InlineData("{\"containerId\": ", "invalid_json")]
    [InlineData("{\"containerId\": 12, \"contentType\": \"text/plain\", \"title\": \"x\"}", "invalid_json")]
    [InlineData("{\"containerId\": \"WS\", \"contentType\": \"text/plain\", \"title\": [1]}", "invalid_json")]
    [InlineData("{\"containerId\": \"WS\", \"contentType\": \"text/plain\", \"title\": \"x\", \"colour\": \"red\"}", "unknown_field")]
    [InlineData("{\"containerId\": \"WS\", \"contentType\": \"text/plain\"}", "validation_failed")]
    [InlineData("{\"containerId\": \"WS\", \"contentType\": \"not a mime\", \"title\": \"x\"}", "validation_failed")]
    [InlineData("{\"containerId\": \"WS\", \"contentType\": \"application/vnd.agience.workspace+json\", \"title\": \"x\"}", "validation_failed")]
    [InlineData("{\"containerId\": \"WS\", \"contentType\": \"text/plain\", \"title\": \"   \"}", "validation_failed")]
    [InlineData("null", "invalid_json")]
    public async Task bad_input_is_400_with_a_code_and_appends_nothing(string body, string code)
    {
        var ada = await Fixture.NewUserAsync();
        var workspace = await ada.WorkspaceAsync();
        var before = await Fixture.EventCountAsync();

        var response = await ada.Client.PostJson("/artifacts", body.Replace("WS", workspace.ToString()));

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest, await response.Content.ReadAsStringAsync());
        (await response.ProblemCode()).ShouldBe(code);
        (await Fixture.EventCountAsync()).ShouldBe(before);
    }

    [Fact]
    public async Task validation_errors_name_the_fields()
    {
        var ada = await Fixture.NewUserAsync();
        var workspace = await ada.WorkspaceAsync();

        var response = await ada.Client.PostJson("/artifacts", new { containerId = workspace, contentType = "text/plain", title = "", tags = new[] { "" } });

        var problem = await response.Json();
        problem["errors"]!.AsObject().Select(e => e.Key).ShouldBe(["title", "tags"], ignoreOrder: true);
        problem["traceId"]!.GetValue<string>().ShouldNotBeEmpty();
    }

    [Fact]
    public async Task invalid_context_for_the_type_is_400_with_paths_and_appends_nothing()
    {
        var ada = await Fixture.NewUserAsync();
        var workspace = await ada.WorkspaceAsync();
        var before = await Fixture.EventCountAsync();

        var response = await ada.Client.PostJson("/artifacts", new
        {
            containerId = workspace, contentType = "application/vnd.agience.http-tool+json", title = "Weather",
            context = new { endpoint = new { headers = new { x = 1 } }, timeoutSeconds = 0 },
        });

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        var problem = await response.Json();
        problem["code"]!.GetValue<string>().ShouldBe("invalid_context");
        var paths = problem["errors"]!.AsObject().Select(e => e.Key).ToList();
        paths.ShouldContain("context.endpoint.url");
        paths.ShouldContain("context.endpoint.headers.x");
        paths.ShouldContain("context.timeoutSeconds");
        (await Fixture.EventCountAsync()).ShouldBe(before);
    }

    [Fact]
    public async Task unsupported_media_type_is_415()
    {
        var ada = await Fixture.NewUserAsync();
        var response = await ada.Client.SendJson(HttpMethod.Post, "/artifacts", "{}", mediaType: "text/plain");

        response.StatusCode.ShouldBe(HttpStatusCode.UnsupportedMediaType);
        (await response.ProblemCode()).ShouldBe("unsupported_media_type");
    }

    [Fact]
    public async Task an_oversize_body_is_413_and_appends_nothing()
    {
        var ada = await Fixture.NewUserAsync();
        var workspace = await ada.WorkspaceAsync();
        var before = await Fixture.EventCountAsync();

        var response = await ada.Client.PostJson("/artifacts", new
        {
            containerId = workspace, contentType = "text/plain", title = "Big", content = new string('x', 1_100_000),
        });

        response.StatusCode.ShouldBe(HttpStatusCode.RequestEntityTooLarge);
        (await response.ProblemCode()).ShouldBe("payload_too_large");
        (await Fixture.EventCountAsync()).ShouldBe(before);
    }

    [Fact]
    public async Task an_oversize_chunked_body_is_413()
    {
        var ada = await Fixture.NewUserAsync();
        var workspace = await ada.WorkspaceAsync();
        var before = await Fixture.EventCountAsync();
        var json = $"{{\"containerId\":\"{workspace}\",\"contentType\":\"text/plain\",\"title\":\"Big\",\"content\":\"{new string('x', 1_100_000)}\"}}";
        var content = new StreamContent(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(json)));
        content.Headers.ContentType = new("application/json");
        var request = new HttpRequestMessage(HttpMethod.Post, "/artifacts") { Content = content };
        request.Headers.TransferEncodingChunked = true;

        var response = await ada.Client.SendAsync(request);

        response.StatusCode.ShouldBe(HttpStatusCode.RequestEntityTooLarge);
        (await Fixture.EventCountAsync()).ShouldBe(before);
    }

    [Fact]
    public async Task an_unknown_workspace_is_404()
    {
        var ada = await Fixture.NewUserAsync();
        var response = await ada.Client.PostJson("/artifacts", new { containerId = Guid.CreateVersion7(), contentType = "text/plain", title = "x" });

        response.StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await response.ProblemCode()).ShouldBe("not_found");
    }

    [Fact]
    public async Task another_users_workspace_is_404_and_appends_nothing()
    {
        var ada = await Fixture.NewUserAsync();
        var bob = await Fixture.NewUserAsync();
        var adasWorkspace = await ada.WorkspaceAsync();
        var before = await Fixture.EventCountAsync();

        var response = await bob.Client.PostJson("/artifacts", new { containerId = adasWorkspace, contentType = "text/plain", title = "x" });

        response.StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await Fixture.EventCountAsync()).ShouldBe(before);
    }

    [Fact]
    public async Task a_collection_is_not_a_place_to_create_drafts()
    {
        var ada = await Fixture.NewUserAsync();
        var collection = await ada.CollectionAsync();

        var response = await ada.Client.PostJson("/artifacts", new { containerId = collection, contentType = "text/plain", title = "x" });

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await response.ProblemCode()).ShouldBe("not_a_workspace");
    }
}
