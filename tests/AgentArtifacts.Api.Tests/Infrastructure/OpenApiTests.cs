using System.Net;
using System.Text.Json.Nodes;
using AgentArtifacts.Api.Tests.Infrastructure;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Shouldly;
using Xunit;

namespace AgentArtifacts.Api.Tests.Infrastructure;

public sealed class OpenApiTests(ApiFixture fixture) : ApiTest(fixture)
{
    // The document itself and the Scalar reference with its assets are not API operations.
    private static bool IsDocumentation(string route) => route == "/openapi.json" || route == "/docs" || route.StartsWith("/docs/", StringComparison.Ordinal);

    [Fact]
    public async Task the_document_is_openapi_3_1_and_lists_every_route_the_app_maps()
    {
        var document = await (await Fixture.Anonymous().GetAsync("/openapi.json")).Json();
        document["openapi"]!.GetValue<string>().ShouldStartWith("3.1");

        var documented = document["paths"]!.AsObject()
            .SelectMany(p => p.Value!.AsObject().Select(m => $"{m.Key.ToUpperInvariant()} {p.Key}"))
            .ToHashSet();
        var mapped = Fixture.Host.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => !IsDocumentation("/" + e.RoutePattern.RawText!.TrimStart('/')))
            // The MCP endpoints speak JSON-RPC on one URL each: described in docs/architecture.md, not in the REST contract.
            .Where(e => e.Metadata.GetMetadata<AgentArtifacts.Api.Mcp.McpEndpoint>() is null)
            .SelectMany(e => (e.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? ["GET"])
                .Select(m => $"{m} /{e.RoutePattern.RawText!.TrimStart('/')}"))
            .ToHashSet();

        mapped.Count.ShouldBeGreaterThan(25);
        mapped.Except(documented).ShouldBeEmpty();
    }

    [Fact]
    public async Task protected_operations_take_a_bearer_or_oauth2_token_and_public_ones_say_they_need_none()
    {
        var document = await DocumentAsync();

        document["components"]!["securitySchemes"]!["bearer"]!["scheme"]!.GetValue<string>().ShouldBe("bearer");
        var password = document["components"]!["securitySchemes"]!["oauth2"]!["flows"]!["password"]!;
        password["tokenUrl"]!.GetValue<string>().ShouldBe("/auth/token");
        document["components"]!["securitySchemes"]!["oauth2"]!["flows"]!["clientCredentials"].ShouldNotBeNull();
        foreach (var (key, operation) in Operations(document))
        {
            var security = operation["security"]!.AsArray();
            if (key is "post /auth/token" or "post /auth/register" or "get /health/live" or "get /.well-known/jwks.json")
                security.ShouldBeEmpty(key);
            else if (key == "get /auth/me")
                security.Select(s => s!.AsObject().Single().Key).ShouldBe(["bearer", "oauth2"], key);
        }
        var tokenForm = Schema(document, Operation(document, "/auth/token", "post")["requestBody"]!["content"]!["application/x-www-form-urlencoded"]!["schema"]!);
        tokenForm["properties"]!.AsObject().Select(p => p.Key).ShouldBe(["grant_type", "username", "password", "refresh_token", "client_id", "client_secret", "scope"], ignoreOrder: true);
        tokenForm["properties"]!["grant_type"]!["enum"]!.AsArray().Select(v => v!.GetValue<string>()).ShouldBe(["password", "client_credentials", "refresh_token"], ignoreOrder: true);
        tokenForm["required"]!.AsArray().Select(r => r!.GetValue<string>()).ShouldBe(["grant_type"]);
    }

    [Fact]
    public async Task operations_declare_only_the_answers_they_give_and_every_error_is_a_problem()
    {
        var document = await DocumentAsync();

        foreach (var (key, operation) in Operations(document))
        {
            var responses = operation["responses"]!.AsObject();
            responses.Any(r => r.Key[0] == '2').ShouldBeTrue(key);
            // No stray IResult 200 beside a real 201/204, and no 404 on a route without an id unless the endpoint declares one.
            responses.ToJsonString().ShouldNotContain("IResult", customMessage: key);
            if (key is "get /auth/me" or "get /workspaces" or "post /search") responses.ContainsKey("404").ShouldBeFalse(key);
            foreach (var (status, response) in responses.Where(r => r.Key[0] is '4' or '5'))
            {
                var resolved = Resolve(document, response!);
                resolved["content"]!["application/problem+json"]!["schema"]!["$ref"]!.GetValue<string>().ShouldBe("#/components/schemas/Problem", $"{key} {status}");
                resolved["headers"]!["X-RateLimit-Limit"].ShouldNotBeNull($"{key} {status}");
            }
            foreach (var status in new[] { "400", "429", "500", "503" }) responses.ContainsKey(status).ShouldBeTrue($"{key} {status}");
        }
        var create = Operation(document, "/artifacts", "post");
        create["responses"]!.AsObject().Select(r => r.Key).ShouldContain("201");
        create["responses"]!["201"]!["headers"]!.AsObject().Select(h => h.Key).ShouldContain("Location");
        create["responses"]!["201"]!["headers"]!.AsObject().Select(h => h.Key).ShouldContain("ETag");
        create["parameters"]!.AsArray().Select(p => p!["$ref"]?.GetValue<string>()).ShouldContain("#/components/parameters/Idempotency-Key");
        Operation(document, "/artifacts/{id}", "patch")["parameters"]!.AsArray().Select(p => p!["$ref"]?.GetValue<string>()).ShouldContain("#/components/parameters/If-Match");
        Operation(document, "/artifacts/{id}", "get")["parameters"]!.AsArray().Select(p => p!["$ref"]?.GetValue<string>()).ShouldContain("#/components/parameters/If-None-Match");
        var problem = document["components"]!["schemas"]!["Problem"]!;
        problem["properties"]!.AsObject().Select(p => p.Key).ShouldBe(["type", "title", "status", "detail", "instance", "code", "traceId", "errors"], ignoreOrder: true);
        problem["additionalProperties"].ShouldBeNull();  // open: problems may carry more members
    }

    [Fact]
    public async Task schemas_say_what_the_json_is()
    {
        var document = await DocumentAsync();
        var schemas = document["components"]!["schemas"]!.AsObject();

        // No System.Text.Json or ASP.NET types as named schemas: any-JSON values are described where they are used.
        schemas.Select(s => s.Key).Intersect(["JsonObject", "JsonNode", "JsonArray", "JsonValue", "JsonElement", "JsonDocument", "IResult"]).ShouldBeEmpty();
        var all = schemas.ToJsonString();
        // Integers are integers: never "integer or string of digits".
        all.ShouldNotContain("\"pattern\":\"^-?(?:0|[1-9]\\\\d*)$\"");
        foreach (var (name, schema) in schemas)
        {
            if (schema!["enum"] is not null) schema["type"]!.GetValue<string>().ShouldBe("string", name);
        }
        schemas["ArtifactState"]!["enum"]!.AsArray().Select(v => v!.GetValue<string>()).ShouldBe(["draft", "committed", "archived"]);
        schemas["ArtifactResponse"]!["properties"]!["version"]!["type"]!.GetValue<string>().ShouldBe("integer");
        schemas["ArtifactResponse"]!["properties"]!["context"]!["additionalProperties"]!.AsObject().ShouldBeEmpty();
        // Requests are closed and ask only for what they need; responses may grow.
        schemas["SearchRequest"]!["required"].ShouldBeNull();
        schemas["SearchRequest"]!["additionalProperties"]!.GetValue<bool>().ShouldBeFalse();
        schemas["ArtifactResponse"]!["additionalProperties"].ShouldBeNull();
        schemas["ArtifactPatch"]!["required"].ShouldBeNull();
        schemas["ArtifactPatch"]!["properties"]!["title"]!["type"]!.GetValue<string>().ShouldBe("string");
    }

    [Fact]
    public async Task every_operation_has_a_one_line_summary_from_its_doc_comment()
    {
        var document = await DocumentAsync();

        foreach (var (key, operation) in Operations(document))
        {
            var summary = operation["summary"]?.GetValue<string>() ?? "";
            summary.ShouldNotBeNullOrWhiteSpace(key);
            summary.ShouldNotStartWith(key.Split(' ')[0].ToUpperInvariant() + "_", customMessage: key);  // Wolverine's placeholder: POST_artifacts
            summary.Length.ShouldBeLessThanOrEqualTo(100, key);
            operation["description"]?.GetValue<string>().ShouldNotBeNullOrWhiteSpace(key);
            // Every tag is one of the document's tags, each described.
            var tag = operation["tags"]!.AsArray().Single()!.GetValue<string>();
            document["tags"]!.AsArray().Single(t => t!["name"]!.GetValue<string>() == tag)!["description"].ShouldNotBeNull(key);
        }
    }

    [Fact]
    public async Task the_document_is_the_same_whatever_host_it_is_fetched_from_and_is_the_committed_one()
    {
        using var client = Fixture.Anonymous();
        var served = (await client.GetStringAsync("/openapi.json")).ReplaceLineEndings("\n");
        using var request = new HttpRequestMessage(HttpMethod.Get, "/openapi.json");
        request.Headers.Host = "api.example.com";
        (await (await client.SendAsync(request)).Content.ReadAsStringAsync()).ReplaceLineEndings("\n").ShouldBe(served);

        // Clients are generated from the committed copy (build/clients.sh); it must be the document the service serves.
        var committed = Repository.PathOf("docs", "openapi.json");
        if (Environment.GetEnvironmentVariable("AA_UPDATE_OPENAPI") == "1") await File.WriteAllTextAsync(committed, served + "\n");
        var normalised = JsonNode.Parse(served)!.ToJsonString();
        JsonNode.Parse(await File.ReadAllTextAsync(committed))!.ToJsonString().ShouldBe(normalised,
            "docs/openapi.json differs from the document the service serves: run this test with AA_UPDATE_OPENAPI=1 to refresh it, then build/clients.sh to regenerate the clients.");
    }

    [Fact]
    public async Task the_api_reference_is_served_at_docs_and_signs_in_with_the_oauth2_password_grant()
    {
        var response = await Fixture.Anonymous().GetAsync("/docs/");

        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        var html = await response.Content.ReadAsStringAsync();
        html.ShouldContain("<title>AgentArtifacts API</title>");
        html.ShouldContain("\"preferredSecurityScheme\":[\"oauth2\"]");
        html.ShouldContain("\"password\":{\"tokenUrl\":\"/auth/token\",\"x-scalar-credentials-location\":\"body\"}");
        // What the reference's "Authorize" sends: the password grant with the credentials in the form, empty scope and client.
        using var anonymous = Fixture.Anonymous();
        var user = await Fixture.NewUserAsync();
        var token = await anonymous.PostAsync("/auth/token", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "password", ["username"] = user.Email, ["password"] = user.Password, ["scope"] = "", ["client_id"] = "",
        }));
        token.StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public async Task an_operation_that_can_stream_declares_both_its_json_and_its_event_stream()
    {
        var document = await DocumentAsync();

        var content = Operation(document, "/artifacts/{id}/invoke", "post")["responses"]!["200"]!["content"]!.AsObject();
        content.Select(c => c.Key).ShouldBe(["application/json", "text/event-stream"], ignoreOrder: true);
    }

    private async Task<JsonObject> DocumentAsync() => await (await Fixture.Anonymous().GetAsync("/openapi.json")).Json();

    private static JsonObject Operation(JsonObject document, string path, string method) => document["paths"]![path]![method]!.AsObject();

    private static IEnumerable<(string Key, JsonObject Operation)> Operations(JsonObject document) =>
        document["paths"]!.AsObject().SelectMany(p => p.Value!.AsObject().Select(m => ($"{m.Key} {p.Key}", m.Value!.AsObject())));

    /// <summary>A response or schema, following a local <c>$ref</c>.</summary>
    private static JsonNode Resolve(JsonObject document, JsonNode node) =>
        node["$ref"]?.GetValue<string>() is { } reference
            ? reference["#/".Length..].Split('/').Aggregate((JsonNode)document, (n, part) => n[part]!)
            : node;

    private static JsonNode Schema(JsonObject document, JsonNode node) => Resolve(document, node);

    [Fact]
    public async Task every_parameter_schema_and_property_carries_a_description_for_generated_clients()
    {
        var document = await DocumentAsync();
        static bool Described(JsonNode? node) => !string.IsNullOrWhiteSpace(node?["description"]?.GetValue<string>());
        var missing = new List<string>();

        foreach (var (key, operation) in Operations(document))
        {
            foreach (var parameter in operation["parameters"]?.AsArray() ?? [])
            {
                if (parameter!["$ref"] is null && !Described(parameter)) missing.Add($"{key} {parameter["in"]}:{parameter["name"]}");
            }
        }
        foreach (var parameter in document["components"]!["parameters"]!.AsObject())
        {
            if (!Described(parameter.Value)) missing.Add($"components/parameters/{parameter.Key}");
        }
        foreach (var (name, schema) in document["components"]!["schemas"]!.AsObject())
        {
            if (!Described(schema)) missing.Add(name);
            foreach (var (property, value) in schema!["properties"]?.AsObject() ?? [])
            {
                if (!Described(value)) missing.Add($"{name}.{property}");
            }
        }

        missing.ShouldBeEmpty();
        document["paths"]!["/search"]!["get"]!["parameters"]!.AsArray().Single(p => p!["name"]?.GetValue<string>() == "limit")!["description"]!
            .GetValue<string>().ShouldContain("1 to 100");  // search's own bounds, not the list convention's
    }
}
