using System.Net;
using System.Security.Claims;
using System.Security.Cryptography;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Shouldly;
using Xunit;

namespace AgentArtifacts.Api.Tests.Infrastructure;

/// <summary>
/// With an AzureAd section configured, one policy scheme routes each bearer token by its issuer: local tokens to the
/// local issuer, others to Microsoft.Identity.Web. Entra ID itself cannot be reached here, so an Entra token is shown
/// to reach the Entra scheme (and be refused), never the local one.
/// </summary>
public sealed class EntraIdTests(ApiFixture fixture) : ApiTest(fixture)
{
    private const string Tenant = "8f7d6c5b-4a39-4821-9e0f-123456789abc";

    private ServiceHost StartWithEntra() => ServiceHost.Start(Fixture.Database.ConnectionString, new Dictionary<string, string?>
    {
        ["AzureAd:Instance"] = "https://login.microsoftonline.com/",
        ["AzureAd:TenantId"] = Tenant,
        ["AzureAd:ClientId"] = "3c1f0a4e-5b6d-4e7f-8a9b-0c1d2e3f4a5b",
        ["Logging:LogLevel:Microsoft.AspNetCore.Authentication"] = "Information",
    });

    [Fact]
    public async Task local_tokens_keep_working_beside_entra_id()
    {
        var ada = await Fixture.NewUserAsync();
        await using var host = StartWithEntra();

        var response = await host.NewClient(ada.AccessToken).GetAsync("/auth/me");

        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        (await response.Json())["id"]!.GetValue<Guid>().ShouldBe(ada.Id);
    }

    [Fact]
    public async Task a_token_from_another_issuer_goes_to_the_entra_scheme_and_an_unverifiable_one_is_401()
    {
        await using var host = StartWithEntra();
        var token = new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = $"https://login.microsoftonline.com/{Tenant}/v2.0",
            Audience = "3c1f0a4e-5b6d-4e7f-8a9b-0c1d2e3f4a5b",
            Expires = DateTime.UtcNow.AddMinutes(5),
            Subject = new ClaimsIdentity([new Claim("oid", Guid.NewGuid().ToString()), new Claim("tid", Tenant)]),
            SigningCredentials = new SigningCredentials(new RsaSecurityKey(RSA.Create(2048)), SecurityAlgorithms.RsaSha256),
        });

        var response = await host.NewClient(token).GetAsync("/auth/me");

        response.StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        (await response.ProblemCode()).ShouldBe("unauthenticated");
        host.Logs.Lines.ShouldContain(line => line.Contains("Entra", StringComparison.Ordinal));
        host.Logs.Lines.ShouldNotContain(line => line.Contains("Local was not authenticated", StringComparison.Ordinal));
    }

    [Fact]
    public void an_entra_token_cannot_claim_platform_admin()
    {
        var caller = AgentArtifacts.Api.Infrastructure.Caller.From(new ClaimsPrincipal(new ClaimsIdentity(
            [new Claim("oid", Guid.NewGuid().ToString()), new Claim("tid", Tenant), new Claim("platform_admin", "true")], "Entra")));

        caller.IsPlatformAdmin.ShouldBeFalse();
    }

    [Fact]
    public void an_entra_user_gets_a_stable_id_from_tenant_and_object_id()
    {
        var objectId = Guid.NewGuid().ToString();
        Principal(objectId).Id.ShouldBe(Principal(objectId).Id);
        Principal(objectId).Id.ShouldNotBe(Principal(Guid.NewGuid().ToString()).Id);

        static AgentArtifacts.Api.Infrastructure.Caller Principal(string oid) => AgentArtifacts.Api.Infrastructure.Caller.From(
            new ClaimsPrincipal(new ClaimsIdentity([new Claim("oid", oid), new Claim("tid", Tenant), new Claim("sub", "pairwise")], "Entra")));
    }
}
