using System.Net;
using AgentArtifacts.Api.Tests.Infrastructure;
using Shouldly;
using Xunit;

namespace AgentArtifacts.Api.Tests.Identity;

public sealed class GetMeTests(ApiFixture fixture) : ApiTest(fixture)
{
    [Fact]
    public async Task me_returns_the_calling_user()
    {
        var admin = await Fixture.NewUserAsync("Ada");
        var bob = await Fixture.NewUserAsync("Bob");

        var response = await bob.Client.GetAsync("/auth/me");

        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        var body = await response.Json();
        body["id"]!.GetValue<Guid>().ShouldBe(bob.Id);
        body["kind"]!.GetValue<string>().ShouldBe("user");
        body["email"]!.GetValue<string>().ShouldBe(bob.Email);
        body["name"]!.GetValue<string>().ShouldBe("Bob");
        body["isPlatformAdmin"]!.GetValue<bool>().ShouldBeFalse();
        (await (await admin.Client.GetAsync("/auth/me")).Json())["isPlatformAdmin"]!.GetValue<bool>().ShouldBeTrue();
    }

    [Fact]
    public async Task me_without_a_token_is_401_with_www_authenticate_bearer()
    {
        var response = await Fixture.Anonymous().GetAsync("/auth/me");

        response.StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        response.Headers.WwwAuthenticate.ToString()
            .ShouldBe($"Bearer resource_metadata=\"{Fixture.Host.BaseAddress.ToString().TrimEnd('/')}/.well-known/oauth-protected-resource\"");
        response.Content.Headers.ContentType!.MediaType.ShouldBe("application/problem+json");
        var problem = await response.Json();
        problem["code"]!.GetValue<string>().ShouldBe("unauthenticated");
        problem["status"]!.GetValue<int>().ShouldBe(401);
        problem["traceId"]!.GetValue<string>().ShouldNotBeNullOrEmpty();
    }

    [Fact]
    public async Task me_with_another_authorization_scheme_is_401()
    {
        var ada = await Fixture.NewUserAsync();
        using var client = Fixture.Anonymous();
        client.DefaultRequestHeaders.Authorization = new("Basic", Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"{ada.Email}:{ada.Password}")));

        var response = await client.GetAsync("/auth/me");

        response.StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        response.Headers.WwwAuthenticate.ToString().ShouldStartWith("Bearer");
        (await response.ProblemCode()).ShouldBe("unauthenticated");
    }
}
