using System.Diagnostics;
using System.Text.Json;
using FluentValidation;
using JasperFx;
using Microsoft.AspNetCore.Diagnostics;

namespace AgentArtifacts.Api.Infrastructure;

/// <summary>The cross-cutting HTTP conventions (errors, rate limits, idempotency, key scopes), wired in one place and in one order.</summary>
public static class ApiConventions
{
    public static void AddApiConventions(this WebApplicationBuilder builder)
    {
        builder.Services.AddProblemDetails(o => o.CustomizeProblemDetails = ctx =>
        {
            var status = ctx.ProblemDetails.Status ?? ctx.HttpContext.Response.StatusCode;
            ctx.ProblemDetails.Extensions.TryAdd("code", Problems.DefaultCode(status));
            ctx.ProblemDetails.Extensions["traceId"] = Activity.Current?.Id ?? ctx.HttpContext.TraceIdentifier;
            // Wolverine answers malformed, mistyped or unknown-field JSON with this title; give it stable codes and no .NET type names.
            if (ctx.ProblemDetails.Title == "Invalid JSON format") JsonProblem.Clarify(ctx.ProblemDetails);
            // Wolverine's answer to an unparseable query value names the .NET type it wanted; say what the value should be instead.
            if (ctx.ProblemDetails.Title == "Invalid query string value") JsonProblem.ClarifyQuery(ctx.ProblemDetails);
        });
        builder.Services.AddExceptionHandler<ExceptionMapping>();
        // Stop at the first failing rule of a property: later rules may assume earlier ones held (e.g. not null).
        ValidatorOptions.Global.DefaultRuleLevelCascadeMode = CascadeMode.Stop;
        // Error keys name the JSON fields as clients send them (camelCase), not the C# properties.
        ValidatorOptions.Global.PropertyNameResolver = (_, member, _) => member is null ? null : JsonNamingPolicy.CamelCase.ConvertName(member.Name);
        // Validators are stateless: one instance each, instead of rebuilding the rules on every request.
        builder.Services.AddValidatorsFromAssemblyContaining<Program>(ServiceLifetime.Singleton, includeInternalTypes: true);
        builder.Services.AddHttpContextAccessor();
        builder.AddOpenApiDocument();
        builder.AddRateLimits();
        builder.Services.AddSingleton(TimeProvider.System);
    }

    public static void UseApiConventions(this WebApplication app)
    {
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        // A client that asks for an event stream gets its errors (before the stream starts) as problem+json; without this,
        // Wolverine refuses to read a JSON request body for it (406).
        app.Use((context, next) =>
        {
            var accept = context.Request.Headers.Accept.ToString();
            if (accept.Contains("text/event-stream", StringComparison.OrdinalIgnoreCase) && !accept.Contains("json", StringComparison.OrdinalIgnoreCase))
            {
                context.Request.Headers.Accept = accept + ", application/problem+json";
            }
            return next(context);
        });
        app.UseMiddleware<RequestLogging>();
        // Before authentication: a web page of a foreign origin gets 403 on the MCP endpoints, credential or not.
        app.UseMiddleware<Mcp.McpOriginCheck>();
        app.UseAuthentication();
        // Before the body limit, so that a 413 carries the X-RateLimit-* headers too (and counts against the limit).
        app.UseMiddleware<RateLimiting>();
        app.UseMiddleware<RequestLimits>();
        // Before anything that stores or acts on the request: text PostgreSQL cannot hold is refused here, once.
        app.UseMiddleware<InputHygiene>();
        // Before idempotency: a request a key may not make stores nothing.
        app.UseMiddleware<KeyScopeEnforcement>();
        // Consistency-Token: written on every successful write, awaited by the reads of async projections.
        app.UseMiddleware<ReadYourWrites>();
        app.UseMiddleware<Idempotency>();
        app.UseAuthorization();
    }
}

public static partial class JsonProblem
{
    public static void Clarify(ProblemDetails problem)
    {
        var detail = problem.Detail ?? "";
        var unknown = UnknownMember().Match(detail);
        problem.Extensions["code"] = unknown.Success ? "unknown_field" : "invalid_json";
        problem.Detail = unknown.Success ? $"Unknown field '{unknown.Groups[1].Value}': this request has no such field."
            : DotNetTypeName().Replace(detail, "the expected type");
        problem.Type = "https://agentartifacts.dev/problems/" + (unknown.Success ? "unknown-field" : "invalid-json");
    }

    public static void ClarifyQuery(ProblemDetails problem)
    {
        var match = UnparseableQuery().Match(problem.Detail ?? "");
        var parameter = match.Success ? match.Groups[1].Value : problem.Extensions.TryGetValue("parameter", out var p) ? p?.ToString() ?? "" : "";
        var expected = match.Success ? Friendly(match.Groups[2].Value) : "a value of the documented type";
        problem.Extensions["code"] = "invalid_query_parameter";
        problem.Type = "https://agentartifacts.dev/problems/invalid-query-parameter";
        problem.Detail = $"The query parameter '{parameter}' must be {expected}.";
    }

    private static string Friendly(string type) => type switch
    {
        "System.Guid" or "Guid" => "a UUID",
        "int" or "System.Int32" or "long" or "System.Int64" => "an integer in range",
        "bool" or "System.Boolean" => "true or false",
        "System.DateTimeOffset" or "System.DateTime" => "an RFC 3339 date-time",
        _ => "a value of the documented type",
    };

    [System.Text.RegularExpressions.GeneratedRegex(@"^Query string parameter '([^']*)' has the value .* which cannot be parsed to the expected type (\S+)$", System.Text.RegularExpressions.RegexOptions.Singleline)]
    private static partial System.Text.RegularExpressions.Regex UnparseableQuery();

    [System.Text.RegularExpressions.GeneratedRegex(@"The JSON property '([^']*)' could not be mapped")]
    private static partial System.Text.RegularExpressions.Regex UnknownMember();

    [System.Text.RegularExpressions.GeneratedRegex(@"\b(System|AgentArtifacts)\.[\w.`\[\],]+")]
    private static partial System.Text.RegularExpressions.Regex DotNetTypeName();
}

/// <summary>Maps the few real exceptions to problems; everything else is a 500 without internals.</summary>
public sealed class ExceptionMapping(IProblemDetailsService problems, ILogger<ExceptionMapping> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken cancellationToken)
    {
        var problem = exception switch
        {
            // Another writer appended first. With If-Match the client stated a version: 412; without, a plain conflict.
            ConcurrencyException when context.Request.Headers.IfMatch.Count > 0 =>
                Problems.Create(412, "precondition_failed", "The resource was changed by someone else; fetch it again and retry with the new ETag."),
            ConcurrencyException => Problems.Create(409, "concurrent_modification", "The resource was changed concurrently; retry the request."),
            JasperFx.Events.ExistingStreamIdCollisionException or Marten.Exceptions.ExistingStreamIdCollisionException =>Problems.Create(409, "already_exists", "A resource with this id already exists."),
            BadHttpRequestException bad => Problems.Create(bad.StatusCode, Problems.DefaultCode(bad.StatusCode), bad.Message),
            // PostgreSQL cannot be reached (refused, reset, timed out, shutting down, out of connections): the request did
            // not happen, and retrying later is the remedy. /health/ready says the same.
            _ when DatabaseUnreachable(exception) =>
                Problems.Create(503, "database_unavailable", "The database cannot be reached at the moment; retry after the Retry-After delay (a POST with the same Idempotency-Key)."),
            _ => null,
        };
        if (problem?.Status == 503) context.Response.Headers.RetryAfter = "5";
        if (problem is null)
        {
            logger.LogError(exception, "Unhandled exception for {Method} {Path}", context.Request.Method, context.Request.Path);
            problem = Problems.Create(500, "internal_error", "An unexpected error occurred.");
        }

        context.Response.StatusCode = problem.Status!.Value;
        return await problems.TryWriteAsync(new ProblemDetailsContext { HttpContext = context, ProblemDetails = problem, Exception = exception });
    }

    /// <summary>Marten and Wolverine wrap Npgsql's exceptions, so the whole chain is searched.</summary>
    private static bool DatabaseUnreachable(Exception? exception) => exception switch
    {
        null => false,
        // Connection-level SQLSTATEs only: serialization failures and deadlocks are transient too, but they are answers.
        Npgsql.PostgresException pg => pg.SqlState.StartsWith("08", StringComparison.Ordinal)
                                       || pg.SqlState is "57P01" or "57P02" or "57P03" or "53300",
        // Refused, reset or timed-out connections, and an exhausted pool, are transient NpgsqlExceptions.
        Npgsql.NpgsqlException { IsTransient: true } => true,
        AggregateException aggregate => aggregate.InnerExceptions.Any(DatabaseUnreachable),
        _ => DatabaseUnreachable(exception.InnerException),
    };
}
