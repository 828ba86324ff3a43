using System.Diagnostics;

namespace AgentArtifacts.Api.Infrastructure;

/// <summary>
/// One structured line per request: method, path, status, duration and principal id. Deliberately never the query
/// string, headers or bodies, which is where tokens, passwords and secrets travel.
/// </summary>
public sealed class RequestLogging(RequestDelegate next, ILogger<RequestLogging> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        if (!logger.IsEnabled(LogLevel.Information))
        {
            await next(context);
            return;
        }
        var started = Stopwatch.GetTimestamp();
        try
        {
            await next(context);
        }
        finally
        {
            var principal = context.User.Identity?.IsAuthenticated == true ? Caller.From(context.User).Id.ToString() : "anonymous";
            logger.LogInformation("HTTP {Method} {Path} responded {Status} in {ElapsedMs:0.0} ms for {Principal}",
                context.Request.Method, context.Request.Path.Value, context.Response.StatusCode,
                Stopwatch.GetElapsedTime(started).TotalMilliseconds, principal);
        }
    }
}
