using System.Net;
using System.Text;
using Shouldly;
using Xunit;

namespace AgentArtifacts.Api.Tests.Infrastructure;

public sealed class RateLimitingTests(ApiFixture fixture) : ApiTest(fixture)
{
    [Fact]
    public async Task every_response_carries_the_rate_limit_headers()
    {
        var ada = await Fixture.NewUserAsync();
        var chunked = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes($"{{\"title\":\"{new string('x', 1_100_000)}\"}}")));
        chunked.Headers.ContentType = new("application/json");
        var chunkedRequest = new HttpRequestMessage(HttpMethod.Post, "/workspaces") { Content = chunked };
        chunkedRequest.Headers.TransferEncodingChunked = true;

        (string Name, HttpStatusCode Expected, HttpResponseMessage Response)[] responses =
        [
            ("me", HttpStatusCode.OK, await ada.Client.GetAsync("/auth/me")),
            ("create", HttpStatusCode.Created, await ada.Client.PostJson("/workspaces", new { title = "W" })),
            ("malformed json", HttpStatusCode.BadRequest, await ada.Client.PostJson("/workspaces", "{\"title\": ")),
            ("no token", HttpStatusCode.Unauthorized, await Fixture.Anonymous().GetAsync("/auth/me")),
            ("unknown artifact", HttpStatusCode.NotFound, await ada.Client.GetAsync($"/artifacts/{Guid.CreateVersion7()}")),
            ("oversize", HttpStatusCode.RequestEntityTooLarge, await ada.Client.PostJson("/workspaces", new { title = new string('x', 1_100_000) })),
            ("oversize chunked", HttpStatusCode.RequestEntityTooLarge, await ada.Client.SendAsync(chunkedRequest)),
            ("token", HttpStatusCode.OK, await Fixture.Anonymous().PasswordGrant(ada.Email, ada.Password)),
            ("wrong password", HttpStatusCode.BadRequest, await Fixture.Anonymous().PasswordGrant(ada.Email, "wrong")),
            ("jwks", HttpStatusCode.OK, await Fixture.Anonymous().GetAsync("/.well-known/jwks.json")),
        ];

        foreach (var (name, expected, response) in responses)
        {
            response.StatusCode.ShouldBe(expected, name);
            RateLimitHeaders(response).ShouldNotBeNull($"the {name} response ({(int)response.StatusCode}) has no X-RateLimit-* headers");
        }
    }

    [Fact]
    public async Task a_problem_from_the_exception_handler_keeps_the_rate_limit_headers()
    {
        var ada = await Fixture.NewUserAsync();
        var artifact = (await ada.ArtifactAsync(await ada.WorkspaceAsync()))["id"]!.GetValue<Guid>();

        // Concurrent patches without If-Match: the losers' appends throw, and the exception handler answers 409.
        List<HttpResponseMessage> conflicts = [];
        for (var round = 0; round < 5 && conflicts.Count == 0; round++)
        {
            var responses = await Task.WhenAll(Enumerable.Range(0, 6).Select(i => ada.Client.MergePatch($"/artifacts/{artifact}", new { title = $"T{round}-{i}" })));
            conflicts.AddRange(responses.Where(r => r.StatusCode == HttpStatusCode.Conflict));
        }

        conflicts.ShouldNotBeEmpty("no concurrent patch conflicted");
        foreach (var conflict in conflicts)
        {
            (await conflict.ProblemCode()).ShouldBe("concurrent_modification");
            RateLimitHeaders(conflict).ShouldNotBeNull("a 409 from the exception handler has no X-RateLimit-* headers");
        }
    }

    [Fact]
    public async Task past_the_limit_a_principal_gets_429_with_retry_after_and_others_are_not_affected()
    {
        var ada = await Fixture.NewUserAsync();
        var bob = await Fixture.NewUserAsync();
        await using var limited = ServiceHost.Start(Fixture.Database.ConnectionString,
            new Dictionary<string, string?> { ["RateLimiting:PermitLimit"] = "3", ["RateLimiting:WindowSeconds"] = "60" });
        using var adaClient = limited.NewClient(ada.AccessToken);
        await StartOfAWindowAsync(60);

        var within = new List<HttpResponseMessage>();
        for (var i = 0; i < 3; i++) within.Add(await adaClient.GetAsync("/auth/me"));
        var over = await adaClient.GetAsync("/auth/me");
        var other = await limited.NewClient(bob.AccessToken).GetAsync("/auth/me");

        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        within.ShouldAllBe(r => r.StatusCode == HttpStatusCode.OK);
        within.Select(r => RateLimitHeaders(r)!.Value.Limit).ShouldAllBe(l => l == 3);
        within.Select(r => RateLimitHeaders(r)!.Value.Remaining).ShouldBe([2, 1, 0]);
        var reset = RateLimitHeaders(within[0])!.Value.Reset;
        reset.ShouldBeInRange(now, now + 60);
        within.ShouldAllBe(r => RateLimitHeaders(r)!.Value.Reset == reset);

        over.StatusCode.ShouldBe(HttpStatusCode.TooManyRequests);
        (await over.ProblemCode()).ShouldBe("rate_limited");
        RateLimitHeaders(over)!.Value.Remaining.ShouldBe(0);
        var retryAfter = over.Headers.RetryAfter!.Delta!.Value.TotalSeconds;
        retryAfter.ShouldBeInRange(1, 60);

        other.StatusCode.ShouldBe(HttpStatusCode.OK);
        RateLimitHeaders(other)!.Value.Remaining.ShouldBe(2);
    }

    [Fact]
    public async Task the_token_endpoint_has_its_own_tighter_limit()
    {
        var ada = await Fixture.NewUserAsync();
        await using var limited = ServiceHost.Start(Fixture.Database.ConnectionString,
            new Dictionary<string, string?> { ["RateLimiting:TokenPermitLimit"] = "2", ["RateLimiting:WindowSeconds"] = "60" });
        using var anonymous = limited.NewClient();
        await StartOfAWindowAsync(60);

        var first = await anonymous.PasswordGrant(ada.Email, "wrong password");
        var second = await anonymous.PasswordGrant(ada.Email, ada.Password);
        var third = await anonymous.PasswordGrant(ada.Email, ada.Password);

        first.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        second.StatusCode.ShouldBe(HttpStatusCode.OK);
        RateLimitHeaders(second)!.Value.Limit.ShouldBe(2);
        third.StatusCode.ShouldBe(HttpStatusCode.TooManyRequests);
        (await third.ProblemCode()).ShouldBe("rate_limited");
        third.Headers.RetryAfter.ShouldNotBeNull();
        // The tighter limit is the token endpoint's alone.
        (await limited.NewClient(ada.AccessToken).GetAsync("/auth/me")).StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    private static (int Limit, int Remaining, long Reset)? RateLimitHeaders(HttpResponseMessage response) =>
        response.Headers.TryGetValues("X-RateLimit-Limit", out var limit)
        && response.Headers.TryGetValues("X-RateLimit-Remaining", out var remaining)
        && response.Headers.TryGetValues("X-RateLimit-Reset", out var reset)
            ? (int.Parse(limit.Single()), int.Parse(remaining.Single()), long.Parse(reset.Single()))
            : null;

    /// <summary>Windows are fixed (aligned to epoch seconds): a test that counts requests must not straddle a boundary.</summary>
    private static async Task StartOfAWindowAsync(int windowSeconds)
    {
        var now = DateTimeOffset.UtcNow;
        var left = windowSeconds - now.ToUnixTimeMilliseconds() % (windowSeconds * 1000) / 1000.0;
        if (left < 15) await Task.Delay(TimeSpan.FromSeconds(left + 0.1));
    }
}
