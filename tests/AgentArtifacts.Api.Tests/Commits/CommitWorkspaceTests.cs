using System.Net;
using System.Text.Json.Nodes;
using AgentArtifacts.Api.Tests.Infrastructure;
using Shouldly;
using Xunit;

namespace AgentArtifacts.Api.Tests.Commits;

public sealed class CommitWorkspaceTests(ApiFixture fixture) : ApiTest(fixture)
{
    [Fact]
    public async Task a_commit_makes_revisions_publishes_into_both_target_collections_and_records_itself()
    {
        var ada = await Fixture.NewUserAsync();
        var (docs, archive) = (await ada.CollectionAsync("Docs"), await ada.CollectionAsync("Archive"));
        var workspace = await ada.WorkspaceAsync(targets: [docs, archive]);
        var notes = await ada.ArtifactAsync(workspace, "Notes", content: "one\ntwo\n");
        var plan = await ada.ArtifactAsync(workspace, "Plan", content: "step\n");

        var response = await ada.CommitAsync(workspace, "First cut");

        response.StatusCode.ShouldBe(HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        var commit = await response.Json();
        response.Headers.Location!.ToString().ShouldBe($"/commits/{commit["id"]}");
        commit["message"]!.GetValue<string>().ShouldBe("First cut");
        commit["authorId"]!.GetValue<Guid>().ShouldBe(ada.Id);
        commit["actors"]![0]!["type"]!.GetValue<string>().ShouldBe("user");
        commit["collectionIds"]!.AsArray().Select(c => c!.GetValue<Guid>()).ShouldBe([docs, archive], ignoreOrder: true);
        var items = commit["items"]!.AsArray();
        items.Select(i => i!["artifactId"]!.GetValue<Guid>()).ShouldBe([Id(notes), Id(plan)], ignoreOrder: true);
        items.ShouldAllBe(i => i!["kind"]!.GetValue<string>() == "added" && i["fromRevision"]!.GetValue<int>() == 0 && i["toRevision"]!.GetValue<int>() == 1);

        var committed = await (await ada.Client.GetAsync($"/artifacts/{Id(notes)}")).Json();
        committed["state"]!.GetValue<string>().ShouldBe("committed");
        committed["revision"]!.GetValue<int>().ShouldBe(1);
        (await (await ada.Client.GetAsync($"/commits/{commit["id"]}")).Json())["items"]!.AsArray().Count.ShouldBe(2);

        await Fixture.WaitForProjectionsAsync();
        foreach (var collection in new[] { docs, archive })
        {
            var listed = (await (await ada.Client.GetAsync($"/collections/{collection}/artifacts")).Json())["items"]!.AsArray();
            listed.Select(i => i!["id"]!.GetValue<Guid>()).ShouldBe([Id(notes), Id(plan)], ignoreOrder: true);
            listed.ShouldAllBe(i => i!["state"]!.GetValue<string>() == "committed" && i["revision"]!.GetValue<int>() == 1);
            var history = (await (await ada.Client.GetAsync($"/collections/{collection}/commits")).Json())["items"]!.AsArray();
            history.Single()!["id"]!.GetValue<Guid>().ShouldBe(commit["id"]!.GetValue<Guid>());
        }
    }

    [Fact]
    public async Task three_revisions_have_a_history_each_stays_readable_and_diffs_show_what_changed()
    {
        var ada = await Fixture.NewUserAsync();
        var docs = await ada.CollectionAsync();
        var workspace = await ada.WorkspaceAsync(targets: [docs]);
        var id = Id(await ada.ArtifactAsync(workspace, "v1", content: "a\nb\nc\n", context: new { audience = "team" }));
        (await ada.CommitAsync(workspace, "one")).StatusCode.ShouldBe(HttpStatusCode.Created);

        var edited = await ada.Client.MergePatch($"/artifacts/{id}", new { title = "v2", content = "a\nB\nc\n" });
        var draft = await edited.Json();
        draft["state"]!.GetValue<string>().ShouldBe("draft");
        draft["baseRevision"]!.GetValue<int>().ShouldBe(1);
        (await ada.CommitAsync(workspace, "two")).StatusCode.ShouldBe(HttpStatusCode.Created);
        await ada.Client.MergePatch($"/artifacts/{id}", new { tags = new[] { "x" }, context = new { audience = "all", reviewed = true } });
        (await ada.CommitAsync(workspace, "three")).StatusCode.ShouldBe(HttpStatusCode.Created);

        var revisions = (await (await ada.Client.GetAsync($"/artifacts/{id}/revisions")).Json())["items"]!.AsArray();
        revisions.Select(r => r!["revision"]!.GetValue<int>()).ShouldBe([1, 2, 3]);
        revisions.Select(r => r!["title"]!.GetValue<string>()).ShouldBe(["v1", "v2", "v2"]);
        var first = await ada.Client.GetAsync($"/artifacts/{id}?revision=1");
        first.StatusCode.ShouldBe(HttpStatusCode.OK);
        var firstBody = await first.Json();
        (firstBody["title"]!.GetValue<string>(), firstBody["content"]!.GetValue<string>()).ShouldBe(("v1", "a\nb\nc\n"));
        (await ada.Client.GetAsync($"/artifacts/{id}?revision=4")).StatusCode.ShouldBe(HttpStatusCode.NotFound);

        var oneToTwo = await (await ada.Client.GetAsync($"/artifacts/{id}/diff?from=1&to=2")).Json();
        oneToTwo["changedFields"]!.AsArray().Select(f => f!.GetValue<string>()).ShouldBe(["title", "content"]);
        oneToTwo["title"]!["from"]!.GetValue<string>().ShouldBe("v1");
        oneToTwo["content"]!["unified"]!.GetValue<string>().ShouldContain("-b\n+B\n");
        (oneToTwo["content"]!["linesAdded"]!.GetValue<int>(), oneToTwo["content"]!["linesRemoved"]!.GetValue<int>()).ShouldBe((1, 1));

        var twoToThree = await (await ada.Client.GetAsync($"/artifacts/{id}/diff?from=2&to=3")).Json();
        twoToThree["changedFields"]!.AsArray().Select(f => f!.GetValue<string>()).ShouldBe(["tags", "context"]);
        twoToThree["tags"]!["added"]!.AsArray().Single()!.GetValue<string>().ShouldBe("x");
        var ops = twoToThree["context"]!.AsArray().Select(o => (o!["op"]!.GetValue<string>(), o["path"]!.GetValue<string>())).ToList();
        ops.ShouldBe([("replace", "/audience"), ("add", "/reviewed")], ignoreOrder: true);

        await Fixture.WaitForProjectionsAsync();
        var history = (await (await ada.Client.GetAsync($"/collections/{docs}/commits")).Json())["items"]!.AsArray();
        history.Select(c => c!["message"]!.GetValue<string>()).ShouldBe(["three", "two", "one"]);
        var page = await (await ada.Client.GetAsync($"/collections/{docs}/commits?limit=2")).Json();
        var rest = await (await ada.Client.GetAsync($"/collections/{docs}/commits?limit=2&cursor={page["nextCursor"]}")).Json();
        rest["items"]!.AsArray().Single()!["message"]!.GetValue<string>().ShouldBe("one");
    }

    [Fact]
    public async Task a_collection_shows_the_committed_revision_never_the_draft_while_the_workspace_shows_the_draft()
    {
        var ada = await Fixture.NewUserAsync();
        var docs = await ada.CollectionAsync();
        var workspace = await ada.WorkspaceAsync(targets: [docs]);
        var id = Id(await ada.ArtifactAsync(workspace, "Published"));
        await ada.ArtifactAsync(workspace, "Never committed");
        await ada.CommitAsync(workspace, "publish", [id]);
        await ada.Client.MergePatch($"/artifacts/{id}", new { title = "Work in progress" });

        await Fixture.WaitForProjectionsAsync();
        var collection = (await (await ada.Client.GetAsync($"/collections/{docs}/artifacts")).Json())["items"]!.AsArray();
        collection.Single()!["title"]!.GetValue<string>().ShouldBe("Published");
        collection.Single()!["state"]!.GetValue<string>().ShouldBe("committed");
        var workspaceItems = (await (await ada.Client.GetAsync($"/workspaces/{workspace}/artifacts")).Json())["items"]!.AsArray();
        workspaceItems.Select(i => i!["title"]!.GetValue<string>()).ShouldBe(["Work in progress", "Never committed"], ignoreOrder: true);
        workspaceItems.ShouldAllBe(i => i!["state"]!.GetValue<string>() == "draft");
    }

    [Fact]
    public async Task a_draft_changed_after_the_preview_makes_the_commit_a_409_naming_it_and_nothing_is_committed()
    {
        var ada = await Fixture.NewUserAsync();
        var workspace = await ada.WorkspaceAsync(targets: [await ada.CollectionAsync()]);
        var stable = Id(await ada.ArtifactAsync(workspace, "Stable"));
        var changed = Id(await ada.ArtifactAsync(workspace, "Changed"));
        var token = (await (await ada.Client.PostJson($"/workspaces/{workspace}/commit-preview", new { })).Json())["commitToken"]!.GetValue<string>();
        await ada.Client.MergePatch($"/artifacts/{changed}", new { title = "Changed again" });
        var before = await Fixture.EventCountAsync();

        var response = await ada.CommitAsync(workspace, "stale", token: token);

        response.StatusCode.ShouldBe(HttpStatusCode.Conflict);
        var problem = await response.Json();
        problem["code"]!.GetValue<string>().ShouldBe("commit_conflict");
        var conflict = problem["conflicts"]!.AsArray().Single()!;
        conflict["artifactId"]!.GetValue<Guid>().ShouldBe(changed);
        conflict["reason"]!.GetValue<string>().ShouldBe("changed_since_preview");
        (await Fixture.EventCountAsync()).ShouldBe(before);
        (await (await ada.Client.GetAsync($"/artifacts/{stable}")).Json())["revision"]!.GetValue<int>().ShouldBe(0);
    }

    [Fact]
    public async Task a_token_is_bound_to_its_workspace_and_caller_and_cannot_be_forged()
    {
        var ada = await Fixture.NewUserAsync();
        var workspace = await ada.WorkspaceAsync();
        var other = await ada.WorkspaceAsync("Other");
        await ada.ArtifactAsync(workspace);
        await ada.ArtifactAsync(other);
        var token = (await (await ada.Client.PostJson($"/workspaces/{workspace}/commit-preview", new { })).Json())["commitToken"]!.GetValue<string>();
        var before = await Fixture.EventCountAsync();

        var elsewhere = await ada.CommitAsync(other, "wrong workspace", token: token);
        var forged = await ada.CommitAsync(workspace, "forged", token: token[..^3] + (token[^3..] == "AAA" ? "BBB" : "AAA"));
        var garbage = await ada.CommitAsync(workspace, "garbage", token: "not-a-token");

        foreach (var response in new[] { elsewhere, forged, garbage })
        {
            response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
            (await response.ProblemCode()).ShouldBe("invalid_commit_token");
        }
        (await Fixture.EventCountAsync()).ShouldBe(before);
    }

    [Fact]
    public async Task two_workspaces_editing_one_artifact_the_second_commit_is_a_conflict_naming_it()
    {
        var ada = await Fixture.NewUserAsync();
        var docs = await ada.CollectionAsync();
        var first = await ada.WorkspaceAsync("First", [docs]);
        var second = await ada.WorkspaceAsync("Second", [docs]);
        var id = Id(await ada.ArtifactAsync(first, "Shared", content: "v1\n"));
        await ada.CommitAsync(first, "v1");
        var checkout = await ada.Client.PostJson($"/artifacts/{id}/checkout", new { workspaceId = second });
        checkout.StatusCode.ShouldBe(HttpStatusCode.Created, await checkout.Content.ReadAsStringAsync());
        var copy = await checkout.Json();
        copy["originId"]!.GetValue<Guid>().ShouldBe(id);
        (copy["state"]!.GetValue<string>(), copy["baseRevision"]!.GetValue<int>()).ShouldBe(("committed", 1));

        await ada.Client.MergePatch($"/artifacts/{id}", new { content = "edited in first\n" });
        await ada.Client.MergePatch($"/artifacts/{Id(copy)}", new { content = "edited in second\n" });
        var secondCommit = await ada.CommitAsync(second, "from second");
        secondCommit.StatusCode.ShouldBe(HttpStatusCode.Created, await secondCommit.Content.ReadAsStringAsync());
        (await secondCommit.Json())["items"]![0]!["artifactId"]!.GetValue<Guid>().ShouldBe(id);
        var before = await Fixture.EventCountAsync();

        var firstCommit = await ada.CommitAsync(first, "from first");

        firstCommit.StatusCode.ShouldBe(HttpStatusCode.Conflict);
        var problem = await firstCommit.Json();
        problem["code"]!.GetValue<string>().ShouldBe("commit_conflict");
        problem["conflicts"]![0]!["artifactId"]!.GetValue<Guid>().ShouldBe(id);
        problem["conflicts"]![0]!["reason"]!.GetValue<string>().ShouldBe("revised_elsewhere");
        (await Fixture.EventCountAsync()).ShouldBe(before);
        var revision2 = await (await ada.Client.GetAsync($"/artifacts/{id}?revision=2")).Json();
        revision2["content"]!.GetValue<string>().ShouldBe("edited in second\n");
        var head = await (await ada.Client.GetAsync($"/artifacts/{id}")).Json();
        (head["state"]!.GetValue<string>(), head["content"]!.GetValue<string>(), head["revision"]!.GetValue<int>(), head["baseRevision"]!.GetValue<int>())
            .ShouldBe(("draft", "edited in first\n", 2, 1));
        var preview = await (await ada.Client.PostJson($"/workspaces/{first}/commit-preview", new { })).Json();
        preview["conflicts"]![0]!["artifactId"]!.GetValue<Guid>().ShouldBe(id);
    }

    [Fact]
    public async Task concurrent_commits_of_the_same_drafts_exactly_one_succeeds()
    {
        var ada = await Fixture.NewUserAsync();
        var workspace = await ada.WorkspaceAsync(targets: [await ada.CollectionAsync()]);
        for (var i = 0; i < 5; i++) await ada.ArtifactAsync(workspace, $"Draft {i}");

        var responses = await Task.WhenAll(Enumerable.Range(0, 4).Select(i => ada.CommitAsync(workspace, $"racer {i}")));

        responses.Count(r => r.StatusCode == HttpStatusCode.Created).ShouldBe(1);
        foreach (var loser in responses.Where(r => r.StatusCode != HttpStatusCode.Created))
        {
            loser.StatusCode.ShouldBeOneOf(HttpStatusCode.Conflict, HttpStatusCode.BadRequest);
            (await loser.ProblemCode()).ShouldBeOneOf("commit_conflict", "nothing_to_commit");
        }
        await Fixture.WaitForProjectionsAsync();
        var revisions = (await (await ada.Client.GetAsync($"/workspaces/{workspace}/artifacts")).Json())["items"]!.AsArray()
            .Select(i => i!["revision"]!.GetValue<int>());
        revisions.ShouldAllBe(r => r == 1);
    }

    [Fact]
    public async Task a_failure_in_the_middle_of_a_commit_leaves_no_commit_record_and_no_revision_anywhere()
    {
        var ada = await Fixture.NewUserAsync();
        var workspace = await ada.WorkspaceAsync(targets: [await ada.CollectionAsync()]);
        var ids = new List<Guid>();
        for (var i = 0; i < 3; i++) ids.Add(Id(await ada.ArtifactAsync(workspace, $"Draft {i}")));
        var before = await Fixture.SqlScalarAsync<long>("select max(seq_id) from agentartifacts.mt_events");
        // The revision event of the last draft fails inside the database, after the others were written in the same transaction.
        await Fixture.SqlAsync($"""
            create function agentartifacts.fail_commit() returns trigger language plpgsql as $$
            begin raise exception 'injected failure'; end $$;
            create trigger fail_commit before insert on agentartifacts.mt_events for each row
              when (new.stream_id = '{ids.Max()}' and new.type = 'artifact_committed') execute function agentartifacts.fail_commit();
            """);
        try
        {
            var response = await ada.CommitAsync(workspace, "doomed");
            response.StatusCode.ShouldBe(HttpStatusCode.InternalServerError);
        }
        finally
        {
            await Fixture.SqlAsync("drop trigger fail_commit on agentartifacts.mt_events; drop function agentartifacts.fail_commit();");
        }

        // Marten fills the sequence numbers a failed append used with tombstone events, outside the failed transaction.
        (await Fixture.SqlScalarAsync<long>($"select count(*) from agentartifacts.mt_events where seq_id > {before} and type <> 'tombstone'")).ShouldBe(0);
        (await Fixture.SqlScalarAsync<long>("select count(*) from agentartifacts.mt_streams where type = 'commit'")).ShouldBe(0);
        (await Fixture.SqlScalarAsync<long>("select count(*) from agentartifacts.mt_doc_artifactrevision")).ShouldBe(0);
        foreach (var id in ids) (await (await ada.Client.GetAsync($"/artifacts/{id}")).Json())["revision"]!.GetValue<int>().ShouldBe(0);
        (await ada.CommitAsync(workspace, "after the fault")).StatusCode.ShouldBe(HttpStatusCode.Created);
    }

    [Fact]
    public async Task an_idempotent_retry_of_a_commit_returns_the_same_commit()
    {
        var ada = await Fixture.NewUserAsync();
        var workspace = await ada.WorkspaceAsync(targets: [await ada.CollectionAsync()]);
        await ada.ArtifactAsync(workspace);

        var first = await ada.CommitAsync(workspace, "once", key: "commit-1");
        var retry = await ada.CommitAsync(workspace, "once", key: "commit-1");

        first.StatusCode.ShouldBe(HttpStatusCode.Created);
        retry.StatusCode.ShouldBe(HttpStatusCode.Created);
        retry.Headers.GetValues("Idempotent-Replayed").Single().ShouldBe("true");
        (await retry.Json())["id"]!.GetValue<Guid>().ShouldBe((await first.Json())["id"]!.GetValue<Guid>());
        (await Fixture.SqlScalarAsync<long>("select count(*) from agentartifacts.mt_streams where type = 'commit'")).ShouldBe(1);
    }

    [Fact]
    public async Task a_commit_of_a_thousand_drafts_finishes_in_one_transaction()
    {
        var ada = await Fixture.NewUserAsync();
        var docs = await ada.CollectionAsync();
        var workspace = await ada.WorkspaceAsync(targets: [docs]);
        await Fixture.DraftsAsync(ada.Id, workspace, 1000);

        var response = await ada.CommitAsync(workspace, "bulk");

        response.StatusCode.ShouldBe(HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        (await response.Json())["items"]!.AsArray().Count.ShouldBe(1000);
        (await Fixture.SqlScalarAsync<long>("select count(*) from agentartifacts.mt_doc_artifactrevision")).ShouldBe(1000);
        (await Fixture.SqlScalarAsync<long>("select count(distinct xmin::text) from agentartifacts.mt_events where type = 'artifact_committed'")).ShouldBe(1);
    }

    [Fact]
    public async Task bad_commits_are_rejected_and_change_nothing()
    {
        var ada = await Fixture.NewUserAsync();
        var bob = await Fixture.NewUserAsync();
        var workspace = await ada.WorkspaceAsync();
        var empty = await ada.WorkspaceAsync("Empty");
        var draft = Id(await ada.ArtifactAsync(workspace));
        var before = await Fixture.EventCountAsync();

        (await ada.Client.PostJson($"/workspaces/{workspace}/commit", new { message = " " })).StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await (await ada.Client.PostJson($"/workspaces/{workspace}/commit", new { })).ProblemCode()).ShouldBe("validation_failed");
        (await (await ada.CommitAsync(empty, "nothing")).ProblemCode()).ShouldBe("nothing_to_commit");
        (await (await ada.CommitAsync(workspace, "unknown", [Guid.NewGuid()])).ProblemCode()).ShouldBe("not_a_draft");
        (await bob.CommitAsync(workspace, "not mine")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await ada.CommitAsync(Guid.NewGuid(), "nowhere")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await (await ada.Client.PostJson($"/workspaces/{workspace}/commit", "{\"message\":")).ProblemCode()).ShouldBe("invalid_json");
        (await (await ada.Client.PostJson($"/workspaces/{workspace}/commit", new { message = "m", artifactIds = "x" })).ProblemCode()).ShouldBe("invalid_json");
        (await Fixture.EventCountAsync()).ShouldBe(before);
        (await (await ada.Client.GetAsync($"/artifacts/{draft}")).Json())["state"]!.GetValue<string>().ShouldBe("draft");
    }

    [Fact]
    public async Task a_token_with_other_artifact_ids_than_it_covers_is_400()
    {
        var ada = await Fixture.NewUserAsync();
        var workspace = await ada.WorkspaceAsync();
        var covered = Id(await ada.ArtifactAsync(workspace, "Covered"));
        var token = (await (await ada.Client.PostJson($"/workspaces/{workspace}/commit-preview", new { })).Json())["commitToken"]!.GetValue<string>();
        var other = Id(await ada.ArtifactAsync(workspace, "Other"));
        var before = await Fixture.EventCountAsync();

        var response = await ada.CommitAsync(workspace, "mismatch", [covered, other], token);

        (await response.ProblemCode()).ShouldBe("commit_token_mismatch");
        (await Fixture.EventCountAsync()).ShouldBe(before);
        var pinned = await ada.CommitAsync(workspace, "only the covered one", token: token);
        (await pinned.Json())["items"]!.AsArray().Single()!["artifactId"]!.GetValue<Guid>().ShouldBe(covered);
    }

    [Fact]
    public async Task a_commit_is_readable_by_its_author_only_and_unknown_commits_and_collections_are_404()
    {
        var ada = await Fixture.NewUserAsync();
        var bob = await Fixture.NewUserAsync();
        var docs = await ada.CollectionAsync();
        var workspace = await ada.WorkspaceAsync(targets: [docs]);
        await ada.ArtifactAsync(workspace);
        var commit = (await (await ada.CommitAsync(workspace, "mine")).Json())["id"]!.GetValue<Guid>();

        (await bob.Client.GetAsync($"/commits/{commit}")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await ada.Client.GetAsync($"/commits/{Guid.NewGuid()}")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await bob.Client.GetAsync($"/collections/{docs}/commits")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await (await ada.Client.GetAsync($"/collections/{docs}/commits?cursor=nope")).ProblemCode()).ShouldBe("invalid_cursor");
        (await ada.Client.GetAsync($"/collections/{workspace}/commits")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task committing_into_an_archived_collection_is_refused_and_changes_nothing()
    {
        var ada = await Fixture.NewUserAsync();
        var docs = await ada.CollectionAsync();
        var workspace = await ada.WorkspaceAsync(targets: [docs]);
        await ada.ArtifactAsync(workspace);
        (await ada.Client.DeleteAsync($"/collections/{docs}")).IsSuccessStatusCode.ShouldBeTrue();
        var before = await Fixture.EventCountAsync();

        var response = await ada.CommitAsync(workspace, "into the void");

        response.StatusCode.ShouldBe(HttpStatusCode.Conflict);
        (await response.ProblemCode()).ShouldBe("target_collection_unavailable");
        (await Fixture.EventCountAsync()).ShouldBe(before);
    }

    private static Guid Id(JsonObject artifact) => artifact["id"]!.GetValue<Guid>();
}
