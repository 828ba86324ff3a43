using AgentArtifacts.Api.Infrastructure;

namespace AgentArtifacts.Api.Mcp;

/// <summary>
/// Refuses requests to an MCP endpoint from a web page of a foreign origin (the MCP transport asks servers to answer 403 to an
/// <c>Origin</c> they do not allow; the SDK does not check it). An <c>Origin</c> that is present and not in
/// <c>Mcp:AllowedOrigins</c> (default: the service's own origin) gets 403 with a JSON-RPC error; a request without one (every
/// client that is not a browser) passes.
/// </summary>
/// <remarks>
/// It runs before authentication: it reads one header and nothing else, and a foreign page is refused the same way whether or
/// not it sent a credential, so it learns nothing about the credential either.
/// </remarks>
public sealed class McpOriginCheck(RequestDelegate next, IConfiguration configuration)
{
    private const string Refusal = """{"jsonrpc":"2.0","error":{"code":-32600,"message":"Forbidden: requests from this Origin are not allowed."},"id":null}""";

    private readonly HashSet<string> _configured = (configuration.GetSection("Mcp:AllowedOrigins").Get<string[]>() ?? [])
        .Select(Normalize).OfType<string>().ToHashSet(StringComparer.Ordinal);

    public async Task InvokeAsync(HttpContext context)
    {
        var origin = context.Request.Headers.Origin;
        if (origin.Count == 0 || context.GetEndpoint()?.Metadata.GetMetadata<McpEndpoint>() is null || Allowed(origin.ToString(), context.Request))
        {
            await next(context);
            return;
        }
        context.Response.StatusCode = StatusCodes.Status403Forbidden;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(Refusal);
    }

    private bool Allowed(string origin, HttpRequest request) =>
        Normalize(origin) is { } normalized
        && (_configured.Count > 0 ? _configured.Contains(normalized) : normalized == Normalize(PublicUrl.Base(request)));

    /// <summary><c>scheme://host[:port]</c> in lower case without a default port, or null for anything else (<c>null</c>, paths, several values).</summary>
    private static string? Normalize(string origin) =>
        Uri.TryCreate(origin.Trim(), UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https" && uri.AbsolutePath == "/"
            && string.IsNullOrEmpty(uri.Query) && string.IsNullOrEmpty(uri.UserInfo)
            ? uri.GetLeftPart(UriPartial.Authority).ToLowerInvariant()
            : null;
}
