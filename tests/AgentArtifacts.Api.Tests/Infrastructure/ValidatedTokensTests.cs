using System.Security.Claims;
using AgentArtifacts.Api.Identity;
using AgentArtifacts.Api.Infrastructure;
using Shouldly;
using Xunit;

namespace AgentArtifacts.Api.Tests.Infrastructure;

public sealed class ValidatedTokensTests
{
    private static readonly ClaimsPrincipal Someone = new(new ClaimsIdentity([new Claim("sub", Guid.NewGuid().ToString())], "Local"));

    [Fact]
    public void a_remembered_token_is_honoured_until_it_expires()
    {
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        var tokens = new ValidatedTokens(clock);
        tokens.Remember("t1", Someone, clock.GetUtcNow().UtcDateTime.AddMinutes(1));

        tokens.TryGet("t1", out var principal).ShouldBeTrue();
        principal.ShouldBeSameAs(Someone);
        clock.Advance(TimeSpan.FromSeconds(61));
        tokens.TryGet("t1", out _).ShouldBeFalse();
    }

    [Fact]
    public void a_long_lived_token_is_remembered_no_longer_than_the_key_ring_refresh()
    {
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        var tokens = new ValidatedTokens(clock);
        tokens.Remember("t2", Someone, clock.GetUtcNow().UtcDateTime.AddHours(1));

        clock.Advance(KeyRing.RefreshInterval - TimeSpan.FromSeconds(1));
        tokens.TryGet("t2", out _).ShouldBeTrue();
        clock.Advance(TimeSpan.FromSeconds(2));
        tokens.TryGet("t2", out _).ShouldBeFalse();
    }

    [Fact]
    public void an_expired_or_unknown_token_is_not_remembered()
    {
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        var tokens = new ValidatedTokens(clock);
        tokens.Remember("old", Someone, clock.GetUtcNow().UtcDateTime.AddSeconds(-1));

        tokens.TryGet("old", out _).ShouldBeFalse();
        tokens.TryGet("never-seen", out _).ShouldBeFalse();
    }
}
