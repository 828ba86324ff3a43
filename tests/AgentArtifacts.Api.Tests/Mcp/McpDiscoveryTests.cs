using System.Net;
using AgentArtifacts.Api.Tests.Infrastructure;
using Microsoft.IdentityModel.JsonWebTokens;
using Shouldly;
using Xunit;

namespace AgentArtifacts.Api.Tests.Mcp;

/// <summary>What an MCP client reads before it connects: the protected resource metadata (RFC 9728) and the server card.</summary>
public sealed class McpDiscoveryTests(ApiFixture fixture) : ApiTest(fixture)
{
    private string BaseUrl => Fixture.Host.BaseAddress.ToString().TrimEnd('/');

    [Theory]
    [InlineData("/.well-known/oauth-protected-resource", "/mcp")]
    [InlineData("/.well-known/oauth-protected-resource/mcp", "/mcp")]
    public async Task protected_resource_metadata_names_the_endpoint_and_this_services_issuer(string path, string endpoint)
    {
        var ada = await Fixture.NewUserAsync();

        var response = await Fixture.Anonymous().GetAsync(path);

        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        var body = await response.Json();
        body["resource"]!.GetValue<string>().ShouldBe(BaseUrl + endpoint);
        body["authorization_servers"]!.AsArray().Select(s => s!.GetValue<string>()).ShouldBe([new JsonWebToken(ada.AccessToken).Issuer]);
        body["scopes_supported"]!.AsArray().Select(s => s!.GetValue<string>())
            .ShouldBe(["read", "write", "create", "delete", "search", "invoke"], ignoreOrder: true);
        body["bearer_methods_supported"]!.AsArray().Select(s => s!.GetValue<string>()).ShouldBe(["header"]);
        body["resource_name"]!.GetValue<string>().ShouldBe("AgentArtifacts");
        body["resource_documentation"]!.GetValue<string>().ShouldBe(BaseUrl + "/docs");
    }

    [Fact]
    public async Task the_metadata_every_401_names_is_served()
    {
        using var http = new HttpClient();
        var challenge = await http.SendAsync(Fixture.Host.Post("""{"jsonrpc":"2.0","id":1,"method":"ping"}""", bearer: null));
        var named = challenge.Headers.WwwAuthenticate.Single().Parameter!.Split('"')[1];

        var response = await Fixture.Anonymous().GetAsync(named);

        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        (await response.Json())["resource"]!.GetValue<string>().ShouldBe(BaseUrl + "/mcp");
    }

    [Fact]
    public async Task the_server_card_says_where_and_how_to_connect()
    {
        var response = await Fixture.Anonymous().GetAsync("/.well-known/mcp.json");

        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        var body = await response.Json();
        body["name"]!.GetValue<string>().ShouldBe("agentartifacts");
        body["title"]!.GetValue<string>().ShouldBe("AgentArtifacts");
        body["version"]!.GetValue<string>().ShouldNotBeNullOrEmpty();
        body["transport"]!["type"]!.GetValue<string>().ShouldBe("streamable-http");
        body["transport"]!["endpoint"]!.GetValue<string>().ShouldBe(BaseUrl + "/mcp");
        body["collectionEndpoint"]!.GetValue<string>().ShouldBe(BaseUrl + "/collections/{id}/mcp");
        var auth = body["authentication"]!;
        auth["required"]!.GetValue<bool>().ShouldBeTrue();
        auth["schemes"]!.AsArray().Select(s => s!.GetValue<string>()).ShouldBe(["bearer"]);
        auth["credentials"]!.AsArray().Select(s => s!.GetValue<string>()).ShouldBe(["jwt", "api_key"]);
        auth["apiKeyPrefix"]!.GetValue<string>().ShouldBe("aa_");
        auth["tokenEndpoint"]!.GetValue<string>().ShouldBe(BaseUrl + "/auth/token");
        auth["protectedResourceMetadata"]!.GetValue<string>().ShouldBe(BaseUrl + "/.well-known/oauth-protected-resource");
    }

    [Fact]
    public async Task the_server_card_names_the_server_the_handshake_names()
    {
        var ada = await Fixture.NewUserAsync();
        await using var client = await Fixture.Host.ClientAsync(ada.AccessToken);

        var card = await (await Fixture.Anonymous().GetAsync("/.well-known/mcp.json")).Json();

        card["name"]!.GetValue<string>().ShouldBe(client.ServerInfo!.Name);
        card["version"]!.GetValue<string>().ShouldBe(client.ServerInfo.Version);
    }
}
