using Marten;
using Microsoft.AspNetCore.Authorization;

namespace AgentArtifacts.Api.Platform;

/// <summary>The settings in force, and who changed them last (null while they are all the configuration's).</summary>
/// <param name="RegistrationEnabled">Whether anyone may register (POST /auth/register); when false, registration answers 403.</param>
/// <param name="RateLimitPermitLimit">Requests each principal (or, unauthenticated, each IP address) may make per window.</param>
/// <param name="RateLimitWindowSeconds">The length of a rate-limit window, in seconds.</param>
/// <param name="TokenPermitLimit">Requests to POST /auth/token each IP address may make per window.</param>
/// <param name="AccessTokenLifetimeMinutes">How long an access token from POST /auth/token lasts, in minutes.</param>
/// <param name="RefreshTokenLifetimeDays">How long a refresh token lasts, in days.</param>
/// <param name="EgressAllowedHosts">Hosts invocations may reach even at private or loopback addresses (exceptions to the egress policy).</param>
/// <param name="Version">The settings' version, also their ETag; 0 until the first change.</param>
/// <param name="UpdatedBy">The id of the platform admin who changed them last; null while never changed.</param>
/// <param name="UpdatedAt">When they last changed (ISO 8601, UTC); null while never changed.</param>
public sealed record PlatformSettingsResponse(bool RegistrationEnabled, int RateLimitPermitLimit, int RateLimitWindowSeconds, int TokenPermitLimit,
    int AccessTokenLifetimeMinutes, int RefreshTokenLifetimeDays, IReadOnlyList<string> EgressAllowedHosts, long Version, Guid? UpdatedBy,
    DateTimeOffset? UpdatedAt)
{
    public static PlatformSettingsResponse From(EffectivePlatformSettings s) => new(s.RegistrationEnabled, s.RateLimitPermitLimit,
        s.RateLimitWindowSeconds, s.TokenPermitLimit, s.AccessTokenLifetimeMinutes, s.RefreshTokenLifetimeDays, s.EgressAllowedHosts, s.Version,
        s.UpdatedBy, s.UpdatedAt);
}

public static class GetPlatformSettingsEndpoint
{
    /// <summary>
    /// The platform settings in force (read from the database, not this node's cache). ETag = the settings stream's
    /// version ("0" until the first change); If-None-Match → 304. Platform admins only.
    /// </summary>
    [Authorize(Policy = PlatformAdminPolicy.Name)]
    [WolverineGet("/platform/settings", OperationId = "getPlatformSettings"), Tags("Platform")]
    [ProducesResponseType<PlatformSettingsResponse>(200), ProducesResponseType(304), ProducesResponseType(403)]
    public static async Task<IResult> Get(IQuerySession session, PlatformSettingsCache cache, HttpContext http, CancellationToken ct)
    {
        var stored = await session.LoadAsync<PlatformSettings>(PlatformSettings.StreamId, ct);
        var settings = EffectivePlatformSettings.From(stored, cache.Defaults);
        return ETags.Conditional(http, settings.Version, PlatformSettingsResponse.From(settings));
    }
}
