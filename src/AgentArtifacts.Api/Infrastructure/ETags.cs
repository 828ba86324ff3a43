using System.Globalization;

namespace AgentArtifacts.Api.Infrastructure;

/// <summary>Strong ETags from stream versions: <c>"7"</c>. <c>If-Match</c> → 412 on mismatch, <c>If-None-Match</c> → 304.</summary>
public static class ETags
{
    public static string For(long version) => $"\"{version.ToString(CultureInfo.InvariantCulture)}\"";

    /// <summary>The version an <c>If-Match</c> header requires; null when absent or <c>*</c>. False when it names no version we issue.</summary>
    public static bool TryReadIfMatch(HttpRequest request, out long? version)
    {
        version = null;
        var header = request.Headers.IfMatch.ToString().Trim();
        if (header.Length == 0 || header == "*") return true;
        var parsed = Parse(header);
        version = parsed;
        return parsed is not null;
    }

    public static bool IfNoneMatchHits(HttpRequest request, long version)
    {
        var header = request.Headers.IfNoneMatch.ToString();
        if (header.Length == 0) return false;
        return header.Trim() == "*" || header.Split(',').Any(tag => Parse(tag.Trim()) == version);
    }

    /// <summary>Sets the ETag, and answers 304 when the client's copy is current.</summary>
    public static IResult Conditional(HttpContext context, long version, object body)
    {
        context.Response.Headers.ETag = For(version);
        return IfNoneMatchHits(context.Request, version) ? Results.StatusCode(StatusCodes.Status304NotModified) : Results.Ok(body);
    }

    public static IResult PreconditionFailed() =>
        Problems.Result(412, "precondition_failed", "If-Match does not match the current ETag; fetch the resource again.");

    private static long? Parse(string tag)
    {
        if (tag.StartsWith("W/", StringComparison.Ordinal)) tag = tag[2..];
        return tag.Length > 2 && tag[0] == '"' && tag[^1] == '"'
               && long.TryParse(tag.AsSpan(1, tag.Length - 2), NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : null;
    }
}

/// <summary>
/// The endpoint's success answer carries the resource's ETag although its body shows no <c>version</c> (API keys,
/// secrets, server credentials), so the OpenAPI document declares the header there too.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class AnswersWithETagAttribute : Attribute;
