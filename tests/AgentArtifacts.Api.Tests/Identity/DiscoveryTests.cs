using System.Net;
using System.Security.Cryptography;
using AgentArtifacts.Api.Tests.Infrastructure;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Shouldly;
using Xunit;

namespace AgentArtifacts.Api.Tests.Identity;

public sealed class DiscoveryTests(ApiFixture fixture) : ApiTest(fixture)
{
    [Fact]
    public async Task openid_configuration_describes_the_local_issuer()
    {
        var ada = await Fixture.NewUserAsync();

        var response = await Fixture.Anonymous().GetAsync("/.well-known/openid-configuration");

        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        var body = await response.Json();
        var baseUrl = Fixture.Host.BaseAddress.ToString().TrimEnd('/');
        body["issuer"]!.GetValue<string>().ShouldBe(new JsonWebToken(ada.AccessToken).Issuer);
        body["token_endpoint"]!.GetValue<string>().ShouldBe($"{baseUrl}/auth/token");
        body["jwks_uri"]!.GetValue<string>().ShouldBe($"{baseUrl}/.well-known/jwks.json");
        body["grant_types_supported"]!.AsArray().Select(g => g!.GetValue<string>()).ShouldBe(["password", "refresh_token", "client_credentials"], ignoreOrder: true);
        body["id_token_signing_alg_values_supported"]!.AsArray().Select(a => a!.GetValue<string>()).ShouldBe(["RS256"]);
    }

    [Fact]
    public async Task jwks_publishes_only_the_public_rsa_parameters()
    {
        var ada = await Fixture.NewUserAsync();

        var response = await Fixture.Anonymous().GetAsync("/.well-known/jwks.json");

        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        var keys = (await response.Json())["keys"]!.AsArray().Select(k => k!.AsObject()).ToList();
        keys.ShouldNotBeEmpty();
        foreach (var key in keys)
        {
            key.Select(p => p.Key).ShouldBe(["kty", "use", "alg", "kid", "n", "e"], ignoreOrder: true);
            key["kty"]!.GetValue<string>().ShouldBe("RSA");
            key["use"]!.GetValue<string>().ShouldBe("sig");
            key["alg"]!.GetValue<string>().ShouldBe("RS256");
            Base64UrlEncoder.DecodeBytes(key["n"]!.GetValue<string>()).Length.ShouldBeGreaterThanOrEqualTo(256);
            key["e"]!.GetValue<string>().ShouldNotBeNullOrEmpty();
        }
        var raw = await response.Content.ReadAsStringAsync();
        foreach (var privateMember in new[] { "\"d\"", "\"p\"", "\"q\"", "\"dp\"", "\"dq\"", "\"qi\"", "PRIVATE" }) raw.ShouldNotContain(privateMember);
        keys.Select(k => k["kid"]!.GetValue<string>()).ShouldContain(new JsonWebToken(ada.AccessToken).Kid);
    }

    [Fact]
    public async Task the_published_key_verifies_an_issued_token()
    {
        var ada = await Fixture.NewUserAsync();
        var jwt = new JsonWebToken(ada.AccessToken);
        var jwks = await (await Fixture.Anonymous().GetAsync("/.well-known/jwks.json")).Json();
        var jwk = jwks["keys"]!.AsArray().Single(k => k!["kid"]!.GetValue<string>() == jwt.Kid)!;
        using var rsa = RSA.Create(new RSAParameters
        {
            Modulus = Base64UrlEncoder.DecodeBytes(jwk["n"]!.GetValue<string>()),
            Exponent = Base64UrlEncoder.DecodeBytes(jwk["e"]!.GetValue<string>()),
        });

        var result = await new JsonWebTokenHandler().ValidateTokenAsync(ada.AccessToken, new TokenValidationParameters
        {
            IssuerSigningKey = new RsaSecurityKey(rsa) { KeyId = jwt.Kid },
            ValidIssuer = jwt.Issuer,
            ValidAudience = "agentartifacts",
        });

        result.IsValid.ShouldBeTrue(result.Exception?.Message);
    }
}
