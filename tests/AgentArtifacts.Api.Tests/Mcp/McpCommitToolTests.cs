using System.Net;
using AgentArtifacts.Api.Tests.ApiKeys;
using AgentArtifacts.Api.Tests.Infrastructure;
using ModelContextProtocol.Client;
using Shouldly;
using Xunit;
using static AgentArtifacts.Api.Tests.Mcp.McpRunToolTests;

namespace AgentArtifacts.Api.Tests.Mcp;

/// <summary>The <c>commit_preview</c> and <c>commit</c> tools of <c>/mcp</c>: the REST preview and commit, with their refusals.</summary>
public sealed class McpCommitToolTests(ApiFixture fixture) : ApiTest(fixture)
{
    private async Task<(TestUser Ada, Guid Collection, Guid Workspace, Guid Draft)> DraftAsync()
    {
        var ada = await Fixture.NewUserAsync();
        var collection = await ada.CollectionAsync("Docs");
        var workspace = await ada.WorkspaceAsync(targets: [collection]);
        var draft = (await ada.ArtifactAsync(workspace, "Notes"))["id"]!.GetValue<Guid>();
        return (ada, collection, workspace, draft);
    }

    [Fact]
    public async Task preview_then_commit_with_its_token_makes_the_commit_rest_lists()
    {
        var (ada, collection, workspace, draft) = await DraftAsync();
        await using var client = await Fixture.Host.ClientAsync(ada.AccessToken);

        var preview = await client.CallToolAsync("commit_preview", Args(("workspaceId", workspace)));

        preview.IsError.ShouldNotBe(true, Text(preview));
        var plan = preview.StructuredContent!.Value;
        var item = plan.GetProperty("items").EnumerateArray().Single();
        (item.GetProperty("artifactId").GetGuid(), item.GetProperty("kind").GetString(), item.GetProperty("nextRevision").GetInt32())
            .ShouldBe((draft, "added", 1));
        var token = plan.GetProperty("commitToken").GetString();

        var committed = await client.CallToolAsync("commit", Args(("workspaceId", workspace), ("message", "First cut"), ("commitToken", token)));

        committed.IsError.ShouldNotBe(true, Text(committed));
        var tools = (await client.ListToolsAsync()).ToDictionary(t => t.Name, t => t.ProtocolTool);
        McpOutputSchema.ShouldMatchOutputSchema(tools["commit_preview"], plan);
        McpOutputSchema.ShouldMatchOutputSchema(tools["commit"], committed.StructuredContent!.Value);
        var commitId = committed.StructuredContent!.Value.GetProperty("id").GetGuid();
        committed.StructuredContent!.Value.GetProperty("authorId").GetGuid().ShouldBe(ada.Id);
        await Fixture.WaitForProjectionsAsync();
        var history = (await (await ada.Client.GetAsync($"/collections/{collection}/commits")).Json())["items"]!.AsArray();
        history.Single()!["id"]!.GetValue<Guid>().ShouldBe(commitId);
        history.Single()!["message"]!.GetValue<string>().ShouldBe("First cut");
        (await (await ada.Client.GetAsync($"/artifacts/{draft}")).Json())["revision"]!.GetValue<int>().ShouldBe(1);

        // The same token again: the drafts it pinned have moved on, so nothing is committed twice.
        var before = await Fixture.EventCountAsync();
        var again = await client.CallToolAsync("commit", Args(("workspaceId", workspace), ("message", "First cut"), ("commitToken", token)));
        again.IsError.ShouldBe(true);
        Text(again).ShouldStartWith("commit_conflict:");
        (await Fixture.EventCountAsync()).ShouldBe(before);
    }

    [Fact]
    public async Task a_commit_token_made_stale_by_an_edit_is_a_conflict_and_commits_nothing()
    {
        var (ada, _, workspace, draft) = await DraftAsync();
        await using var client = await Fixture.Host.ClientAsync(ada.AccessToken);
        var token = (await client.CallToolAsync("commit_preview", Args(("workspaceId", workspace), ("artifactIds", new[] { draft }))))
            .StructuredContent!.Value.GetProperty("commitToken").GetString();
        (await ada.Client.MergePatch($"/artifacts/{draft}", new { title = "Notes, edited" })).StatusCode.ShouldBe(HttpStatusCode.OK);
        var before = await Fixture.EventCountAsync();

        var result = await client.CallToolAsync("commit", Args(("workspaceId", workspace), ("message", "Stale"), ("commitToken", token)));

        result.IsError.ShouldBe(true);
        result.StructuredContent.ShouldBeNull();
        Text(result).ShouldStartWith("commit_conflict:");
        Text(result).ShouldContain("changed_since_preview");
        (await Fixture.EventCountAsync()).ShouldBe(before);
        (await (await ada.Client.GetAsync($"/artifacts/{draft}")).Json())["state"]!.GetValue<string>().ShouldBe("draft");
    }

    [Fact]
    public async Task a_blank_message_is_validation_failed_and_commits_nothing()
    {
        var (ada, _, workspace, _) = await DraftAsync();
        await using var client = await Fixture.Host.ClientAsync(ada.AccessToken);
        var before = await Fixture.EventCountAsync();

        var result = await client.CallToolAsync("commit", Args(("workspaceId", workspace), ("message", "  ")));

        result.IsError.ShouldBe(true);
        Text(result).ShouldStartWith("validation_failed:");
        (await Fixture.EventCountAsync()).ShouldBe(before);
    }

    [Fact]
    public async Task a_viewer_of_the_workspace_may_preview_but_not_commit()
    {
        var (ada, _, workspace, _) = await DraftAsync();
        var bob = await Fixture.NewUserAsync();
        (await ada.GrantAsync(workspace, bob.Id, role: "viewer")).StatusCode.ShouldBe(HttpStatusCode.Created);
        await using var client = await Fixture.Host.ClientAsync(bob.AccessToken);
        var before = await Fixture.EventCountAsync();

        var result = await client.CallToolAsync("commit", Args(("workspaceId", workspace), ("message", "Not mine")));

        result.IsError.ShouldBe(true);
        Text(result).ShouldStartWith("permission_denied:");
        (await Fixture.EventCountAsync()).ShouldBe(before);
    }

    [Fact]
    public async Task a_read_only_key_sees_commit_preview_but_not_commit_and_a_commit_call_is_insufficient_scope()
    {
        var (ada, _, workspace, _) = await DraftAsync();
        var reader = await ada.KeyAsync("resource:*/*:read");
        await using var client = await Fixture.Host.ClientAsync(reader.Secret);
        var before = await Fixture.EventCountAsync();

        var names = (await client.ListToolsAsync()).Select(t => t.Name).ToList();
        var result = await client.CallToolAsync("commit", Args(("workspaceId", workspace), ("message", "Nope")));

        names.ShouldContain("commit_preview");
        names.ShouldNotContain("commit");
        result.IsError.ShouldBe(true);
        Text(result).ShouldStartWith("insufficient_scope:");
        (await Fixture.EventCountAsync()).ShouldBe(before);
    }

    [Fact]
    public async Task the_commit_tools_advertise_honest_hints()
    {
        var ada = await Fixture.NewUserAsync();
        await using var client = await Fixture.Host.ClientAsync(ada.AccessToken);

        var tools = (await client.ListToolsAsync()).ToDictionary(t => t.Name, t => t.ProtocolTool.Annotations!);

        (tools["commit_preview"].ReadOnlyHint, tools["commit_preview"].IdempotentHint).ShouldBe((true, true));
        (tools["commit"].ReadOnlyHint, tools["commit"].DestructiveHint, tools["commit"].IdempotentHint).ShouldBe((false, false, false));
    }
}
