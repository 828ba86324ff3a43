using System.Text.Json;
using System.Text.Json.Nodes;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace AgentArtifacts.Api.Mcp.Resources;

/// <summary>
/// Every artifact the caller may read is an MCP resource: <c>artifact://{id}</c> (the head) and
/// <c>artifact://{id}/revisions/{n}</c> (a committed revision). Listing and reading run the REST operations (see
/// <see cref="ReadableArtifacts"/>). A missing artifact and one the caller may not read give the same protocol error. The
/// server is stateless, so it offers no subscriptions: a client reads again to see a change.
/// </summary>
public static class ArtifactResources
{
    public static IMcpServerBuilder WithArtifactResources(this IMcpServerBuilder builder) => builder
        .WithListResourcesHandler(ListAsync)
        .WithListResourceTemplatesHandler(ListTemplatesAsync)
        .WithReadResourceHandler(ReadAsync);

    public static readonly IReadOnlyList<ResourceTemplate> Templates =
    [
        new()
        {
            UriTemplate = ArtifactUri.HeadTemplate, Name = "artifact", Title = "Artifact",
            Description = "An artifact's head: its current draft if it has one, else its last committed revision. What a text artifact "
                + "reads as is its content; a structured one (a +json content type: agents, tools, prompts…) reads as the artifact's JSON.",
        },
        new()
        {
            UriTemplate = ArtifactUri.RevisionTemplate, Name = "artifact-revision", Title = "Artifact revision",
            Description = "A committed revision (1, 2, 3…) of an artifact, which never changes. Readers of a collection read the "
                + "revisions published into it.",
        },
    ];

    public static async ValueTask<ListResourcesResult> ListAsync(RequestContext<ListResourcesRequestParams> request, CancellationToken ct)
    {
        var (items, next) = await ReadableArtifacts.PageAsync(request.Services!.GetRequiredService<RestOperations>(), request.User!,
            request.Services!, contentTypes: null, request.Params?.Cursor, ReadableArtifacts.PageSize, ct);
        return new ListResourcesResult
        {
            Resources = items.Select(a => new Resource
            {
                Uri = a.Uri,
                Name = a.Title,
                Title = a.Title,
                MimeType = a.ContentType,
                Annotations = new Annotations { LastModified = a.UpdatedAt },
            }).ToList(),
            NextCursor = next,
        };
    }

    public static ValueTask<ListResourceTemplatesResult> ListTemplatesAsync(RequestContext<ListResourceTemplatesRequestParams> request, CancellationToken ct) =>
        ValueTask.FromResult(new ListResourceTemplatesResult { ResourceTemplates = [.. Templates] });

    public static async ValueTask<ReadResourceResult> ReadAsync(RequestContext<ReadResourceRequestParams> request, CancellationToken ct)
    {
        var uri = request.Params?.Uri;
        if (!ArtifactUri.TryParse(uri, out var id, out var revision)
            || await ReadableArtifacts.ReadAsync(request.Services!.GetRequiredService<RestOperations>(), request.User!, request.Services!, id, revision, ct)
                is not { } artifact)
        {
            throw NotFound(request.Server, uri);
        }
        return new ReadResourceResult { Contents = [Contents(uri!, artifact)] };
    }

    /// <summary>
    /// What an artifact reads as: its content; for a structured one (a <c>+json</c> type: agents, tools, prompts…), whose
    /// meaning is in its context, the artifact's JSON as REST answers it. Either way the MIME type is the artifact's content
    /// type. (Artifacts hold text only: there is no binary content to send as a blob.)
    /// </summary>
    public static TextResourceContents Contents(string uri, JsonObject artifact)
    {
        var contentType = artifact["contentType"]!.GetValue<string>();
        return new TextResourceContents
        {
            Uri = uri,
            MimeType = contentType,
            Text = IsStructured(contentType) ? artifact.ToJsonString(Indented) : artifact["content"]?.GetValue<string>() ?? "",
        };
    }

    public static bool IsStructured(string contentType) =>
        contentType.Split(';', 2)[0].Trim().EndsWith("+json", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// One error for a missing artifact, a hidden one and a malformed address, so nothing tells them apart: -32002 (resource
    /// not found) before the 2026-07-28 protocol revision, the standard InvalidParams (-32602) from it on, as the SDK does.
    /// </summary>
    public static McpProtocolException NotFound(McpServer server, string? uri) => new($"Resource not found: '{uri}'.",
        string.CompareOrdinal(server.NegotiatedProtocolVersion ?? "", StandardNotFoundSince) >= 0 ? McpErrorCode.InvalidParams : McpErrorCode.ResourceNotFound);

    private const string StandardNotFoundSince = "2026-07-28";

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };
}
