using FluentValidation;
using Marten;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Options;
using AgentArtifacts.Api.Identity;

namespace AgentArtifacts.Api.Platform;

/// <summary>Change platform settings. A partial body like PATCH /workspaces: absent (or null) fields stay as they are.</summary>
/// <param name="RegistrationEnabled">Whether anyone may register (POST /auth/register).</param>
/// <param name="RateLimitPermitLimit">Requests each principal (or, unauthenticated, each IP address) may make per window (1 to 100000000).</param>
/// <param name="RateLimitWindowSeconds">The length of a rate-limit window, in seconds (1 to 86400).</param>
/// <param name="TokenPermitLimit">Requests to POST /auth/token each IP address may make per window (1 to 100000000).</param>
/// <param name="AccessTokenLifetimeMinutes">How long a new access token lasts, in minutes (1 to <c>Auth:MaxAccessTokenMinutes</c>, 1440 by default).</param>
/// <param name="RefreshTokenLifetimeDays">How long a new refresh token lasts, in days (1 to 365).</param>
/// <param name="EgressAllowedHosts">Hosts invocations may reach even at private or loopback addresses, replacing the list (at most 100; each a host name or IP address, without scheme, port or path).</param>
public sealed record UpdatePlatformSettings(bool? RegistrationEnabled = null, int? RateLimitPermitLimit = null, int? RateLimitWindowSeconds = null,
    int? TokenPermitLimit = null, int? AccessTokenLifetimeMinutes = null, int? RefreshTokenLifetimeDays = null, string[]? EgressAllowedHosts = null)
{
    public const int MaxPermitLimit = 100_000_000;
    public const int MaxWindowSeconds = 86_400;
    public const int MaxRefreshTokenLifetimeDays = 365;

    public sealed class Validator : AbstractValidator<UpdatePlatformSettings>
    {
        public Validator(IOptions<SigningKeyOptions> tokens)
        {
            RuleFor(x => x.RateLimitPermitLimit).InclusiveBetween(1, MaxPermitLimit);
            RuleFor(x => x.RateLimitWindowSeconds).InclusiveBetween(1, MaxWindowSeconds);
            RuleFor(x => x.TokenPermitLimit).InclusiveBetween(1, MaxPermitLimit);
            // The key ring keeps retired keys published for the longest lifetime allowed here (SigningKeys).
            RuleFor(x => x.AccessTokenLifetimeMinutes).InclusiveBetween(1, tokens.Value.MaxAccessTokenMinutes);
            RuleFor(x => x.RefreshTokenLifetimeDays).InclusiveBetween(1, MaxRefreshTokenLifetimeDays);
            RuleFor(x => x.EgressAllowedHosts).Must(h => h!.Length <= 100).When(x => x.EgressAllowedHosts is not null)
                .WithMessage("At most 100 hosts.");
            RuleForEach(x => x.EgressAllowedHosts).Must(h => Uri.CheckHostName(h) is not UriHostNameType.Unknown)
                .WithMessage("Each entry is a host name or an IP address, as it appears in a URL (no scheme, port or path).");
        }
    }
}

public static class UpdatePlatformSettingsEndpoint
{
    /// <summary>
    /// Change platform settings; honours If-Match (the settings' ETag). Each change appends one
    /// <c>PlatformSettingsChanged</c> event with the fields it changed; a request that changes nothing appends nothing.
    /// In force on this node at once, on the others within <c>Platform:SettingsCacheSeconds</c>. Platform admins only.
    /// </summary>
    [Authorize(Policy = PlatformAdminPolicy.Name)]
    [WolverinePatch("/platform/settings", OperationId = "updatePlatformSettings"), Tags("Platform")]
    [ProducesResponseType<PlatformSettingsResponse>(200), ProducesResponseType(400), ProducesResponseType(403), ProducesResponseType(409), ProducesResponseType(412)]
    public static async Task<IResult> Patch(UpdatePlatformSettings request, IDocumentSession session, PlatformSettingsCache cache, HttpContext http,
        CancellationToken ct)
    {
        if (!ETags.TryReadIfMatch(http.Request, out var expected)) return ETags.PreconditionFailed();
        var stored = await session.LoadAsync<PlatformSettings>(PlatformSettings.StreamId, ct);
        var current = EffectivePlatformSettings.From(stored, cache.Defaults);
        if (expected is not null && expected != current.Version) return ETags.PreconditionFailed();

        if (Decide(current, request) is { } change)
        {
            // The stream's first change starts it; two admins racing there are a concurrency conflict like any other.
            if (current.Version == 0) session.Events.StartStream<PlatformSettings>(PlatformSettings.StreamId, change);
            else session.Events.Append(PlatformSettings.StreamId, current.Version + 1, change);
            try
            {
                await session.SaveChangesAsync(ct);
            }
            catch (Exception e) when (e is JasperFx.Events.ExistingStreamIdCollisionException or Marten.Exceptions.ExistingStreamIdCollisionException)
            {
                session.EjectAllPendingChanges();
                return expected is not null ? ETags.PreconditionFailed()
                    : Problems.Result(409, "concurrent_modification", "The settings were changed concurrently; retry the request.");
            }
            current = cache.Remember((await session.LoadAsync<PlatformSettings>(PlatformSettings.StreamId, ct))!);
        }
        http.Response.Headers.ETag = ETags.For(current.Version);
        return Results.Ok(PlatformSettingsResponse.From(current));
    }

    /// <summary>The event recording what the request changes, with only the fields whose value differs; null when nothing does.</summary>
    public static PlatformSettingsChanged? Decide(EffectivePlatformSettings current, UpdatePlatformSettings request)
    {
        static T? Changed<T>(T? requested, T current) where T : struct => requested is { } value && !value.Equals(current) ? value : null;

        var change = new PlatformSettingsChanged(PlatformSettings.StreamId,
            Changed(request.RegistrationEnabled, current.RegistrationEnabled),
            Changed(request.RateLimitPermitLimit, current.RateLimitPermitLimit),
            Changed(request.RateLimitWindowSeconds, current.RateLimitWindowSeconds),
            Changed(request.TokenPermitLimit, current.TokenPermitLimit),
            Changed(request.AccessTokenLifetimeMinutes, current.AccessTokenLifetimeMinutes),
            Changed(request.RefreshTokenLifetimeDays, current.RefreshTokenLifetimeDays),
            request.EgressAllowedHosts is { } hosts && !hosts.SequenceEqual(current.EgressAllowedHosts, StringComparer.OrdinalIgnoreCase) ? hosts : null);
        return change == new PlatformSettingsChanged(PlatformSettings.StreamId) ? null : change;
    }
}
