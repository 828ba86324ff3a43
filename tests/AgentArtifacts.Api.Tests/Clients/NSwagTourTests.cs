using System.Text.Json;
using AgentArtifacts.Api.Tests.Clients.NSwag;
using AgentArtifacts.Api.Tests.Infrastructure;
using AgentArtifacts.Api.Tests.Runs;
using Shouldly;
using Xunit;
using Xunit.Abstractions;
using static AgentArtifacts.Api.Tests.Clients.Tour;
using Json = System.Text.Json.Nodes.JsonNode;

namespace AgentArtifacts.Api.Tests.Clients;

/// <summary>
/// The README tour through the NSwag C# client (System.Text.Json; Clients/NSwag, generated from docs/openapi.json by
/// build/clients.sh), as generated: its methods and models only, on an HttpClient that carries the bearer header.
/// NSwag sends only the headers the document declares as parameters, and reads status and headers through its
/// SwaggerResponse (generated with wrapResponses).
/// </summary>
public sealed class NSwagTourTests(ApiFixture fixture, ITestOutputHelper output) : ApiTest(fixture), IDisposable
{
    private const string Password = "correct horse battery staple";
    private readonly List<HttpClient> _http = [];

    public void Dispose() => _http.ForEach(h => h.Dispose());

    /// <summary>A client of the test host; with a bearer token (an access token or an API key) on every request.</summary>
    private AgentArtifactsNSwagClient Client(string? bearer = null)
    {
        var http = Fixture.Host.NewClient(bearer);
        _http.Add(http);
        return new AgentArtifactsNSwagClient(http) { BaseUrl = Fixture.Host.BaseAddress.ToString() };
    }


    private static string Header(SwaggerResponse response, string name) =>
        response.Headers.TryGetValue(name, out var values) ? values.ShouldHaveSingleItem() : throw new ShouldAssertException($"the response has no {name} header");

    [Fact]
    public async Task the_readme_tour_runs_through_the_generated_nswag_client()
    {
        var tour = new Tour(output, e => e is ApiException<Problem> p
            ? $"{p.StatusCode} {p.Result.Code}: {p.Result.Detail} {JsonSerializer.Serialize(p.Result.Errors)}" : null);
        await using var echo = await HttpPeer.StartAsync();
        var anonymous = Client();
        Guid? adaId = null, bobId = null, workspaceId = null, artifactId = null, collectionId = null, toolId = null;
        AgentArtifactsNSwagClient? ada = null, bob = null;

        await tour.Step(1, "register Ada", async () =>
        {
            var registered = await anonymous.RegisterUserAsync(new RegisterUser { Email = "ada@example.com", Password = Password, Name = "Ada" });
            registered.StatusCode.ShouldBe(201);
            var user = registered.Result;
            user.Email.ShouldBe("ada@example.com");
            adaId = user.Id;
        });

        await tour.Step(2, "password grant", async () =>
        {
            var token = (await anonymous.IssueTokenAsync(new TokenRequest { Grant_type = TokenRequestGrant_type.Password, Username = "ada@example.com", Password = Password })).Result;
            token.Refresh_token.ShouldNotBeNullOrEmpty();
            ada = Client(token.Access_token.ShouldNotBeNull());
        });

        await tour.Step(3, "who am I", async () =>
        {
            var me = (await Need(ada, "Ada's token").GetMeAsync()).Result;
            (me.Id, me.Email).ShouldBe((NeedId(adaId, "Ada's id"), "ada@example.com"));
        });

        await tour.Step(4, "create a workspace", async () =>
        {
            var created = await Need(ada, "Ada's token").CreateWorkspaceAsync(idempotency_Key: null, new CreateContainer { Title = "Tour" });
            created.StatusCode.ShouldBe(201);
            workspaceId = created.Result.Id;
        });

        await tour.Step(5, "create a markdown artifact with an Idempotency-Key; its ETag", async () =>
        {
            var client = Need(ada, "Ada's token");
            var created = await client.CreateArtifactAsync("tour-create-artifact", new CreateArtifact
            {
                ContainerId = NeedId(workspaceId, "the workspace"), ContentType = "text/markdown", Title = "Thoughts", Content = "My thoughts on clients.\n",
            });
            created.StatusCode.ShouldBe(201);
            var artifact = created.Result;
            artifact.Version.ShouldBe(1);
            artifactId = artifact.Id;
            var read = await client.GetArtifactAsync(artifact.Id, revision: null, asOf: null, if_None_Match: null);
            read.Result.Id.ShouldBe(artifact.Id);
            Header(read, "ETag").ShouldBe("\"1\"");
        });

        await tour.Step(6, "merge-patch title and tags with If-Match; the stale If-Match again is 412 with a readable code", async () =>
        {
            var client = Need(ada, "Ada's token");
            // In a merge patch null clears a field: the content must survive a patch that names only title and tags (unset
            // properties are left out by the client's serializer setting, AgentArtifactsNSwagClient.Settings.cs).
            var artifact = NeedId(artifactId, "the artifact");
            var patch = new ArtifactPatch { Title = "Thoughts, revised", Tags = ["clients", "tour"] };
            var patched = (await client.UpdateArtifactAsync(artifact, "\"1\"", patch)).Result;
            // Title and tags are two changes: two events, so the version moves from 1 to 3.
            (patched.Title, patched.Version, patched.Content).ShouldBe(("Thoughts, revised", 3L, "My thoughts on clients.\n"));
            patched.Tags.ShouldBe(["clients", "tour"]);
            var stale = await Should.ThrowAsync<ApiException<Problem>>(() => client.UpdateArtifactAsync(artifact, "\"1\"", patch));
            (stale.StatusCode, stale.Result.Code).ShouldBe((412, "precondition_failed"));
        });

        await tour.Step(7, "history", async () =>
        {
            var history = (await Need(ada, "Ada's token").GetArtifactHistoryAsync(NeedId(artifactId, "the artifact"), limit: null, cursor: null)).Result;
            history.Items.Select(i => i.Version).ShouldBe([1L, 2L, 3L]);
            history.Items.ShouldAllBe(i => i.Event != null && i.Actor == adaId && i.At != default);
        });

        await tour.Step(8, "the workspace lists it by content type (async projection)", async () =>
        {
            var client = Need(ada, "Ada's token");
            var workspace = NeedId(workspaceId, "the workspace");
            await EventuallyAsync(() => client.ListWorkspaceArtifactsAsync(workspace, limit: null, cursor: null, contentType: "text/*", state: null, consistency_Token: null),
                page => page.Result.Items.Any(a => a.Id == artifactId), "listed in the workspace");
        });

        await tour.Step(9, "create a collection and make it the workspace's commit target", async () =>
        {
            var client = Need(ada, "Ada's token");
            var created = await client.CreateCollectionAsync(idempotency_Key: null, new CreateContainer { Title = "Published" });
            created.StatusCode.ShouldBe(201);
            collectionId = created.Result.Id;
            var workspace = (await client.UpdateWorkspaceAsync(NeedId(workspaceId, "the workspace"), if_Match: null, new UpdateContainer { TargetCollectionIds = [collectionId.Value] })).Result;
            workspace.TargetCollectionIds.ShouldBe([collectionId.Value]);
        });

        string? commitToken = null;
        await tour.Step(10, "commit preview", async () =>
        {
            var preview = (await Need(ada, "Ada's token").PreviewCommitAsync(NeedId(workspaceId, "the workspace"), idempotency_Key: null, new PreviewCommit())).Result;
            var item = preview.Items.ShouldHaveSingleItem();
            (item.ArtifactId, item.Kind, item.BaseRevision, item.NextRevision).ShouldBe((NeedId(artifactId, "the artifact"), ChangeKind.Added, 0, 1));
            item.ChangedFields.ShouldNotBeEmpty();
            preview.CommitToken.ShouldNotBeNullOrEmpty();
            commitToken = preview.CommitToken;
        });

        await tour.Step(11, "commit with the preview's token and an Idempotency-Key", async () =>
        {
            var committed = await Need(ada, "Ada's token").CommitWorkspaceAsync(NeedId(workspaceId, "the workspace"), "tour-commit-1",
                new CommitWorkspace { Message = "First revision", CommitToken = Need(commitToken, "the commit token") });
            committed.StatusCode.ShouldBe(201);
            var item = committed.Result.Items.ShouldHaveSingleItem();
            (item.ArtifactId, item.ToRevision).ShouldBe((NeedId(artifactId, "the artifact"), 1));
        });

        await tour.Step(12, "edit the content (no If-Match): a draft on revision 1; its diff", async () =>
        {
            var client = Need(ada, "Ada's token");
            var artifact = NeedId(artifactId, "the artifact");
            var draft = (await client.UpdateArtifactAsync(artifact, if_Match: null, new ArtifactPatch { Content = "My thoughts on clients.\nThey are generated.\n" })).Result;
            (draft.State, draft.BaseRevision, draft.Title).ShouldBe((ArtifactState.Draft, 1, "Thoughts, revised"));
            var diff = (await client.DiffArtifactAsync(artifact, from: null, to: null)).Result;
            diff.ChangedFields.ShouldBe(["content"]);
            diff.Content.Unified.ShouldNotBeNullOrEmpty();
        });

        await tour.Step(13, "commit again: revision 1 to 2", async () =>
        {
            var committed = await Need(ada, "Ada's token").CommitWorkspaceAsync(NeedId(workspaceId, "the workspace"), idempotency_Key: null, new CommitWorkspace { Message = "Second revision" });
            committed.StatusCode.ShouldBe(201);
            var item = committed.Result.Items.ShouldHaveSingleItem();
            (item.ArtifactId, item.FromRevision, item.ToRevision).ShouldBe((NeedId(artifactId, "the artifact"), 1, 2));
        });

        await tour.Step(14, "revisions, a past revision, the diff between them, the collection's artifacts and commits", async () =>
        {
            var client = Need(ada, "Ada's token");
            var artifact = NeedId(artifactId, "the artifact");
            var revisions = (await client.ListArtifactRevisionsAsync(artifact, limit: null, cursor: null)).Result;
            revisions.Items.Select(r => r.Revision).OrderBy(r => r).ShouldBe([1, 2]);
            var first = (await client.GetArtifactAsync(artifact, revision: 1, asOf: null, if_None_Match: null)).Result;
            (first.Revision, first.Content).ShouldBe((1, "My thoughts on clients.\n"));
            (await client.DiffArtifactAsync(artifact, from: "1", to: "2")).Result.ChangedFields.ShouldContain("content");
            var collection = NeedId(collectionId, "the collection");
            await EventuallyAsync(() => client.ListCollectionArtifactsAsync(collection, limit: null, cursor: null, contentType: null, state: null, consistency_Token: null),
                page => page.Result.Items.Any(a => a.Id == artifact), "listed in the collection");
            await EventuallyAsync(() => client.ListCollectionCommitsAsync(collection, limit: null, cursor: null, consistency_Token: null),
                page => page.Result.Items.Count == 2, "two commits in the collection");
        });

        await tour.Step(15, "an API key that may only read text: it reads, it may not delete", async () =>
        {
            var issued = await Need(ada, "Ada's token").IssueApiKeyAsync(idempotency_Key: null, new IssueApiKey { Name = "reader", Scopes = ["resource:text/*:read"], ExpiresInDays = 30 });
            issued.StatusCode.ShouldBe(201);
            var key = issued.Result.Key.ShouldNotBeNull();
            key.ShouldStartWith("aa_");
            var reader = Client(key);
            var artifact = NeedId(artifactId, "the artifact");
            (await reader.GetArtifactAsync(artifact, revision: null, asOf: null, if_None_Match: null)).Result.Id.ShouldBe(artifact);
            var refused = await Should.ThrowAsync<ApiException<Problem>>(() => reader.ArchiveArtifactAsync(artifact, if_Match: null));
            (refused.StatusCode, refused.Result.Code).ShouldBe((403, "insufficient_scope"));
        });

        await tour.Step(16, "search with a type filter (async projection): hits and facets", async () =>
        {
            var client = Need(ada, "Ada's token");
            var artifact = NeedId(artifactId, "the artifact");
            var found = await EventuallyAsync(() => client.SearchArtifactsByQueryAsync("thoughts type:text/*", containerIds: null, contentTypes: null, states: null,
                limit: null, cursor: null, highlight: null, consistency_Token: null), result => result.Result.Items.Any(h => h.Id == artifact), "found by search");
            found.Result.Facets.ContentType.ShouldContainKey("text/markdown");
        });

        await tour.Step(17, "Bob, granted viewer on the collection, reads committed revisions only", async () =>
        {
            var registered = await anonymous.RegisterUserAsync(new RegisterUser { Email = "bob@example.com", Password = Password, Name = "Bob" });
            bobId = registered.Result.Id;
            var token = (await anonymous.IssueTokenAsync(new TokenRequest { Grant_type = TokenRequestGrant_type.Password, Username = "bob@example.com", Password = Password })).Result;
            bob = Client(token.Access_token);
            var collection = NeedId(collectionId, "the collection");
            var artifact = NeedId(artifactId, "the artifact");
            var granted = await Need(ada, "Ada's token").IssueGrantAsync(idempotency_Key: null, new IssueGrant
            {
                ResourceId = collection, Grantee = new Grantee { Type = GranteeType.User, Id = bobId }, Role = "viewer",
            });
            granted.StatusCode.ShouldBe(201);
            granted.Result.ResourceId.ShouldBe(collection);

            await EventuallyAsync(() => bob.ListCollectionArtifactsAsync(collection, limit: null, cursor: null, contentType: null, state: null, consistency_Token: null),
                page => page.Result.Items.Any(a => a.Id == artifact), "listed for Bob");
            (await bob.GetArtifactAsync(artifact, revision: 2, asOf: null, if_None_Match: null)).Result.Revision.ShouldBe(2);
            var head = await Should.ThrowAsync<ApiException<Problem>>(() => bob.GetArtifactAsync(artifact, revision: null, asOf: null, if_None_Match: null));
            (head.StatusCode, head.Result.Code).ShouldBe((404, "not_found"));
            (await bob.CheckGrantAsync(collection, "update")).Result.Allowed.ShouldBeFalse();
        });

        await tour.Step(18, "an HTTP tool invoked sync and async; its runs", async () =>
        {
            var client = Need(ada, "Ada's token");
            var settings = (await client.UpdatePlatformSettingsAsync(if_Match: null, new UpdatePlatformSettings { EgressAllowedHosts = ["127.0.0.1"] })).Result;
            settings.EgressAllowedHosts.ShouldBe(["127.0.0.1"]);
            var context = new Dictionary<string, object> { ["endpoint"] = new Dictionary<string, object> { ["url"] = echo.Url("/echo").ToString() } };
            var created = await client.CreateArtifactAsync(idempotency_Key: null, new CreateArtifact
            {
                ContainerId = NeedId(workspaceId, "the workspace"), ContentType = "application/vnd.agience.http-tool+json", Title = "Echo", Context = context,
            });
            toolId = created.Result.Id;
            var input = new Dictionary<string, object> { ["question"] = "ping" };

            var run = await client.InvokeArtifactAsync(toolId.Value, idempotency_Key: null, new InvokeArtifact { Input = input });
            run.StatusCode.ShouldBe(200);
            run.Result.Status.ShouldBe(RunStatus.Completed);
            Json.Parse(JsonSerializer.Serialize(run.Result.Output))!["echo"]!["question"]!.GetValue<string>().ShouldBe("ping");

            var accepted = await client.InvokeArtifactAsync(toolId.Value, idempotency_Key: null, new InvokeArtifact { Input = input, Mode = InvokeArtifactMode.Async });
            accepted.StatusCode.ShouldBe(202);
            Header(accepted, "Location").ShouldBe($"/runs/{accepted.Result.Id}");
            var completed = await EventuallyAsync(() => client.GetRunAsync(accepted.Result.Id), r => r.Result.Status == RunStatus.Completed, "completed");
            Json.Parse(JsonSerializer.Serialize(completed.Result.Output))!["echo"]!["question"]!.GetValue<string>().ShouldBe("ping");

            var runs = (await client.ListRunsAsync(toolId, parentRunId: null, status: null, limit: null, cursor: null)).Result;
            runs.Items.Select(r => r.Id).ShouldBe([run.Result.Id, accepted.Result.Id], ignoreOrder: true);
        });

        tour.ShouldHaveRunEveryStep();
    }
}
