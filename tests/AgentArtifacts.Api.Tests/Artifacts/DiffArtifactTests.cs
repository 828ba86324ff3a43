using System.Net;
using System.Text.Json.Nodes;
using AgentArtifacts.Api.Tests.Infrastructure;
using Shouldly;
using Xunit;

namespace AgentArtifacts.Api.Tests.Artifacts;

public sealed class DiffArtifactTests(ApiFixture fixture) : ApiTest(fixture)
{
    [Fact]
    public async Task by_default_the_diff_shows_what_the_next_commit_would_publish()
    {
        var ada = await Fixture.NewUserAsync();
        var workspace = await ada.WorkspaceAsync();
        var id = Id(await ada.ArtifactAsync(workspace, "Draft", content: "a\n"));

        var fresh = await (await ada.Client.GetAsync($"/artifacts/{id}/diff")).Json();
        (fresh["from"]!.GetValue<string>(), fresh["to"]!.GetValue<string>()).ShouldBe(("revision 0", "draft"));
        fresh["content"]!["linesAdded"]!.GetValue<int>().ShouldBe(1);

        await ada.CommitAsync(workspace, "one");
        var clean = await (await ada.Client.GetAsync($"/artifacts/{id}/diff")).Json();
        clean["changedFields"]!.AsArray().ShouldBeEmpty();
        clean["content"]!["unified"]!.GetValue<string>().ShouldBe("");

        await ada.Client.MergePatch($"/artifacts/{id}", new { description = "now described" });
        var edited = await (await ada.Client.GetAsync($"/artifacts/{id}/diff")).Json();
        (edited["from"]!.GetValue<string>(), edited["changedFields"]!.AsArray().Single()!.GetValue<string>()).ShouldBe(("revision 1", "description"));
        edited["description"]!["to"]!.GetValue<string>().ShouldBe("now described");
    }

    [Fact]
    public async Task bad_sides_are_400_unknown_revisions_404_and_someone_elses_artifact_404()
    {
        var ada = await Fixture.NewUserAsync();
        var bob = await Fixture.NewUserAsync();
        var id = Id(await ada.ArtifactAsync(await ada.WorkspaceAsync()));

        (await (await ada.Client.GetAsync($"/artifacts/{id}/diff?from=latest")).ProblemCode()).ShouldBe("invalid_revision");
        (await (await ada.Client.GetAsync($"/artifacts/{id}/diff?to=-1")).ProblemCode()).ShouldBe("invalid_revision");
        (await (await ada.Client.GetAsync($"/artifacts/{id}/diff?from=1")).ProblemCode()).ShouldBe("revision_not_found");
        (await bob.Client.GetAsync($"/artifacts/{id}/diff")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
    }

    private static Guid Id(JsonObject artifact) => artifact["id"]!.GetValue<Guid>();
}
