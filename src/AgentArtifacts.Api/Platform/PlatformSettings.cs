using JasperFx.Events;
using Marten;
using Microsoft.Extensions.Options;
using AgentArtifacts.Api.Identity;

namespace AgentArtifacts.Api.Platform;

// The platform-settings stream: one stream for the whole platform, one event per change. Each event carries only the
// settings that change made (null = untouched), and Marten's user_name metadata says which admin made it.

public sealed record PlatformSettingsChanged(Guid SettingsId, bool? RegistrationEnabled = null, int? RateLimitPermitLimit = null,
    int? RateLimitWindowSeconds = null, int? TokenPermitLimit = null, int? AccessTokenLifetimeMinutes = null, int? RefreshTokenLifetimeDays = null,
    string[]? EgressAllowedHosts = null);

/// <summary>
/// The settings admins have chosen, as an inline snapshot of the settings stream. A null member was never set: the
/// configuration value (<see cref="PlatformDefaults"/>) applies to it.
/// </summary>
public sealed class PlatformSettings
{
    /// <summary>The one settings stream (and snapshot document) of the platform.</summary>
    public static readonly Guid StreamId = new("0190f1a0-0000-7000-8000-00000000a001");

    public Guid Id { get; set; }
    public long Version { get; set; }
    public bool? RegistrationEnabled { get; set; }
    public int? RateLimitPermitLimit { get; set; }
    public int? RateLimitWindowSeconds { get; set; }
    public int? TokenPermitLimit { get; set; }
    public int? AccessTokenLifetimeMinutes { get; set; }
    public int? RefreshTokenLifetimeDays { get; set; }
    /// <summary>Hosts invocations may reach even at private or loopback addresses (the egress policy's exceptions).</summary>
    public string[]? EgressAllowedHosts { get; set; }
    public Guid UpdatedBy { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }

    public static PlatformSettings Create(IEvent<PlatformSettingsChanged> e)
    {
        var settings = new PlatformSettings { Id = e.Data.SettingsId };
        settings.Apply(e);
        return settings;
    }

    public void Apply(IEvent<PlatformSettingsChanged> e)
    {
        var c = e.Data;
        RegistrationEnabled = c.RegistrationEnabled ?? RegistrationEnabled;
        RateLimitPermitLimit = c.RateLimitPermitLimit ?? RateLimitPermitLimit;
        RateLimitWindowSeconds = c.RateLimitWindowSeconds ?? RateLimitWindowSeconds;
        TokenPermitLimit = c.TokenPermitLimit ?? TokenPermitLimit;
        AccessTokenLifetimeMinutes = c.AccessTokenLifetimeMinutes ?? AccessTokenLifetimeMinutes;
        RefreshTokenLifetimeDays = c.RefreshTokenLifetimeDays ?? RefreshTokenLifetimeDays;
        EgressAllowedHosts = c.EgressAllowedHosts ?? EgressAllowedHosts;
        UpdatedBy = Guid.TryParse(e.UserName, out var actor) ? actor : Guid.Empty;
        UpdatedAt = e.Timestamp;
    }
}

/// <summary>The settings in force: what admins chose, else the configuration. <c>Version</c> is the settings stream's (0: never changed).</summary>
public sealed record EffectivePlatformSettings(bool RegistrationEnabled, int RateLimitPermitLimit, int RateLimitWindowSeconds,
    int TokenPermitLimit, int AccessTokenLifetimeMinutes, int RefreshTokenLifetimeDays, IReadOnlyList<string> EgressAllowedHosts, long Version,
    Guid? UpdatedBy, DateTimeOffset? UpdatedAt)
{
    public RateLimitOptions RateLimits { get; } = new()
    {
        PermitLimit = RateLimitPermitLimit, WindowSeconds = RateLimitWindowSeconds, TokenPermitLimit = TokenPermitLimit,
    };

    /// <summary>The token issuer's options with the lifetimes in force.</summary>
    public SigningKeyOptions ApplyTo(SigningKeyOptions options) => new()
    {
        KeyLifetimeDays = options.KeyLifetimeDays,
        MaxAccessTokenMinutes = options.MaxAccessTokenMinutes,
        Issuer = options.Issuer,
        Audience = options.Audience,
        AccessTokenMinutes = AccessTokenLifetimeMinutes,
        RefreshTokenDays = RefreshTokenLifetimeDays,
    };

    public static EffectivePlatformSettings From(PlatformSettings? stored, PlatformDefaults defaults) => new(
        stored?.RegistrationEnabled ?? defaults.RegistrationEnabled,
        stored?.RateLimitPermitLimit ?? defaults.RateLimits.PermitLimit,
        stored?.RateLimitWindowSeconds ?? defaults.RateLimits.WindowSeconds,
        stored?.TokenPermitLimit ?? defaults.RateLimits.TokenPermitLimit,
        stored?.AccessTokenLifetimeMinutes ?? defaults.Tokens.AccessTokenMinutes,
        stored?.RefreshTokenLifetimeDays ?? defaults.Tokens.RefreshTokenDays,
        stored?.EgressAllowedHosts ?? defaults.EgressAllowedHosts,
        stored?.Version ?? 0,
        stored?.UpdatedBy,
        stored?.UpdatedAt);
}

/// <summary>The configuration values, which apply until an admin changes a setting.</summary>
public sealed record PlatformDefaults(bool RegistrationEnabled, RateLimitOptions RateLimits, SigningKeyOptions Tokens, string[] EgressAllowedHosts);

/// <summary>
/// Every node's view of the settings: read from PostgreSQL at most once per <c>Platform:SettingsCacheSeconds</c> (5 s by
/// default), so another node's change shows here within that bound; a change made through this node shows at once.
/// When PostgreSQL cannot be read, the last known settings (or the configuration) stay in force until the next try.
/// </summary>
public sealed class PlatformSettingsCache(IDocumentStore store, IConfiguration configuration, IOptionsMonitor<RateLimitOptions> rateLimits,
    IOptions<SigningKeyOptions> tokens, TimeProvider clock, ILogger<PlatformSettingsCache> logger)
{
    private sealed record Entry(EffectivePlatformSettings Settings, DateTimeOffset LoadedAt);

    private readonly TimeSpan _maxAge = TimeSpan.FromSeconds(Math.Max(0, configuration.GetValue("Platform:SettingsCacheSeconds", 5.0)));
    private readonly SemaphoreSlim _gate = new(1, 1);
    private volatile Entry? _current;

    public TimeSpan MaxAge => _maxAge;

    public PlatformDefaults Defaults => new(configuration.GetValue("Identity:RegistrationEnabled", true), rateLimits.CurrentValue, tokens.Value,
        configuration.GetSection("Egress:AllowedHosts").Get<string[]>() ?? []);

    /// <summary>The settings in force; a database read only when this node's copy is older than <see cref="MaxAge"/>.</summary>
    public ValueTask<EffectivePlatformSettings> GetAsync(CancellationToken ct)
    {
        var current = _current;
        return current is not null && clock.GetUtcNow() - current.LoadedAt < _maxAge
            ? ValueTask.FromResult(current.Settings)
            : new ValueTask<EffectivePlatformSettings>(LoadAsync(ct));
    }

    /// <summary>A change this node just saved: in force here at once, without waiting for the next read.</summary>
    public EffectivePlatformSettings Remember(PlatformSettings stored)
    {
        var settings = EffectivePlatformSettings.From(stored, Defaults);
        Publish(new Entry(settings, clock.GetUtcNow()));
        return settings;
    }

    /// <summary>Forget the cached settings; the next use reads them from the database.</summary>
    public void Invalidate() => _current = null;

    private async Task<EffectivePlatformSettings> LoadAsync(CancellationToken ct)
    {
        await _gate.WaitAsync(ct);
        try
        {
            var now = clock.GetUtcNow();
            if (_current is { } fresh && now - fresh.LoadedAt < _maxAge) return fresh.Settings;
            try
            {
                await using var session = store.QuerySession();
                var stored = await session.LoadAsync<PlatformSettings>(PlatformSettings.StreamId, ct);
                Publish(new Entry(EffectivePlatformSettings.From(stored, Defaults), now));
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // Rate limiting asks on every request, liveness included: a database outage must not turn into 500s here.
                logger.LogWarning(e, "Could not read the platform settings; keeping the last known ones until the next try.");
                Publish(new Entry(_current?.Settings ?? EffectivePlatformSettings.From(null, Defaults), now));
            }
            return _current!.Settings;
        }
        finally
        {
            _gate.Release();
        }
    }

    private void Publish(Entry entry)
    {
        // A read that started before this node's own change must not put the older settings back.
        var current = _current;
        if (current is null || entry.Settings.Version >= current.Settings.Version) _current = entry;
    }
}

/// <summary>Only platform admins (the <c>platform_admin</c> claim of the access token, read by <see cref="Caller"/>) may use /platform routes.</summary>
public static class PlatformAdminPolicy
{
    public const string Name = "PlatformAdmin";
}

public static class PlatformSetup
{
    public static void AddPlatform(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<PlatformSettingsCache>();
        builder.Services.AddAuthorizationBuilder().AddPolicy(PlatformAdminPolicy.Name, policy =>
            policy.RequireAuthenticatedUser().RequireAssertion(context => Caller.From(context.User).IsPlatformAdmin));
    }
}

public sealed class PlatformSettingsStream : IConfigureMarten
{
    public void Configure(IServiceProvider services, StoreOptions options)
    {
        options.Projections.Snapshot<PlatformSettings>(JasperFx.Events.Projections.SnapshotLifecycle.Inline);
    }
}
