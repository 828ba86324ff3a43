using System.Net;
using AgentArtifacts.Api.Grants;
using AgentArtifacts.Api.Tests.ApiKeys;
using AgentArtifacts.Api.Tests.Infrastructure;
using Shouldly;
using Xunit;

namespace AgentArtifacts.Api.Tests.Grants;

/// <summary>
/// Every endpoint on a workspace and its contents, for each kind of principal: exactly the status the rules give (404 when
/// the principal cannot read, 403 when it can read but lacks the permission), and a refused request changes nothing.
/// </summary>
public sealed class AuthorizationMatrixTests(ApiFixture fixture) : ApiTest(fixture)
{
    /// <summary>A route, the permission on the workspace it needs, and what a permitted caller gets.</summary>
    /// <summary><c>KeyAction</c>: what the route declares for keys and servers (null: closed to them, as grant management is).</summary>
    public sealed record Route(string Name, HttpMethod Method, string Path, string? Body, Permission Needs, HttpStatusCode Success,
        bool PublishesToCollection = false, string? KeyAction = "read");

    private static readonly Route[] Routes =
    [
        new("get workspace", HttpMethod.Get, "/workspaces/{W}", null, Permission.Read, HttpStatusCode.OK),
        new("rename workspace", HttpMethod.Patch, "/workspaces/{W}", """{"title":"Renamed"}""", Permission.Update, HttpStatusCode.OK, KeyAction: "write"),
        new("archive workspace", HttpMethod.Delete, "/workspaces/{W}", null, Permission.Delete, HttpStatusCode.NoContent, KeyAction: "delete"),
        new("list workspace", HttpMethod.Get, "/workspaces/{W}/artifacts", null, Permission.Read, HttpStatusCode.OK),
        new("create artifact", HttpMethod.Post, "/artifacts", """{"containerId":"{W}","contentType":"text/plain","title":"New"}""", Permission.Create, HttpStatusCode.Created, KeyAction: "create"),
        new("get artifact", HttpMethod.Get, "/artifacts/{A}", null, Permission.Read, HttpStatusCode.OK),
        new("get revision", HttpMethod.Get, "/artifacts/{A}?revision=1", null, Permission.Read, HttpStatusCode.OK),
        new("patch artifact", HttpMethod.Patch, "/artifacts/{A}", """{"title":"Changed"}""", Permission.Update, HttpStatusCode.OK, KeyAction: "write"),
        new("archive artifact", HttpMethod.Delete, "/artifacts/{A}", null, Permission.Delete, HttpStatusCode.NoContent, KeyAction: "delete"),
        new("restore artifact", HttpMethod.Post, "/artifacts/{A}/restore", "{}", Permission.Delete, HttpStatusCode.Conflict, KeyAction: "delete"),
        new("history", HttpMethod.Get, "/artifacts/{A}/history", null, Permission.Read, HttpStatusCode.OK),
        new("revisions", HttpMethod.Get, "/artifacts/{A}/revisions", null, Permission.Read, HttpStatusCode.OK),
        new("diff", HttpMethod.Get, "/artifacts/{A}/diff", null, Permission.Read, HttpStatusCode.OK),
        new("commit preview", HttpMethod.Post, "/workspaces/{W}/commit-preview", "{}", Permission.Update, HttpStatusCode.OK, PublishesToCollection: true),
        new("commit", HttpMethod.Post, "/workspaces/{W}/commit", """{"message":"m"}""", Permission.Update, HttpStatusCode.Created, PublishesToCollection: true, KeyAction: "write"),
        new("revert", HttpMethod.Post, "/workspaces/{W}/revert", """{"artifactIds":["{A}"]}""", Permission.Update, HttpStatusCode.OK, KeyAction: "write"),
        new("list grants", HttpMethod.Get, "/grants?resourceId={W}", null, Permission.Share, HttpStatusCode.OK, KeyAction: null),
        new("check", HttpMethod.Get, "/grants/check?resourceId={W}&permission=update", null, Permission.Read, HttpStatusCode.OK, KeyAction: null),
    ];

    /// <summary>
    /// Who calls: what they hold on the workspace (null: nothing at all), and for keys and servers the actions their scopes
    /// allow (on every content type). The keys are the owner's; the server holds a viewer grant.
    /// </summary>
    private static readonly (string Name, string? Role, bool DeniedRead, string[]? KeyActions)[] Principals =
    [
        ("owner", null, false, null), ("viewer", "viewer", false, null), ("editor", "editor", false, null),
        ("collaborator", "collaborator", false, null), ("editor denied read", "editor", true, null), ("stranger", null, false, null),
        ("owner's key", null, false, ["read", "write", "create", "delete"]), ("owner's read-only key", null, false, ["read"]),
        ("owner's revoked key", null, false, ["read", "write", "create", "delete"]), ("server with a viewer grant", "viewer", false, ["read"]),
    ];

    public static IEnumerable<object[]> Cases() =>
        from route in Routes from principal in Principals select new object[] { route.Name, principal.Name };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task each_principal_gets_exactly_the_status_the_rules_give(string routeName, string principalName)
    {
        var route = Routes.Single(r => r.Name == routeName);
        var principal = Principals.Single(p => p.Name == principalName);
        var ada = await Fixture.NewUserAsync();
        var workspace = await ada.WorkspaceAsync(targets: [await ada.CollectionAsync()]);
        var artifact = (await ada.ArtifactAsync(workspace))["id"]!.GetValue<Guid>();
        (await ada.CommitAsync(workspace, "revision 1")).EnsureSuccessStatusCode();
        (await ada.Client.MergePatch($"/artifacts/{artifact}", new { content = "a draft again" })).EnsureSuccessStatusCode();

        var client = await CallerAsync(principal.Name, principal.KeyActions, ada, workspace);
        var owner = principal.Name.StartsWith("owner", StringComparison.Ordinal);
        var held = principal switch
        {
            _ when owner => Access.All,
            { DeniedRead: true } or { Role: null } => Permission.None,
            { Role: { } r } => Access.Roles[r],
        };
        var expected = principal.Name == "owner's revoked key" ? HttpStatusCode.Unauthorized
            : principal.KeyActions is { } actions && (route.KeyAction is null || !actions.Contains(route.KeyAction)) ? HttpStatusCode.Forbidden
            : !held.HasFlag(Permission.Read) ? HttpStatusCode.NotFound
            : !Access.Covers(held, route.Needs) ? HttpStatusCode.Forbidden
            // A preview is declared a read for keys, but it checks update on the workspace like the commit it previews.
            : principal.KeyActions is { } keyActions && route.Needs == Permission.Update && !keyActions.Contains("write") ? HttpStatusCode.Forbidden
            // Only the owner holds add on the workspace's target collection; previewing or committing a publication needs it.
            : route.PublishesToCollection && !owner ? HttpStatusCode.Forbidden
            : route.Success;
        var before = await Fixture.EventCountAsync();

        var path = route.Path.Replace("{W}", workspace.ToString()).Replace("{A}", artifact.ToString());
        var request = new HttpRequestMessage(route.Method, path);
        if (route.Body is { } body)
        {
            request.Content = new StringContent(body.Replace("{W}", workspace.ToString()).Replace("{A}", artifact.ToString()), System.Text.Encoding.UTF8,
                route.Method == HttpMethod.Patch && route.Path.StartsWith("/artifacts", StringComparison.Ordinal) ? "application/merge-patch+json" : "application/json");
        }
        var response = await client.SendAsync(request);

        response.StatusCode.ShouldBe(expected, $"{principal.Name} → {route.Method} {route.Path}: {await response.Content.ReadAsStringAsync()}");
        if ((int)expected >= 400) (await Fixture.EventCountAsync()).ShouldBe(before);
    }

    /// <summary>The HTTP client a principal calls with: the owner, a new user with its grants, a key of the owner, or a server.</summary>
    private async Task<HttpClient> CallerAsync(string name, string[]? keyActions, TestUser ada, Guid workspace)
    {
        var principal = Principals.Single(p => p.Name == name);
        if (name == "owner") return ada.Client;
        var scopes = keyActions?.Select(a => $"resource:*/*:{a}").ToArray() ?? [];
        if (name.StartsWith("owner's", StringComparison.Ordinal))
        {
            var key = await ada.Client.KeyAsync(scopes);
            if (name == "owner's revoked key") (await ada.Client.DeleteAsync($"/api-keys/{key.Id}")).EnsureSuccessStatusCode();
            return Fixture.Host.NewClient(key.Secret);
        }
        if (name.StartsWith("server", StringComparison.Ordinal))
        {
            // Ada registered first, so she is the platform admin who may make server credentials.
            var credential = await (await ada.Client.PostJson("/server-credentials", new { name = "Indexer", scopes })).Json();
            var clientId = credential["clientId"]!.GetValue<Guid>();
            (await ada.Client.PostJson("/grants", new { resourceId = workspace, grantee = new { type = "server", id = clientId }, role = principal.Role }))
                .EnsureSuccessStatusCode();
            var token = await Fixture.Anonymous().PostForm("/auth/token", ("grant_type", "client_credentials"),
                ("client_id", clientId.ToString()), ("client_secret", credential["clientSecret"]!.GetValue<string>()));
            return Fixture.Host.NewClient((await token.Json())["access_token"]!.GetValue<string>());
        }
        var user = await Fixture.NewUserAsync();
        if (principal.Role is { } role) (await ada.GrantAsync(workspace, user.Id, role: role)).EnsureSuccessStatusCode();
        if (principal.DeniedRead) (await ada.GrantAsync(workspace, user.Id, permissions: ["read"], effect: "deny")).EnsureSuccessStatusCode();
        return user.Client;
    }

    [Theory]
    [InlineData("viewer"), InlineData("editor"), InlineData("collaborator")]
    public async Task committing_also_needs_add_on_the_target_collection(string role)
    {
        var ada = await Fixture.NewUserAsync();
        var workspace = await ada.WorkspaceAsync(targets: [await ada.CollectionAsync()]);
        await ada.ArtifactAsync(workspace);
        var bob = await Fixture.NewUserAsync();
        await ada.GrantAsync(workspace, bob.Id, role: role);
        var before = await Fixture.EventCountAsync();

        var response = await bob.CommitAsync(workspace, "publish");

        response.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await Fixture.EventCountAsync()).ShouldBe(before);
        (await ada.CommitAsync(workspace, "publish")).StatusCode.ShouldBe(HttpStatusCode.Created);
    }
}
