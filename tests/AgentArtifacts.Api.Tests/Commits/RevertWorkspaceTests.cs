using System.Net;
using System.Text.Json.Nodes;
using AgentArtifacts.Api.Tests.Infrastructure;
using Shouldly;
using Xunit;

namespace AgentArtifacts.Api.Tests.Commits;

public sealed class RevertWorkspaceTests(ApiFixture fixture) : ApiTest(fixture)
{
    [Fact]
    public async Task revert_discards_drafts_back_to_their_revision_and_archives_never_committed_ones()
    {
        var ada = await Fixture.NewUserAsync();
        var workspace = await ada.WorkspaceAsync(targets: [await ada.CollectionAsync()]);
        var committed = Id(await ada.ArtifactAsync(workspace, "Committed", content: "kept\n"));
        await ada.CommitAsync(workspace, "base");
        await ada.Client.MergePatch($"/artifacts/{committed}", new { title = "Scratch", content = "discarded\n" });
        var fresh = Id(await ada.ArtifactAsync(workspace, "Fresh"));

        var response = await ada.Client.PostJson($"/workspaces/{workspace}/revert", new { artifactIds = new[] { committed, fresh } });

        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        var reverted = (await (await ada.Client.GetAsync($"/artifacts/{committed}")).Json());
        (reverted["title"]!.GetValue<string>(), reverted["content"]!.GetValue<string>(), reverted["state"]!.GetValue<string>())
            .ShouldBe(("Committed", "kept\n", "committed"));
        (await (await ada.Client.GetAsync($"/artifacts/{fresh}")).Json())["state"]!.GetValue<string>().ShouldBe("archived");
        (await (await ada.CommitAsync(workspace, "nothing left")).ProblemCode()).ShouldBe("nothing_to_commit");

        var before = await Fixture.EventCountAsync();
        var again = await ada.Client.PostJson($"/workspaces/{workspace}/revert", new { artifactIds = new[] { committed } });
        (await again.ProblemCode()).ShouldBe("not_a_draft");
        (await Fixture.EventCountAsync()).ShouldBe(before);
    }

    [Fact]
    public async Task reverting_an_uncommitted_archive_brings_back_the_committed_artifact()
    {
        var ada = await Fixture.NewUserAsync();
        var workspace = await ada.WorkspaceAsync();
        var id = Id(await ada.ArtifactAsync(workspace, "Keep me"));
        await ada.CommitAsync(workspace, "base");
        await ada.Client.DeleteAsync($"/artifacts/{id}");

        var response = await ada.Client.PostJson($"/workspaces/{workspace}/revert", new { artifactIds = new[] { id } });

        var item = (await response.Json())["items"]!.AsArray().Single()!;
        (item["state"]!.GetValue<string>(), item["title"]!.GetValue<string>(), item["revision"]!.GetValue<int>()).ShouldBe(("committed", "Keep me", 1));
    }

    [Fact]
    public async Task reverts_of_someone_elses_workspace_or_without_ids_are_refused_and_change_nothing()
    {
        var ada = await Fixture.NewUserAsync();
        var bob = await Fixture.NewUserAsync();
        var workspace = await ada.WorkspaceAsync();
        var id = Id(await ada.ArtifactAsync(workspace));
        var before = await Fixture.EventCountAsync();

        (await bob.Client.PostJson($"/workspaces/{workspace}/revert", new { artifactIds = new[] { id } })).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await (await ada.Client.PostJson($"/workspaces/{workspace}/revert", new { })).ProblemCode()).ShouldBe("validation_failed");
        (await (await ada.Client.PostJson($"/workspaces/{workspace}/revert", new { artifactIds = Array.Empty<Guid>() })).ProblemCode()).ShouldBe("validation_failed");
        (await Fixture.EventCountAsync()).ShouldBe(before);
    }

    private static Guid Id(JsonObject artifact) => artifact["id"]!.GetValue<Guid>();
}
