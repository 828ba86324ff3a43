using System.Net;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using AgentArtifacts.Api.Identity;
using AgentArtifacts.Api.Tests.Infrastructure;
using Marten;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Shouldly;
using Xunit;

namespace AgentArtifacts.Api.Tests.Identity;

public sealed class IssueTokenTests(ApiFixture fixture) : ApiTest(fixture)
{
    [Fact]
    public async Task password_grant_returns_rfc6749_tokens_that_must_not_be_cached()
    {
        var ada = await Fixture.NewUserAsync("Ada");

        var response = await Fixture.Anonymous().PasswordGrant(ada.Email.ToUpperInvariant(), ada.Password);

        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        response.Content.Headers.ContentType!.MediaType.ShouldBe("application/json");
        response.Headers.CacheControl!.NoStore.ShouldBeTrue();
        response.Headers.Pragma.ToString().ShouldBe("no-cache");
        var body = await response.Json();
        body.Select(p => p.Key).ShouldBe(["access_token", "token_type", "expires_in", "refresh_token"], ignoreOrder: true);
        body["token_type"]!.GetValue<string>().ShouldBe("Bearer");
        body["expires_in"]!.GetValue<int>().ShouldBe(3600);
        body["refresh_token"]!.GetValue<string>().Length.ShouldBeGreaterThanOrEqualTo(40);

        var jwt = new JsonWebToken(body["access_token"]!.GetValue<string>());
        jwt.Alg.ShouldBe("RS256");
        jwt.Kid.ShouldNotBeNullOrEmpty();
        jwt.Subject.ShouldBe(ada.Id.ToString());
        jwt.GetClaim("email").Value.ShouldBe(ada.Email);
        jwt.ValidTo.ShouldBe(DateTime.UtcNow.AddHours(1), TimeSpan.FromMinutes(1));
    }

    [Fact]
    public async Task refresh_tokens_are_stored_only_as_hashes()
    {
        var ada = await Fixture.NewUserAsync();

        await using var session = Fixture.Host.Store.QuerySession();
        var stored = (await session.Query<RefreshToken>().ToListAsync()).ShouldHaveSingleItem();
        stored.Id.ShouldBe(Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(ada.RefreshToken))));
        stored.UserId.ShouldBe(ada.Id);
    }

    [Fact]
    public async Task wrong_password_and_unknown_email_are_the_same_invalid_grant()
    {
        var ada = await Fixture.NewUserAsync();

        var wrongPassword = await Fixture.Anonymous().PasswordGrant(ada.Email, ada.Password + "x");
        var unknownEmail = await Fixture.Anonymous().PasswordGrant("nobody@example.com", ada.Password);

        wrongPassword.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        unknownEmail.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        var wrong = await wrongPassword.Json();
        var unknown = await unknownEmail.Json();
        wrong["error"]!.GetValue<string>().ShouldBe("invalid_grant");
        unknown["error"]!.GetValue<string>().ShouldBe("invalid_grant");
        unknown["error_description"]!.GetValue<string>().ShouldBe(wrong["error_description"]!.GetValue<string>());
        wrongPassword.Headers.CacheControl!.NoStore.ShouldBeTrue();
    }

    [Theory]
    [InlineData("", "invalid_request")]
    [InlineData("grant_type=password&username=ada%40example.com", "invalid_request")]
    [InlineData("grant_type=refresh_token", "invalid_request")]
    [InlineData("grant_type=client_credentials&client_id=x&client_secret=y", "invalid_client")]
    [InlineData("grant_type=authorization_code&code=abc", "unsupported_grant_type")]
    [InlineData("grant_type=password&grant_type=password&username=ada%40example.com&password=secret", "invalid_request")]
    [InlineData("grant_type=refresh_token&refresh_token=not-a-token", "invalid_grant")]
    public async Task bad_token_requests_are_400_with_an_rfc6749_error(string form, string error)
    {
        var content = new StringContent(form, Encoding.UTF8, "application/x-www-form-urlencoded");

        var response = await Fixture.Anonymous().PostAsync("/auth/token", content);

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest, await response.Content.ReadAsStringAsync());
        var body = await response.Json();
        body["error"]!.GetValue<string>().ShouldBe(error);
        body["error_description"]!.GetValue<string>().ShouldNotBeNullOrWhiteSpace();
    }

    [Fact]
    public async Task a_json_body_is_invalid_request()
    {
        var ada = await Fixture.NewUserAsync();

        var response = await Fixture.Anonymous().PostJson("/auth/token", new { grant_type = "password", username = ada.Email, password = ada.Password });

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest, await response.Content.ReadAsStringAsync());
        (await response.Json())["error"]!.GetValue<string>().ShouldBe("invalid_request");
    }

    [Fact]
    public async Task refresh_token_grant_rotates_both_tokens()
    {
        var ada = await Fixture.NewUserAsync();

        var response = await Fixture.Anonymous().RefreshGrant(ada.RefreshToken);

        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        response.Headers.CacheControl!.NoStore.ShouldBeTrue();
        var body = await response.Json();
        body["token_type"]!.GetValue<string>().ShouldBe("Bearer");
        body["refresh_token"]!.GetValue<string>().ShouldNotBe(ada.RefreshToken);
        var access = body["access_token"]!.GetValue<string>();
        access.ShouldNotBe(ada.AccessToken);
        new JsonWebToken(access).Subject.ShouldBe(ada.Id.ToString());
        var me = await Fixture.Host.NewClient(access).GetAsync("/auth/me");
        me.StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public async Task reusing_a_refresh_token_is_invalid_grant_and_revokes_its_whole_family()
    {
        var ada = await Fixture.NewUserAsync();
        var otherSession = (await Fixture.TokenAsync(ada.Email, ada.Password))["refresh_token"]!.GetValue<string>();
        var rotated = (await (await Fixture.Anonymous().RefreshGrant(ada.RefreshToken)).Json())["refresh_token"]!.GetValue<string>();

        var replay = await Fixture.Anonymous().RefreshGrant(ada.RefreshToken);

        replay.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await replay.Json())["error"]!.GetValue<string>().ShouldBe("invalid_grant");
        var successor = await Fixture.Anonymous().RefreshGrant(rotated);
        successor.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await successor.Json())["error"]!.GetValue<string>().ShouldBe("invalid_grant");
        // A separate login is another family and stays usable.
        (await Fixture.Anonymous().RefreshGrant(otherSession)).StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public async Task concurrent_use_of_one_refresh_token_succeeds_at_most_once()
    {
        var ada = await Fixture.NewUserAsync();

        var responses = await Task.WhenAll(Enumerable.Range(0, 5).Select(_ => Fixture.Anonymous().RefreshGrant(ada.RefreshToken)));

        var winners = responses.Where(r => r.StatusCode == HttpStatusCode.OK).ToList();
        winners.Count.ShouldBeLessThanOrEqualTo(1);
        foreach (var rejected in responses.Where(r => r.StatusCode != HttpStatusCode.OK))
        {
            rejected.StatusCode.ShouldBe(HttpStatusCode.BadRequest, await rejected.Content.ReadAsStringAsync());
            (await rejected.Json())["error"]!.GetValue<string>().ShouldBe("invalid_grant");
        }
        // The losers were replays, so the family is revoked: the winner's new refresh token is dead too.
        foreach (var winner in winners)
        {
            var successor = (await winner.Json())["refresh_token"]!.GetValue<string>();
            (await Fixture.Anonymous().RefreshGrant(successor)).StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        }
    }

    [Fact]
    public async Task the_access_token_authenticates_requests()
    {
        var ada = await Fixture.NewUserAsync("Ada");

        var response = await Fixture.Host.NewClient(ada.AccessToken).GetAsync("/auth/me");

        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        (await response.Json())["id"]!.GetValue<Guid>().ShouldBe(ada.Id);
    }

    [Fact]
    public async Task a_token_with_a_tampered_signature_is_401()
    {
        var ada = await Fixture.NewUserAsync();
        var parts = ada.AccessToken.Split('.');
        var signature = parts[2].ToCharArray();
        // Not the last character: its low bits are padding and may not change the decoded signature.
        signature[10] = signature[10] == 'A' ? 'B' : 'A';

        var response = await Fixture.Host.NewClient($"{parts[0]}.{parts[1]}.{new string(signature)}").GetAsync("/auth/me");

        await ShouldBeInvalidToken(response);
    }

    [Fact]
    public async Task a_token_whose_claims_were_changed_is_401()
    {
        var admin = await Fixture.NewUserAsync();
        var mallory = await Fixture.NewUserAsync();
        var parts = mallory.AccessToken.Split('.');
        var claims = Encoding.UTF8.GetString(Base64UrlEncoder.DecodeBytes(parts[1]));
        var forged = claims.Replace(mallory.Id.ToString(), admin.Id.ToString()).Replace("\"platform_admin\":\"false\"", "\"platform_admin\":\"true\"");
        forged.ShouldContain("\"platform_admin\":\"true\"");

        var response = await Fixture.Host.NewClient($"{parts[0]}.{Base64UrlEncoder.Encode(forged)}.{parts[2]}").GetAsync("/auth/me");

        await ShouldBeInvalidToken(response);
    }

    [Fact]
    public async Task a_crafted_token_signed_with_the_real_key_is_accepted_while_it_is_valid()
    {
        // The control for the crafted-token tests below: each differs from this one in one respect only.
        var ada = await Fixture.NewUserAsync();
        var now = DateTime.UtcNow;
        var token = CreateToken(ada.Id, await Fixture.Host.Services.GetRequiredService<SigningKeys>().SigningCredentialsAsync(default),
            now.AddMinutes(-1), now.AddMinutes(10));

        var response = await Fixture.Host.NewClient(token).GetAsync("/auth/me");

        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        (await response.Json())["id"]!.GetValue<Guid>().ShouldBe(ada.Id);
    }

    [Fact]
    public async Task an_expired_token_signed_with_the_real_key_is_401()
    {
        var ada = await Fixture.NewUserAsync();
        var now = DateTime.UtcNow;
        var token = CreateToken(ada.Id, await Fixture.Host.Services.GetRequiredService<SigningKeys>().SigningCredentialsAsync(default),
            issuedAt: now.AddHours(-2), expires: now.AddMinutes(-5));
        new JsonWebToken(token).Kid.ShouldBe(new JsonWebToken(ada.AccessToken).Kid);

        var response = await Fixture.Host.NewClient(token).GetAsync("/auth/me");

        await ShouldBeInvalidToken(response);
    }

    [Theory]
    [InlineData("https://evil.example.com", "agentartifacts")]
    [InlineData(null, "another-audience")]
    public async Task a_token_for_another_issuer_or_audience_is_401(string? issuer, string audience)
    {
        var ada = await Fixture.NewUserAsync();
        var now = DateTime.UtcNow;
        var token = CreateToken(ada.Id, await Fixture.Host.Services.GetRequiredService<SigningKeys>().SigningCredentialsAsync(default),
            now.AddMinutes(-1), now.AddMinutes(10), issuer, audience);

        var response = await Fixture.Host.NewClient(token).GetAsync("/auth/me");

        await ShouldBeInvalidToken(response);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task a_token_signed_with_a_foreign_key_is_401(bool claimTheRealKeyId)
    {
        var ada = await Fixture.NewUserAsync();
        using var rsa = RSA.Create(2048);
        var keyId = claimTheRealKeyId ? new JsonWebToken(ada.AccessToken).Kid : "attacker-key";
        var foreign = new SigningCredentials(new RsaSecurityKey(rsa) { KeyId = keyId }, SecurityAlgorithms.RsaSha256);
        var now = DateTime.UtcNow;

        var response = await Fixture.Host.NewClient(CreateToken(ada.Id, foreign, now.AddMinutes(-1), now.AddMinutes(10))).GetAsync("/auth/me");

        await ShouldBeInvalidToken(response);
    }

    [Fact]
    public async Task an_unsigned_token_is_401()
    {
        var ada = await Fixture.NewUserAsync();
        var parts = ada.AccessToken.Split('.');
        var header = Base64UrlEncoder.Encode("""{"alg":"none","typ":"JWT"}""");

        var response = await Fixture.Host.NewClient($"{header}.{parts[1]}.").GetAsync("/auth/me");

        await ShouldBeInvalidToken(response);
    }

    private string CreateToken(Guid subject, SigningCredentials credentials, DateTime issuedAt, DateTime expires,
        string? issuer = null, string? audience = null)
    {
        var options = Fixture.Host.Services.GetRequiredService<IOptions<SigningKeyOptions>>().Value;
        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = issuer ?? options.Issuer,
            Audience = audience ?? options.Audience,
            IssuedAt = issuedAt,
            NotBefore = issuedAt,
            Expires = expires,
            SigningCredentials = credentials,
            Subject = new ClaimsIdentity([new Claim("sub", subject.ToString()), new Claim("platform_admin", "true")]),
        });
    }

    private static async Task ShouldBeInvalidToken(HttpResponseMessage response)
    {
        response.StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        response.Headers.WwwAuthenticate.ToString().ShouldStartWith("Bearer");
        response.Headers.WwwAuthenticate.ToString().ShouldContain("invalid_token");
        (await response.ProblemCode()).ShouldBe("unauthenticated");
    }
}
