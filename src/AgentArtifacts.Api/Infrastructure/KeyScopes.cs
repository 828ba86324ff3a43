using Microsoft.AspNetCore.Authorization;

namespace AgentArtifacts.Api.Infrastructure;

/// <summary>
/// The key action a route needs (<c>read write create delete search invoke</c>), or <see cref="Any"/> for routes about the
/// caller itself. API keys and servers may call a route only when it declares one and one of their scopes has that
/// action; a route without a declaration is closed to them (fail closed). Users are not affected.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class KeyScopeAttribute(string action) : Attribute
{
    /// <summary>Any key or server may call the route, whatever its scopes (e.g. <c>GET /auth/me</c>).</summary>
    public const string Any = "*";
    public string Action { get; } = action;
}

/// <summary>
/// Refuses an API-key or server principal, before the endpoint and before idempotency storage, on a route that declares no
/// <see cref="KeyScopeAttribute"/> (403 <c>permission_denied</c>) or whose action none of its scopes has (403
/// <c>insufficient_scope</c>). Which artifacts a scope covers (content type, resource list) is the authorization check's part.
/// </summary>
public sealed class KeyScopeEnforcement(RequestDelegate next)
{
    /// <summary>The display name of the endpoint routing picks when a path exists but not for the request's method (it answers 405).</summary>
    private const string MethodNotAllowed = "405 HTTP Method Not Supported";

    public async Task InvokeAsync(HttpContext context)
    {
        if (context.User.Identity?.IsAuthenticated == true && context.GetEndpoint() is { } endpoint && endpoint.DisplayName != MethodNotAllowed
            && endpoint.Metadata.GetMetadata<IAllowAnonymous>() is null && Caller.From(context.User) is { IsNarrowed: true } caller)
        {
            var declared = endpoint.Metadata.GetMetadata<KeyScopeAttribute>();
            if (declared is null)
            {
                context.Response.StatusCode = StatusCodes.Status403Forbidden;
                await Problems.Result(403, "permission_denied", $"This route is not available to {(caller.Kind == Caller.Server ? "server tokens" : "API keys")}; use a user token.")
                    .ExecuteAsync(context);
                return;
            }
            if (declared.Action != KeyScopeAttribute.Any && !caller.ActionAllowed(declared.Action))
            {
                // RFC 6750 §3.1: the scope the request lacks.
                context.Response.Headers.WWWAuthenticate = $"Bearer error=\"insufficient_scope\", scope=\"{declared.Action}\"";
                context.Response.StatusCode = StatusCodes.Status403Forbidden;
                await Problems.Result(403, "insufficient_scope", $"None of this credential's scopes allows '{declared.Action}'.").ExecuteAsync(context);
                return;
            }
        }
        await next(context);
    }
}
