using Microsoft.AspNetCore.Http.Features;

namespace AgentArtifacts.Api.Infrastructure;

/// <summary>Request bodies above <c>Limits:MaxRequestBodyBytes</c> (default 1 MiB) are refused with 413 before anything reads them.</summary>
public sealed class RequestLimits(RequestDelegate next, IConfiguration configuration)
{
    private readonly long _maxBytes = configuration.GetValue("Limits:MaxRequestBodyBytes", 1_048_576L);

    public async Task InvokeAsync(HttpContext context)
    {
        if (context.Request.ContentLength > _maxBytes)
        {
            context.Response.StatusCode = StatusCodes.Status413PayloadTooLarge;
            await Problems.Result(413, "payload_too_large", $"The request body exceeds {_maxBytes} bytes.").ExecuteAsync(context);
            return;
        }

        // Bodies without a Content-Length (chunked) are cut off by the server at the same limit.
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } feature) feature.MaxRequestBodySize = _maxBytes;
        await next(context);
    }
}
