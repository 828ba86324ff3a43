using Microsoft.AspNetCore.Mvc;

namespace AgentArtifacts.Api.Infrastructure;

/// <summary>RFC 9457 problems with a stable snake_case <c>code</c>. Expected outcomes are returned, not thrown.</summary>
public static class Problems
{
    public static ProblemDetails Create(int status, string code, string detail, string? title = null) => new()
    {
        Status = status,
        Title = title ?? DefaultTitle(status),
        Detail = detail,
        Type = $"https://agentartifacts.dev/problems/{code.Replace('_', '-')}",
        Extensions = { ["code"] = code },
    };

    public static IResult Result(ProblemDetails problem) => Results.Problem(problem);

    public static IResult Result(int status, string code, string detail) => Results.Problem(Create(status, code, detail));

    public static IResult NotFound(string what = "resource") =>
        Result(StatusCodes.Status404NotFound, "not_found", $"The {what} does not exist or is not visible to you.");

    public static IResult Validation(IDictionary<string, string[]> errors, string detail = "The request is invalid.", string code = "validation_failed")
    {
        var problem = Create(StatusCodes.Status400BadRequest, code, detail);
        problem.Extensions["errors"] = errors;
        return Results.Problem(problem);
    }

    public static IResult Invalid(string field, string message, string code = "validation_failed") =>
        Validation(new Dictionary<string, string[]> { [field] = [message] }, message, code);

    /// <summary>The code a problem gets when the code that produced it (the framework, usually) gave none.</summary>
    public static string DefaultCode(int status) => status switch
    {
        400 => "bad_request",
        401 => "unauthenticated",
        403 => "permission_denied",
        404 => "not_found",
        405 => "method_not_allowed",
        406 => "not_acceptable",
        409 => "conflict",
        412 => "precondition_failed",
        413 => "payload_too_large",
        415 => "unsupported_media_type",
        422 => "unprocessable",
        429 => "rate_limited",
        503 => "unavailable",
        _ => status >= 500 ? "internal_error" : "error",
    };

    private static string DefaultTitle(int status) => status switch
    {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        409 => "Conflict",
        412 => "Precondition Failed",
        413 => "Content Too Large",
        415 => "Unsupported Media Type",
        422 => "Unprocessable Content",
        429 => "Too Many Requests",
        503 => "Service Unavailable",
        _ => "Error",
    };
}
