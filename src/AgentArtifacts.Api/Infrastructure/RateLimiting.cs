using System.Collections.Concurrent;
using System.Globalization;

namespace AgentArtifacts.Api.Infrastructure;

public sealed class RateLimitOptions
{
    /// <summary>Requests per window for one principal (an anonymous caller is keyed by its IP address).</summary>
    public int PermitLimit { get; set; } = 1200;
    public int WindowSeconds { get; set; } = 60;
    /// <summary>Attempts per window at the token endpoint for one client address: slows password guessing.</summary>
    public int TokenPermitLimit { get; set; } = 20;
}

/// <summary>
/// Fixed-window rate limiting per principal, with X-RateLimit-* headers on every response and 429 + Retry-After past
/// the limit. Counters live in this node's memory: the limit is per node, and every response says so with
/// <c>X-RateLimit-Scope: node</c>. A limit shared by all nodes would need a PostgreSQL write on every request, reads
/// included, on the database every write already waits for; the limits guard against abuse and runaway clients, for which
/// N nodes allowing up to N× the limit is acceptable (docs/architecture.md, "Several nodes"). The limits themselves are
/// platform settings (PATCH /platform/settings).
/// </summary>
public sealed class RateLimiting(RequestDelegate next, Platform.PlatformSettingsCache platform, TimeProvider clock)
{
    private sealed class Window(long start) { public readonly long Start = start; public int Count; }

    private readonly ConcurrentDictionary<string, Window> _windows = new();
    private long _lastSweep;

    public async Task InvokeAsync(HttpContext context)
    {
        // The limits are platform settings (configuration until an admin changes them), cached per node for a few seconds.
        var settings = (await platform.GetAsync(context.RequestAborted)).RateLimits;
        var isTokenEndpoint = context.Request.Path.StartsWithSegments("/auth/token");
        var limit = isTokenEndpoint ? settings.TokenPermitLimit : settings.PermitLimit;
        var key = isTokenEndpoint ? $"token:{context.Connection.RemoteIpAddress}"
            : context.User.Identity?.IsAuthenticated == true ? $"p:{Caller.From(context.User).Id}"
            : $"ip:{context.Connection.RemoteIpAddress}";

        var now = clock.GetUtcNow().ToUnixTimeSeconds();
        var windowStart = now - now % settings.WindowSeconds;
        var window = _windows.AddOrUpdate(key, _ => new Window(windowStart), (_, w) => w.Start == windowStart ? w : new Window(windowStart));
        var used = Interlocked.Increment(ref window.Count);
        var reset = windowStart + settings.WindowSeconds;
        Sweep(now, windowStart);

        var headers = context.Response.Headers;
        // Written as the response starts, so they survive handlers that clear the response (the exception handler does).
        context.Response.OnStarting(() =>
        {
            headers["X-RateLimit-Limit"] = limit.ToString(CultureInfo.InvariantCulture);
            headers["X-RateLimit-Remaining"] = Math.Max(0, limit - used).ToString(CultureInfo.InvariantCulture);
            headers["X-RateLimit-Reset"] = reset.ToString(CultureInfo.InvariantCulture);
            headers["X-RateLimit-Scope"] = "node";
            return Task.CompletedTask;
        });

        if (used > limit)
        {
            headers.RetryAfter = Math.Max(1, reset - now).ToString(CultureInfo.InvariantCulture);
            context.Response.StatusCode = StatusCodes.Status429TooManyRequests;
            await Problems.Result(429, "rate_limited", $"More than {limit} requests in {settings.WindowSeconds} s; retry after the reset.").ExecuteAsync(context);
            return;
        }

        await next(context);
    }

    private void Sweep(long now, long currentWindow)
    {
        var last = Interlocked.Read(ref _lastSweep);
        if (now - last < 60 || Interlocked.CompareExchange(ref _lastSweep, now, last) != last) return;
        foreach (var (key, window) in _windows)
        {
            if (window.Start < currentWindow) _windows.TryRemove(key, out _);
        }
    }
}

public static class RateLimitSetup
{
    public const string Documentation =
        "Rate limits: every response carries X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset (Unix seconds) and " +
        "X-RateLimit-Scope; past the limit the answer is 429 with Retry-After. Limits are per principal (per client address " +
        "when anonymous, and at the token endpoint) and counted by each node of the service separately (X-RateLimit-Scope: node): " +
        "behind a load balancer with N nodes a client may get up to N times the limit through in one window. They protect " +
        "the service from runaway clients; they are not a quota to bill against.";

    public static void AddRateLimits(this WebApplicationBuilder builder)
    {
        builder.Services.Configure<RateLimitOptions>(builder.Configuration.GetSection("RateLimiting"));
        // Runs after the document's own transformer, which sets the description this appends to.
        builder.Services.Configure<Microsoft.AspNetCore.OpenApi.OpenApiOptions>("v1", o => o.AddDocumentTransformer((document, _, _) =>
        {
            if (document.Info is { } info) info.Description = $"{info.Description}\n\n{Documentation}".Trim();
            return Task.CompletedTask;
        }));
    }
}
