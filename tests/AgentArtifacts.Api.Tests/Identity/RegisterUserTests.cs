using System.Net;
using AgentArtifacts.Api.Identity;
using AgentArtifacts.Api.Tests.Infrastructure;
using Marten;
using Microsoft.AspNetCore.Identity;
using Shouldly;
using Xunit;

namespace AgentArtifacts.Api.Tests.Identity;

public sealed class RegisterUserTests(ApiFixture fixture) : ApiTest(fixture)
{
    private const string Password = "a long enough passphrase";

    [Fact]
    public async Task register_returns_201_with_the_user_and_stores_only_a_password_hash()
    {
        var response = await Fixture.Anonymous().PostJson("/auth/register", new { email = " Ada@Example.COM ", password = Password, name = " Ada " });

        response.StatusCode.ShouldBe(HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        var body = await response.Json();
        var id = body["id"]!.GetValue<Guid>();
        id.ShouldNotBe(Guid.Empty);
        body["email"]!.GetValue<string>().ShouldBe("Ada@Example.COM");
        body["name"]!.GetValue<string>().ShouldBe("Ada");
        body["createdAt"]!.GetValue<DateTimeOffset>().ShouldBe(DateTimeOffset.UtcNow, TimeSpan.FromMinutes(1));
        body.Select(p => p.Key).ShouldBe(["id", "email", "name", "isPlatformAdmin", "createdAt"], ignoreOrder: true);
        (await response.Content.ReadAsStringAsync()).ShouldNotContain(Password);

        await using var session = Fixture.Host.Store.QuerySession();
        var stored = (await session.LoadAsync<User>(id)).ShouldNotBeNull();
        stored.NormalizedEmail.ShouldBe("ada@example.com");
        stored.PasswordHash.ShouldNotContain(Password);
        RegisterUserEndpoint.Hasher.VerifyHashedPassword(stored, stored.PasswordHash, Password).ShouldBe(PasswordVerificationResult.Success);
    }

    [Fact]
    public async Task the_first_user_is_platform_admin_and_the_second_is_not()
    {
        var first = await Fixture.Anonymous().PostJson("/auth/register", new { email = "first@example.com", password = Password, name = "First" });
        var second = await Fixture.Anonymous().PostJson("/auth/register", new { email = "second@example.com", password = Password, name = "Second" });

        first.StatusCode.ShouldBe(HttpStatusCode.Created);
        second.StatusCode.ShouldBe(HttpStatusCode.Created);
        (await first.Json())["isPlatformAdmin"]!.GetValue<bool>().ShouldBeTrue();
        (await second.Json())["isPlatformAdmin"]!.GetValue<bool>().ShouldBeFalse();
    }

    [Fact]
    public async Task a_taken_email_in_another_case_is_409_email_taken_and_adds_no_user()
    {
        var first = await Fixture.Anonymous().PostJson("/auth/register", new { email = "ada@example.com", password = Password, name = "Ada" });
        first.StatusCode.ShouldBe(HttpStatusCode.Created);

        var response = await Fixture.Anonymous().PostJson("/auth/register", new { email = " ADA@Example.com", password = Password + "!", name = "Imposter" });

        response.StatusCode.ShouldBe(HttpStatusCode.Conflict);
        (await response.ProblemCode()).ShouldBe("email_taken");
        await using var session = Fixture.Host.Store.QuerySession();
        (await session.Query<User>().ToListAsync()).Single().Name.ShouldBe("Ada");
    }

    [Theory]
    [InlineData("""{"email": "not-an-email", "password": "a long enough passphrase", "name": "Ada"}""", "validation_failed", "email")]
    [InlineData("""{"email": "ada@example.com", "password": "short", "name": "Ada"}""", "validation_failed", "password")]
    [InlineData("""{"email": "ada@example.com", "password": "a long enough passphrase"}""", "validation_failed", "name")]
    [InlineData("""{"email": "ada@example.com", "password": "a long enough passphrase", "name": "   "}""", "validation_failed", "name")]
    [InlineData("""{"email": "ada@example.com", "password": "a long enough passphrase", "name": "Ada", "role": "admin"}""", "unknown_field", null)]
    [InlineData("""{"email": "ada@example.com", "password": 12345678901234, "name": "Ada"}""", "invalid_json", null)]
    public async Task bad_input_is_400_with_a_code_and_adds_no_user(string json, string code, string? field)
    {
        var response = await Fixture.Anonymous().PostJson("/auth/register", json);

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest, await response.Content.ReadAsStringAsync());
        var problem = await response.Json();
        problem["code"]!.GetValue<string>().ShouldBe(code);
        if (field is not null) problem["errors"]!.AsObject().Select(e => e.Key).ShouldBe([field]);
        await using var session = Fixture.Host.Store.QuerySession();
        (await session.Query<User>().CountAsync()).ShouldBe(0);
    }

    [Fact]
    public async Task registration_switched_off_is_403_registration_disabled()
    {
        await using var closed = ServiceHost.Start(Fixture.Database.ConnectionString,
            new Dictionary<string, string?> { ["Identity:RegistrationEnabled"] = "false" });

        var response = await closed.NewClient().PostJson("/auth/register", new { email = "ada@example.com", password = Password, name = "Ada" });

        response.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await response.ProblemCode()).ShouldBe("registration_disabled");
        await using var session = Fixture.Host.Store.QuerySession();
        (await session.Query<User>().CountAsync()).ShouldBe(0);
    }

    [Fact]
    public async Task concurrent_first_registrations_make_exactly_one_platform_admin()
    {
        var responses = await Task.WhenAll(Enumerable.Range(1, 5).Select(i =>
            Fixture.Anonymous().PostJson("/auth/register", new { email = $"racer{i}@example.com", password = Password, name = $"Racer {i}" })));

        responses.ShouldAllBe(r => r.StatusCode == HttpStatusCode.Created);
        var admins = 0;
        foreach (var response in responses) if ((await response.Json())["isPlatformAdmin"]!.GetValue<bool>()) admins++;
        admins.ShouldBe(1);
        await using var session = Fixture.Host.Store.QuerySession();
        (await session.Query<User>().CountAsync(u => u.IsPlatformAdmin)).ShouldBe(1);
    }

    [Fact]
    public async Task concurrent_registrations_of_one_email_create_exactly_one_user()
    {
        var responses = await Task.WhenAll(Enumerable.Range(1, 5).Select(i =>
            Fixture.Anonymous().PostJson("/auth/register", new { email = i % 2 == 0 ? "ADA@example.com" : "ada@example.com", password = Password, name = $"Ada {i}" })));

        responses.Count(r => r.StatusCode == HttpStatusCode.Created).ShouldBe(1);
        foreach (var rejected in responses.Where(r => r.StatusCode != HttpStatusCode.Created))
        {
            rejected.StatusCode.ShouldBe(HttpStatusCode.Conflict);
            (await rejected.ProblemCode()).ShouldBe("email_taken");
        }
        await using var session = Fixture.Host.Store.QuerySession();
        (await session.Query<User>().CountAsync()).ShouldBe(1);
    }
}
