using System.Net;
using System.Text.Json.Nodes;
using AgentArtifacts.Api.Tests.Infrastructure;
using Shouldly;

namespace AgentArtifacts.Api.Tests.ApiKeys;

public sealed record TestKey(Guid Id, string Secret, JsonObject Body);

public static class ApiKeyArrange
{
    public static async Task<TestKey> KeyAsync(this HttpClient owner, string[] scopes, Guid[]? resourceIds = null, int? expiresInDays = null,
        string name = "CI key")
    {
        var response = await owner.PostJson("/api-keys", new { name, scopes, resourceIds, expiresInDays });
        response.StatusCode.ShouldBe(HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        var body = await response.Json();
        return new TestKey(body["id"]!.GetValue<Guid>(), body["key"]!.GetValue<string>(), body);
    }

    public static Task<TestKey> KeyAsync(this TestUser owner, params string[] scopes) => owner.Client.KeyAsync(scopes);
}
