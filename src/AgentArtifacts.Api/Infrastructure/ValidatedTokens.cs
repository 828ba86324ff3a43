using System.Security.Claims;
using AgentArtifacts.Api.Identity;
using Microsoft.Extensions.Caching.Memory;

namespace AgentArtifacts.Api.Infrastructure;

/// <summary>
/// Local tokens this node has fully validated (signature, issuer, audience, lifetime), remembered until they expire but
/// never longer than the key ring's refresh interval: a client's repeated requests cost one RS256 verification, and a key
/// taken out of the ring stops being honoured here as soon as everywhere else.
/// </summary>
public sealed class ValidatedTokens(TimeProvider clock)
{
    private sealed record Entry(ClaimsPrincipal Principal, DateTimeOffset Until);

    private readonly MemoryCache _cache = new(new MemoryCacheOptions { SizeLimit = 20_000 });

    public bool TryGet(string token, out ClaimsPrincipal principal)
    {
        principal = null!;
        if (!_cache.TryGetValue(token, out Entry? entry) || entry is null || clock.GetUtcNow() >= entry.Until) return false;
        principal = entry.Principal;
        return true;
    }

    public void Remember(string token, ClaimsPrincipal principal, DateTime validTo)
    {
        var now = clock.GetUtcNow();
        var until = new DateTimeOffset(validTo, TimeSpan.Zero) < now + KeyRing.RefreshInterval ? new DateTimeOffset(validTo, TimeSpan.Zero) : now + KeyRing.RefreshInterval;
        if (until <= now) return;
        _cache.Set(token, new Entry(principal, until), new MemoryCacheEntryOptions { Size = 1, AbsoluteExpirationRelativeToNow = until - now });
    }
}
