using System.Net;
using System.Text.Json.Nodes;
using AgentArtifacts.Api.Tests.Infrastructure;
using Shouldly;
using Xunit;

namespace AgentArtifacts.Api.Tests.Runs;

/// <summary><c>revision</c> on invoke: a committed revision runs as committed, whoever may invoke it there, and the run records it.</summary>
public sealed class InvokeRevisionTests(ApiFixture fixture) : ApiTest(fixture), IAsyncLifetime
{
    private HttpPeer _peer = null!;

    async Task IAsyncLifetime.InitializeAsync()
    {
        await Fixture.ResetAsync();
        _peer = await HttpPeer.StartAsync();
    }

    async Task IAsyncLifetime.DisposeAsync() => await _peer.DisposeAsync();

    /// <summary>Ada's tool, committed into her collection as revision 1 (endpoint /echo), then edited to a draft whose endpoint fails.</summary>
    private async Task<(TestUser Ada, Guid Collection, Guid Tool)> CommittedToolWithFailingDraftAsync()
    {
        var ada = await Fixture.NewUserAsync();
        var collection = await ada.CollectionAsync();
        var workspace = await ada.WorkspaceAsync(targets: [collection]);
        var tool = (await ada.ArtifactAsync(workspace, "Echo", "application/vnd.agience.http-tool+json", content: null,
            context: new { endpoint = new { url = _peer.Url("/echo").ToString() } }))["id"]!.GetValue<Guid>();
        (await ada.CommitAsync(workspace, "Publish")).StatusCode.ShouldBe(HttpStatusCode.Created);
        (await ada.Client.MergePatch($"/artifacts/{tool}", new { context = new { endpoint = new { url = _peer.Url("/status/422").ToString() } } }))
            .StatusCode.ShouldBe(HttpStatusCode.OK);
        return (ada, collection, tool);
    }

    private static Task<HttpResponseMessage> InvokeAsync(HttpClient client, Guid tool, int? revision, string mode = "sync") =>
        client.PostJson($"/artifacts/{tool}/invoke", new { input = new { n = 1 }, mode, revision });

    [Fact]
    public async Task a_pinned_revision_runs_as_committed_while_the_head_runs_the_draft()
    {
        var (ada, _, tool) = await CommittedToolWithFailingDraftAsync();

        var pinned = await (await InvokeAsync(ada.Client, tool, 1)).Json();
        var queued = await InvokeAsync(ada.Client, tool, 1, "async");
        var head = await (await InvokeAsync(ada.Client, tool, null)).Json();

        (pinned["status"]!.GetValue<string>(), pinned["revision"]!.GetValue<int>()).ShouldBe(("completed", 1));
        pinned["output"]!["echo"]!["n"]!.GetValue<int>().ShouldBe(1);
        queued.StatusCode.ShouldBe(HttpStatusCode.Accepted);
        var done = await ada.Client.WaitForRunAsync((await queued.Json())["id"]!.GetValue<Guid>(), "completed");
        done["revision"]!.GetValue<int>().ShouldBe(1);
        (head["status"]!.GetValue<string>(), head["revision"]).ShouldBe(("failed", (JsonNode?)null));
    }

    [Fact]
    public async Task a_collection_member_with_invoke_runs_the_revision_published_there_but_not_the_head()
    {
        var (ada, collection, tool) = await CommittedToolWithFailingDraftAsync();
        var bob = await Fixture.NewUserAsync();
        (await ada.GrantAsync(collection, bob.Id, role: "collaborator")).StatusCode.ShouldBe(HttpStatusCode.Created);

        var pinned = await InvokeAsync(bob.Client, tool, 1);
        var head = await InvokeAsync(bob.Client, tool, null);

        pinned.StatusCode.ShouldBe(HttpStatusCode.OK, await pinned.Content.ReadAsStringAsync());
        (await pinned.Json())["callerId"]!.GetValue<Guid>().ShouldBe(bob.Id);
        head.StatusCode.ShouldBe(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task refusals_record_nothing_a_missing_revision_a_viewer_without_invoke_a_stranger_and_revision_zero()
    {
        var (ada, collection, tool) = await CommittedToolWithFailingDraftAsync();
        var (viewer, stranger) = (await Fixture.NewUserAsync(), await Fixture.NewUserAsync());
        (await ada.GrantAsync(collection, viewer.Id, role: "viewer")).StatusCode.ShouldBe(HttpStatusCode.Created);
        var before = await Fixture.EventCountAsync();

        (await (await InvokeAsync(ada.Client, tool, 2)).ProblemCode()).ShouldBe("revision_not_found");
        (await (await InvokeAsync(viewer.Client, tool, 1)).ProblemCode()).ShouldBe("permission_denied");
        var hidden = await InvokeAsync(stranger.Client, tool, 1);
        hidden.StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await hidden.ProblemCode()).ShouldBe("not_found");
        (await InvokeAsync(ada.Client, tool, 0)).StatusCode.ShouldBe(HttpStatusCode.BadRequest);

        (await Fixture.EventCountAsync()).ShouldBe(before);
        _peer.Calls.ShouldBe(0);
    }
}
