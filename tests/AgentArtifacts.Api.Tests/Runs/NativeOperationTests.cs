using System.Net;
using AgentArtifacts.Api.Tests.Infrastructure;
using Shouldly;
using Xunit;

namespace AgentArtifacts.Api.Tests.Runs;

/// <summary>The workspace's commit op is the same command as POST /workspaces/{id}/commit, run as a Run.</summary>
public sealed class NativeOperationTests(ApiFixture fixture) : ApiTest(fixture)
{
    [Fact]
    public async Task the_commit_op_commits_the_workspace_and_the_run_holds_the_commit()
    {
        var ada = await Fixture.NewUserAsync();
        var workspace = await ada.WorkspaceAsync(targets: [await ada.CollectionAsync()]);
        var draft = (await ada.ArtifactAsync(workspace))["id"]!.GetValue<Guid>();

        var response = await ada.Client.PostJson($"/artifacts/{workspace}/op/commit", new { input = new { message = "via the op" } });

        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        var run = await response.Json();
        (run["status"]!.GetValue<string>(), run["kind"]!.GetValue<string>()).ShouldBe(("completed", "native"));
        run["output"]!["message"]!.GetValue<string>().ShouldBe("via the op");
        run["output"]!["items"]![0]!["artifactId"]!.GetValue<Guid>().ShouldBe(draft);
        (await (await ada.Client.GetAsync($"/artifacts/{draft}")).Json())["revision"]!.GetValue<int>().ShouldBe(1);
    }

    [Fact]
    public async Task a_commit_op_with_nothing_to_commit_or_no_message_fails_its_run_and_commits_nothing()
    {
        var ada = await Fixture.NewUserAsync();
        var workspace = await ada.WorkspaceAsync();

        var empty = await (await ada.Client.PostJson($"/artifacts/{workspace}/op/commit", new { input = new { message = "nothing" } })).Json();
        var unnamed = await (await ada.Client.PostJson($"/artifacts/{workspace}/op/commit", new { input = new { } })).Json();

        (empty["status"]!.GetValue<string>(), empty["error"]!["code"]!.GetValue<string>()).ShouldBe(("failed", "nothing_to_commit"));
        (unnamed["status"]!.GetValue<string>(), unnamed["error"]!["code"]!.GetValue<string>()).ShouldBe(("failed", "validation_failed"));
        (await Fixture.SqlScalarAsync<long>("select count(*) from agentartifacts.mt_streams where type = 'commit'")).ShouldBe(0);
    }

    [Fact]
    public async Task the_preview_and_revert_ops_run_the_routes_own_preview_and_revert()
    {
        var ada = await Fixture.NewUserAsync();
        var workspace = await ada.WorkspaceAsync();
        var draft = (await ada.ArtifactAsync(workspace, "Draft"))["id"]!.GetValue<Guid>();
        var before = await Fixture.EventCountAsync();

        var preview = await (await ada.Client.PostJson($"/artifacts/{workspace}/op/commit_preview", new { })).Json();

        preview["status"]!.GetValue<string>().ShouldBe("completed");
        preview["output"]!["items"]![0]!["draftId"]!.GetValue<Guid>().ShouldBe(draft);
        preview["output"]!["commitToken"]!.GetValue<string>().ShouldNotBeNullOrEmpty();
        (await Fixture.EventCountAsync()).ShouldBe(before + 3);  // the run's own three events, nothing else

        var revert = await (await ada.Client.PostJson($"/artifacts/{workspace}/op/revert", new { input = new { artifactIds = new[] { draft } } })).Json();
        revert["status"]!.GetValue<string>().ShouldBe("completed");
        (await (await ada.Client.GetAsync($"/artifacts/{draft}")).Json())["state"]!.GetValue<string>().ShouldBe("archived");
        var history = (await (await ada.Client.GetAsync($"/artifacts/{draft}/history")).Json())["items"]!.AsArray();
        history.Last()!["actor"]!.GetValue<Guid>().ShouldBe(ada.Id);
        var bad = await (await ada.Client.PostJson($"/artifacts/{workspace}/op/revert", new { input = new { } })).Json();
        bad["error"]!["code"]!.GetValue<string>().ShouldBe("validation_failed");
    }
}
