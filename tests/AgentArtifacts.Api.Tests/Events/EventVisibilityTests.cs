using System.Net;
using System.Text.RegularExpressions;
using AgentArtifacts.Api.ApiKeys;
using AgentArtifacts.Api.Events;
using AgentArtifacts.Api.Infrastructure;
using AgentArtifacts.Api.Tests.ApiKeys;
using AgentArtifacts.Api.Tests.Infrastructure;
using Marten;
using Shouldly;
using Xunit;

namespace AgentArtifacts.Api.Tests.Events;

/// <summary>The mapping over the real log (metadata recorded by real requests) and the one visibility decision, through the host.</summary>
public sealed class EventVisibilityTests(ApiFixture fixture) : ApiTest(fixture)
{
    private async Task<IReadOnlyList<PublicEvent>> AllAsync()
    {
        await using var session = Fixture.Host.Store.QuerySession();
        var events = await session.Events.QueryAllRawEvents().OrderBy(e => e.Sequence).ToListAsync();
        return await session.ReadAsync(events, CancellationToken.None);
    }

    private async Task<IReadOnlyList<PublicEvent>> VisibleToAsync(Caller caller)
    {
        await using var session = Fixture.Host.Store.QuerySession();
        return await session.VisibleAsync(caller, await AllAsync(), CancellationToken.None);
    }

    private static Caller UserCaller(TestUser user) => new(user.Id, Caller.User, false);

    [Fact]
    public async Task a_write_with_an_api_key_records_the_key_its_owner_and_the_requests_trace_id()
    {
        var ada = await Fixture.NewUserAsync();
        var workspace = await ada.WorkspaceAsync();
        var key = await ada.Client.KeyAsync(["resource:*/*:create", "resource:*/*:read", "resource:*/*:write"]);
        using var client = Fixture.Host.NewClient(key.Secret);
        var created = await client.PostJson("/artifacts", new { containerId = workspace, contentType = "text/markdown", title = "By key" });
        created.StatusCode.ShouldBe(HttpStatusCode.Created, await created.Content.ReadAsStringAsync());
        var artifact = (await created.Json())["id"]!.GetValue<Guid>();

        var events = await AllAsync();
        var byKey = events.Single(e => e.Type == "artifact.created" && e.ResourceId == artifact);
        byKey.Actor.ShouldBe(new EventActor("api_key", ada.Id, key.Id, null));
        (byKey.ContainerId, byKey.ContentType).ShouldBe((workspace, "text/markdown"));
        byKey.TraceId.ShouldNotBeNull();
        Regex.IsMatch(byKey.TraceId, "^[0-9a-f]{32}$").ShouldBeTrue(byKey.TraceId);

        var bySelf = events.Single(e => e.Type == "artifact.created" && e.ResourceId == workspace);
        (bySelf.Actor, bySelf.ContainerId).ShouldBe((new EventActor("user", ada.Id, null, null), workspace));
        events.Single(e => e.Type == "api_key.issued").ResourceId.ShouldBe(key.Id);
        events.Select(e => e.Sequence).ShouldBeInOrder(SortDirection.Ascending);
    }

    [Fact]
    public async Task another_users_events_are_invisible_until_a_grant_and_again_after_its_revocation()
    {
        var (ada, bob) = (await Fixture.NewUserAsync(), await Fixture.NewUserAsync());
        var workspace = await ada.WorkspaceAsync();
        var artifact = (await ada.ArtifactAsync(workspace))["id"]!.GetValue<Guid>();
        (await ada.Client.MergePatch($"/artifacts/{artifact}", new { title = "Renamed" })).StatusCode.ShouldBe(HttpStatusCode.OK);

        var adas = await VisibleToAsync(UserCaller(ada));
        adas.Select(e => e.Type).ShouldContain("artifact.updated");
        adas.Where(e => e.ResourceId == artifact).Count().ShouldBe(2);
        (await VisibleToAsync(UserCaller(bob))).ShouldBeEmpty();

        var grant = await ada.GrantAsync(workspace, bob.Id, role: "viewer");
        grant.StatusCode.ShouldBe(HttpStatusCode.Created);
        var grantId = (await grant.Json())["id"]!.GetValue<Guid>();
        var bobs = await VisibleToAsync(UserCaller(bob));
        bobs.Where(e => e.ResourceType == "artifact").Select(e => e.ResourceId).Distinct().Order().ShouldBe(new[] { workspace, artifact }.Order());
        bobs.Where(e => e.ResourceType == "grant").Select(e => e.ResourceId).ShouldBe([grantId]);  // his own grant, not ada's owner grant

        (await ada.Client.DeleteAsync($"/grants/{grantId}")).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        var after = await VisibleToAsync(UserCaller(bob));
        after.Where(e => e.ResourceType == "artifact").ShouldBeEmpty();
        after.Select(e => e.Type).ShouldBe(["grant.issued", "grant.revoked"]);  // the grantee still sees what happened to his grant
    }

    [Fact]
    public async Task a_key_sees_only_the_artifacts_its_scopes_allow_and_never_another_users_key_or_platform_events()
    {
        var ada = await Fixture.NewUserAsync();  // the first user: a platform admin
        var bob = await Fixture.NewUserAsync();
        var workspace = await bob.WorkspaceAsync();
        var text = (await bob.ArtifactAsync(workspace, contentType: "text/plain"))["id"]!.GetValue<Guid>();
        var markdown = (await bob.ArtifactAsync(workspace, contentType: "text/markdown"))["id"]!.GetValue<Guid>();
        var key = await bob.Client.KeyAsync(["resource:text/plain:read"]);
        await ada.Client.KeyAsync(["resource:*/*:read"]);
        (await ada.Client.MergePatch("/platform/settings", new { tokenPermitLimit = 50 })).StatusCode.ShouldBe(HttpStatusCode.OK);

        var byKey = await VisibleToAsync(new Caller(bob.Id, Caller.ApiKey, false)
        {
            ApiKeyId = key.Id, Scopes = ApiKeyScopes.ParseStored(["resource:text/plain:read"]),
        });
        byKey.Where(e => e.ResourceType == "artifact").Select(e => e.ResourceId).ShouldContain(text);
        byKey.Select(e => e.ResourceId).ShouldNotContain(markdown);
        byKey.Where(e => e.ResourceType == "api_key").Select(e => e.ResourceId).ShouldBe([key.Id]);

        var admin = await VisibleToAsync(new Caller(ada.Id, Caller.User, true));
        admin.Select(e => e.Type).ShouldContain("platform.settings_changed");
        admin.Select(e => e.ResourceId).ShouldNotContain(text);
        (await VisibleToAsync(UserCaller(bob))).Select(e => e.Type).ShouldNotContain("platform.settings_changed");
    }

    [Fact]
    public async Task a_batch_of_only_later_run_and_grant_events_looks_up_their_artifact_and_resource()
    {
        var ada = await Fixture.NewUserAsync();
        var workspace = await ada.WorkspaceAsync();
        var grant = (await (await ada.GrantAsync(workspace, (await Fixture.NewUserAsync()).Id, role: "viewer")).Json())["id"]!.GetValue<Guid>();
        (await ada.Client.DeleteAsync($"/grants/{grant}")).StatusCode.ShouldBe(HttpStatusCode.NoContent);

        await using var session = Fixture.Host.Store.QuerySession();
        var revoked = await session.Events.QueryAllRawEvents().Where(e => e.StreamId == grant).OrderBy(e => e.Sequence).ToListAsync();
        var mapped = await session.ReadAsync([revoked[^1]], CancellationToken.None);
        (mapped.Single().Type, mapped.Single().ContainerId).ShouldBe(("grant.revoked", workspace));
    }
}
