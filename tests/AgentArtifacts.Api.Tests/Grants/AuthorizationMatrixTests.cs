using System.Net;
using AgentArtifacts.Api.Grants;
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
    public sealed record Route(string Name, HttpMethod Method, string Path, string? Body, Permission Needs, HttpStatusCode Success,
        bool PublishesToCollection = false);

    private static readonly Route[] Routes =
    [
        new("get workspace", HttpMethod.Get, "/workspaces/{W}", null, Permission.Read, HttpStatusCode.OK),
        new("rename workspace", HttpMethod.Patch, "/workspaces/{W}", """{"title":"Renamed"}""", Permission.Update, HttpStatusCode.OK),
        new("archive workspace", HttpMethod.Delete, "/workspaces/{W}", null, Permission.Delete, HttpStatusCode.NoContent),
        new("list workspace", HttpMethod.Get, "/workspaces/{W}/artifacts", null, Permission.Read, HttpStatusCode.OK),
        new("create artifact", HttpMethod.Post, "/artifacts", """{"containerId":"{W}","contentType":"text/plain","title":"New"}""", Permission.Create, HttpStatusCode.Created),
        new("get artifact", HttpMethod.Get, "/artifacts/{A}", null, Permission.Read, HttpStatusCode.OK),
        new("get revision", HttpMethod.Get, "/artifacts/{A}?revision=1", null, Permission.Read, HttpStatusCode.OK),
        new("patch artifact", HttpMethod.Patch, "/artifacts/{A}", """{"title":"Changed"}""", Permission.Update, HttpStatusCode.OK),
        new("archive artifact", HttpMethod.Delete, "/artifacts/{A}", null, Permission.Delete, HttpStatusCode.NoContent),
        new("restore artifact", HttpMethod.Post, "/artifacts/{A}/restore", "{}", Permission.Delete, HttpStatusCode.Conflict),
        new("history", HttpMethod.Get, "/artifacts/{A}/history", null, Permission.Read, HttpStatusCode.OK),
        new("revisions", HttpMethod.Get, "/artifacts/{A}/revisions", null, Permission.Read, HttpStatusCode.OK),
        new("diff", HttpMethod.Get, "/artifacts/{A}/diff", null, Permission.Read, HttpStatusCode.OK),
        new("commit preview", HttpMethod.Post, "/workspaces/{W}/commit-preview", "{}", Permission.Update, HttpStatusCode.OK, PublishesToCollection: true),
        new("commit", HttpMethod.Post, "/workspaces/{W}/commit", """{"message":"m"}""", Permission.Update, HttpStatusCode.Created, PublishesToCollection: true),
        new("revert", HttpMethod.Post, "/workspaces/{W}/revert", """{"artifactIds":["{A}"]}""", Permission.Update, HttpStatusCode.OK),
        new("list grants", HttpMethod.Get, "/grants?resourceId={W}", null, Permission.Share, HttpStatusCode.OK),
        new("check", HttpMethod.Get, "/grants/check?resourceId={W}&permission=update", null, Permission.Read, HttpStatusCode.OK),
    ];

    /// <summary>Who calls: what they hold on the workspace (null: nothing at all).</summary>
    private static readonly (string Name, string? Role, bool DeniedRead)[] Principals =
    [
        ("owner", null, false), ("viewer", "viewer", false), ("editor", "editor", false), ("collaborator", "collaborator", false),
        ("editor denied read", "editor", true), ("stranger", null, false),
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

        var caller = principal.Name == "owner" ? ada : await Fixture.NewUserAsync();
        if (principal.Role is { } role) (await ada.GrantAsync(workspace, caller.Id, role: role)).EnsureSuccessStatusCode();
        if (principal.DeniedRead) (await ada.GrantAsync(workspace, caller.Id, permissions: ["read"], effect: "deny")).EnsureSuccessStatusCode();
        var held = principal switch
        {
            { Name: "owner" } => Access.All,
            { DeniedRead: true } or { Role: null } => Permission.None,
            { Role: { } r } => Access.Roles[r],
        };
        var expected = !held.HasFlag(Permission.Read) ? HttpStatusCode.NotFound
            : !Access.Covers(held, route.Needs) ? HttpStatusCode.Forbidden
            // Only the owner holds add on the workspace's target collection; previewing or committing a publication needs it.
            : route.PublishesToCollection && principal.Name != "owner" ? HttpStatusCode.Forbidden
            : route.Success;
        var before = await Fixture.EventCountAsync();

        var path = route.Path.Replace("{W}", workspace.ToString()).Replace("{A}", artifact.ToString());
        var request = new HttpRequestMessage(route.Method, path);
        if (route.Body is { } body)
        {
            request.Content = new StringContent(body.Replace("{W}", workspace.ToString()).Replace("{A}", artifact.ToString()), System.Text.Encoding.UTF8,
                route.Method == HttpMethod.Patch && route.Path.StartsWith("/artifacts", StringComparison.Ordinal) ? "application/merge-patch+json" : "application/json");
        }
        var response = await caller.Client.SendAsync(request);

        response.StatusCode.ShouldBe(expected, $"{principal.Name} → {route.Method} {route.Path}: {await response.Content.ReadAsStringAsync()}");
        if ((int)expected >= 400) (await Fixture.EventCountAsync()).ShouldBe(before);
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
