using System.Net;
using AgentArtifacts.Api.Identity;
using AgentArtifacts.Api.Tests.ApiKeys;
using AgentArtifacts.Api.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Shouldly;
using Xunit;

namespace AgentArtifacts.Api.Tests.Mcp;

/// <summary>
/// A request to the MCP endpoint without a valid credential: 401 problem+json whose challenge names the protected resource
/// metadata (where an MCP client learns which issuer's tokens the endpoint takes), and nothing stored.
/// </summary>
public sealed class McpAuthTests(ApiFixture fixture) : ApiTest(fixture)
{
    private const string Initialize = """
        {"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}
        """;

    private string Metadata => $"resource_metadata=\"{Fixture.Host.BaseAddress.ToString().TrimEnd('/')}/.well-known/oauth-protected-resource\"";

    [Fact]
    public async Task no_credential_is_401_naming_the_resource_metadata()
    {
        var response = await PostAsync(bearer: null);

        response.StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        response.Headers.WwwAuthenticate.ToString().ShouldBe($"Bearer {Metadata}");
        (await response.ProblemCode()).ShouldBe("unauthenticated");
    }

    [Fact]
    public async Task a_forged_jwt_is_401_invalid_token_naming_the_resource_metadata()
    {
        var ada = await Fixture.NewUserAsync();
        var parts = ada.AccessToken.Split('.');

        var response = await PostAsync($"{parts[0]}.{parts[1]}.{Base64UrlEncoder.Encode(new byte[256])}");

        await ShouldBeInvalidToken(response);
    }

    [Fact]
    public async Task an_expired_jwt_signed_with_the_real_key_is_401_invalid_token()
    {
        var ada = await Fixture.NewUserAsync();
        var options = Fixture.Host.Services.GetRequiredService<IOptions<SigningKeyOptions>>().Value;
        var now = DateTime.UtcNow;
        var expired = new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = options.Issuer,
            Audience = options.Audience,
            IssuedAt = now.AddHours(-2),
            NotBefore = now.AddHours(-2),
            Expires = now.AddMinutes(-5),
            SigningCredentials = await Fixture.Host.Services.GetRequiredService<SigningKeys>().SigningCredentialsAsync(default),
            Claims = new Dictionary<string, object> { ["sub"] = ada.Id.ToString() },
        });

        var response = await PostAsync(expired);

        await ShouldBeInvalidToken(response);
    }

    [Fact]
    public async Task an_unknown_api_key_is_401_invalid_token()
    {
        var response = await PostAsync("aa_" + new string('x', 43));

        await ShouldBeInvalidToken(response);
    }

    [Fact]
    public async Task an_expired_api_key_is_401_invalid_token()
    {
        var ada = await Fixture.NewUserAsync();
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        await using var host = ServiceHost.Start(Fixture.Database.ConnectionString, services: s => s.AddSingleton<TimeProvider>(clock));
        var key = await host.NewClient(ada.AccessToken).KeyAsync(["resource:*/*:read"], expiresInDays: 30);
        clock.Advance(TimeSpan.FromDays(30));
        var before = await Fixture.EventCountAsync();

        using var http = new HttpClient();
        var response = await http.SendAsync(host.Post(Initialize, key.Secret));

        response.StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        response.Headers.WwwAuthenticate.ToString()
            .ShouldBe($"Bearer error=\"invalid_token\", resource_metadata=\"{host.BaseAddress.ToString().TrimEnd('/')}/.well-known/oauth-protected-resource\"");
        (await response.ProblemCode()).ShouldBe("unauthenticated");
        (await Fixture.EventCountAsync()).ShouldBe(before);
    }

    [Fact]
    public async Task a_rest_401_names_the_same_resource_metadata()
    {
        var response = await Fixture.Anonymous().GetAsync("/auth/me");

        response.StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        response.Headers.WwwAuthenticate.ToString().ShouldBe($"Bearer {Metadata}");
    }

    private async Task<HttpResponseMessage> PostAsync(string? bearer)
    {
        var before = await Fixture.EventCountAsync();
        using var http = new HttpClient();
        var response = await http.SendAsync(Fixture.Host.Post(Initialize, bearer));
        (await Fixture.EventCountAsync()).ShouldBe(before);
        return response;
    }

    private async Task ShouldBeInvalidToken(HttpResponseMessage response)
    {
        response.StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        response.Headers.WwwAuthenticate.ToString().ShouldBe($"Bearer error=\"invalid_token\", {Metadata}");
        (await response.ProblemCode()).ShouldBe("unauthenticated");
    }
}
