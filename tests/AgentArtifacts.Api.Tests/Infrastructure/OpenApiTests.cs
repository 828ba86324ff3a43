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
            .SelectMany(e => (e.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? ["GET"])
                .Select(m => $"{m} /{e.RoutePattern.RawText!.TrimStart('/')}"))
            .ToHashSet();

        mapped.Count.ShouldBeGreaterThan(25);
        mapped.Except(documented).ShouldBeEmpty();
    }

    [Fact]
    public async Task protected_operations_require_the_bearer_scheme_and_anonymous_ones_do_not()
    {
        var document = await (await Fixture.Anonymous().GetAsync("/openapi.json")).Json();

        document["components"]!["securitySchemes"]!["bearer"]!["scheme"]!.GetValue<string>().ShouldBe("bearer");
        Operation(document, "/artifacts", "post")["security"].ShouldNotBeNull();
        Operation(document, "/auth/token", "post")["security"].ShouldBeNull();
        Operation(document, "/artifacts", "post")["requestBody"].ShouldNotBeNull();
        Operation(document, "/artifacts", "post")["responses"]!.AsObject().Select(r => r.Key).ShouldContain("201");
        var tokenForm = Operation(document, "/auth/token", "post")["requestBody"]!["content"]!["application/x-www-form-urlencoded"]!["schema"]!;
        tokenForm["properties"]!.AsObject().Select(p => p.Key).ShouldBe(["grant_type", "username", "password", "refresh_token", "client_id", "client_secret", "scope"], ignoreOrder: true);
        tokenForm["required"]!.AsArray().Select(r => r!.GetValue<string>()).ShouldBe(["grant_type"]);
    }

    [Fact]
    public async Task the_api_reference_is_served_at_docs()
    {
        var response = await Fixture.Anonymous().GetAsync("/docs");

        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        var html = await response.Content.ReadAsStringAsync();
        html.ShouldContain("<title>AgentArtifacts API</title>");
        html.ShouldContain("scalar");
    }

    private static JsonObject Operation(JsonObject document, string path, string method) => document["paths"]![path]![method]!.AsObject();
}
