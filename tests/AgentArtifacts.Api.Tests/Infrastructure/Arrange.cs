using System.Text.Json.Nodes;
using Shouldly;

namespace AgentArtifacts.Api.Tests.Infrastructure;

/// <summary>Arranging through the API: a workspace, a collection, an artifact.</summary>
public static class Arrange
{
    public static async Task<Guid> WorkspaceAsync(this TestUser user, string title = "Workspace", IEnumerable<Guid>? targets = null)
    {
        var response = await user.Client.PostJson("/workspaces", new { title, targetCollectionIds = targets?.ToArray() });
        response.StatusCode.ShouldBe(System.Net.HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        return (await response.Json())["id"]!.GetValue<Guid>();
    }

    public static async Task<Guid> CollectionAsync(this TestUser user, string title = "Collection")
    {
        var response = await user.Client.PostJson("/collections", new { title });
        response.StatusCode.ShouldBe(System.Net.HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        return (await response.Json())["id"]!.GetValue<Guid>();
    }

    public static async Task<JsonObject> ArtifactAsync(this TestUser user, Guid workspaceId, string title = "Notes",
        string contentType = "text/markdown", string? content = "# Hello", object? context = null, string[]? tags = null)
    {
        var response = await user.Client.PostJson("/artifacts", new { containerId = workspaceId, contentType, title, content, context, tags });
        response.StatusCode.ShouldBe(System.Net.HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        return await response.Json();
    }

    public static Task<HttpResponseMessage> CommitAsync(this TestUser user, Guid workspace, string message, Guid[]? artifactIds = null,
        string? token = null, string? key = null) =>
        user.Client.PostJson($"/workspaces/{workspace}/commit", new { message, artifactIds, commitToken = token },
            r => { if (key is not null) r.Headers.Add("Idempotency-Key", key); });

    public static Task<HttpResponseMessage> GrantAsync(this TestUser user, Guid resourceId, Guid userId, string? role = null,
        string[]? permissions = null, string effect = "allow", DateTimeOffset? expiresAt = null) =>
        user.Client.PostJson("/grants", new { resourceId, grantee = new { type = "user", id = userId }, role, permissions, effect, expiresAt });
}
