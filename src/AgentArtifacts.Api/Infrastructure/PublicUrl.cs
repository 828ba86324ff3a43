namespace AgentArtifacts.Api.Infrastructure;

/// <summary>
/// The service's public address as the client reached it (scheme and host of the request): the one source of every absolute
/// URL the service hands out (discovery documents, 401 challenges, the MCP endpoint's allowed origin).
/// </summary>
public static class PublicUrl
{
    public static string Base(HttpRequest request) => $"{request.Scheme}://{request.Host}";

    /// <param name="path">An absolute path, starting with <c>/</c>.</param>
    public static string Of(HttpRequest request, string path) => Base(request) + path;
}
