using System.Net;
using System.Text.Json.Nodes;
using AgentArtifacts.Api.Tests.Infrastructure;
using Shouldly;
using Xunit;

namespace AgentArtifacts.Api.Tests.Commits;

public sealed class PreviewCommitTests(ApiFixture fixture) : ApiTest(fixture)
{
    [Fact]
    public async Task the_preview_plans_each_change_and_writes_nothing()
    {
        var ada = await Fixture.NewUserAsync();
        var docs = await ada.CollectionAsync();
        var workspace = await ada.WorkspaceAsync(targets: [docs]);
        var edited = Id(await ada.ArtifactAsync(workspace, "Edited", content: "a\nb\n"));
        var archived = Id(await ada.ArtifactAsync(workspace, "Archived"));
        await ada.CommitAsync(workspace, "base");
        await ada.Client.MergePatch($"/artifacts/{edited}", new { content = "a\nb\nc\nd\n" });
        await ada.Client.DeleteAsync($"/artifacts/{archived}");
        var added = Id(await ada.ArtifactAsync(workspace, "Added", content: "x\n"));
        var before = await Fixture.EventCountAsync();

        var response = await ada.Client.PostJson($"/workspaces/{workspace}/commit-preview", new { });

        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        var preview = await response.Json();
        var items = preview["items"]!.AsArray().ToDictionary(i => i!["artifactId"]!.GetValue<Guid>());
        items[edited]!["kind"]!.GetValue<string>().ShouldBe("modified");
        (items[edited]!["baseRevision"]!.GetValue<int>(), items[edited]!["nextRevision"]!.GetValue<int>()).ShouldBe((1, 2));
        items[edited]!["changedFields"]!.AsArray().Select(f => f!.GetValue<string>()).ShouldBe(["content"]);
        (items[edited]!["linesAdded"]!.GetValue<int>(), items[edited]!["linesRemoved"]!.GetValue<int>()).ShouldBe((2, 0));
        items[archived]!["kind"]!.GetValue<string>().ShouldBe("archived");
        items[added]!["kind"]!.GetValue<string>().ShouldBe("added");
        (items[added]!["baseRevision"]!.GetValue<int>(), items[added]!["nextRevision"]!.GetValue<int>()).ShouldBe((0, 1));
        preview["targetCollectionIds"]!.AsArray().Single()!.GetValue<Guid>().ShouldBe(docs);
        preview["conflicts"]!.AsArray().ShouldBeEmpty();
        preview["commitToken"]!.GetValue<string>().ShouldNotBeNullOrEmpty();
        (await Fixture.EventCountAsync()).ShouldBe(before);

        var commit = await ada.CommitAsync(workspace, "with token", token: preview["commitToken"]!.GetValue<string>());
        commit.StatusCode.ShouldBe(HttpStatusCode.Created);
        await Fixture.WaitForProjectionsAsync();
        var listed = (await (await ada.Client.GetAsync($"/collections/{docs}/artifacts")).Json())["items"]!.AsArray()
            .ToDictionary(i => i!["id"]!.GetValue<Guid>(), i => i!["state"]!.GetValue<string>());
        listed.ShouldBe(new Dictionary<Guid, string> { [edited] = "committed", [archived] = "archived", [added] = "committed" });
    }

    [Fact]
    public async Task previews_of_unknown_empty_or_someone_elses_workspaces_and_of_non_drafts_are_refused_and_write_nothing()
    {
        var ada = await Fixture.NewUserAsync();
        var bob = await Fixture.NewUserAsync();
        var workspace = await ada.WorkspaceAsync();
        var empty = await ada.WorkspaceAsync("Empty");
        await ada.ArtifactAsync(workspace);
        var before = await Fixture.EventCountAsync();

        (await bob.Client.PostJson($"/workspaces/{workspace}/commit-preview", new { })).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await ada.Client.PostJson($"/workspaces/{Guid.NewGuid()}/commit-preview", new { })).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await (await ada.Client.PostJson($"/workspaces/{empty}/commit-preview", new { })).ProblemCode()).ShouldBe("nothing_to_commit");
        (await (await ada.Client.PostJson($"/workspaces/{workspace}/commit-preview", new { artifactIds = new[] { Guid.NewGuid() } })).ProblemCode())
            .ShouldBe("not_a_draft");
        (await (await ada.Client.PostJson($"/workspaces/{workspace}/commit-preview", new { artifactIds = Array.Empty<Guid>() })).ProblemCode())
            .ShouldBe("validation_failed");
        (await (await ada.Client.PostJson($"/workspaces/{workspace}/commit-preview", new { artifactIds = 7 })).ProblemCode()).ShouldBe("invalid_json");
        (await Fixture.EventCountAsync()).ShouldBe(before);
    }

    private static Guid Id(JsonObject artifact) => artifact["id"]!.GetValue<Guid>();
}
