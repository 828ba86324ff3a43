using System.Net;
using Shouldly;
using Xunit;

namespace AgentArtifacts.Api.Tests.Infrastructure;

public sealed class RequestLoggingTests(ApiFixture fixture) : ApiTest(fixture)
{
    [Fact]
    public async Task logs_never_contain_passwords_or_tokens()
    {
        var email = $"ada-{Guid.NewGuid():N}@example.com";
        var password = $"pw-{Guid.NewGuid():N}";
        var mistypedPassword = $"pw-{Guid.NewGuid():N}";
        var rejectedPassword = $"pw-{Guid.NewGuid():N}";
        var anonymous = Fixture.Anonymous();

        (await anonymous.PostJson("/auth/register", new { email, password, name = "Ada" })).StatusCode.ShouldBe(HttpStatusCode.Created);
        (await anonymous.PostJson("/auth/register", new { email = "not-an-email", password = rejectedPassword, name = "Ada" }))
            .StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await anonymous.PasswordGrant(email, mistypedPassword)).StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        var issued = await (await anonymous.PasswordGrant(email, password)).Json();
        var refreshed = await (await anonymous.RefreshGrant(issued["refresh_token"]!.GetValue<string>())).Json();
        var accessToken = refreshed["access_token"]!.GetValue<string>();
        (await anonymous.RefreshGrant(issued["refresh_token"]!.GetValue<string>())).StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await Fixture.Host.NewClient(accessToken).GetAsync("/auth/me")).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await Fixture.Host.NewClient(accessToken + "x").GetAsync("/auth/me")).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        var queryMarker = Guid.NewGuid().ToString("N");
        (await anonymous.GetAsync($"/auth/me?access_token={accessToken}&marker={queryMarker}")).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        var lastPath = $"/log-probe/{Guid.NewGuid():N}";
        await anonymous.GetAsync(lastPath);

        // A request's line is written after its response is sent: wait for the last one, so every line is in.
        var lines = await LinesUntilAsync(lastPath);
        lines.ShouldContain(l => l.Contains("POST /auth/token responded 200"));
        string[] secrets =
        [
            password, mistypedPassword, rejectedPassword,
            issued["access_token"]!.GetValue<string>(), issued["refresh_token"]!.GetValue<string>(),
            accessToken, refreshed["refresh_token"]!.GetValue<string>(),
            accessToken.Split('.')[2], queryMarker,
        ];
        foreach (var secret in secrets) lines.ShouldNotContain(l => l.Contains(secret), $"a log line contains {secret}");
    }

    private async Task<List<string>> LinesUntilAsync(string text)
    {
        for (var attempt = 0; attempt < 50; attempt++)
        {
            var lines = Fixture.Host.Logs.Lines.ToList();
            if (lines.Any(l => l.Contains(text))) return lines;
            await Task.Delay(100);
        }
        throw new TimeoutException($"No log line mentions {text}.");
    }
}
