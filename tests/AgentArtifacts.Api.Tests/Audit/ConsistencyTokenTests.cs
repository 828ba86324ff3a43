using System.Net;
using System.Reflection;
using AgentArtifacts.Api.Infrastructure;
using AgentArtifacts.Api.Tests.Infrastructure;
using JasperFx.Events.Daemon;
using Marten;
using Shouldly;
using Xunit;

namespace AgentArtifacts.Api.Tests.Audit;

/// <summary>Read-your-writes: a write's Consistency-Token makes a listing or search wait until its read models include the write.</summary>
public sealed class ConsistencyTokenTests(ApiFixture fixture) : ApiTest(fixture)
{
    private static string TokenOf(HttpResponseMessage response) =>
        response.Headers.TryGetValues(ConsistencyToken.Header, out var values) ? values.Single() : throw new ShouldAssertException($"no {ConsistencyToken.Header} on {response.StatusCode}");

    private static Task<HttpResponseMessage> GetWithTokenAsync(TestUser user, string url, string token)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.TryAddWithoutValidation(ConsistencyToken.Header, token);
        return user.Client.SendAsync(request);
    }

    [Fact]
    public async Task every_successful_write_answers_with_a_token_and_a_read_does_not()
    {
        var ada = await Fixture.NewUserAsync();
        var workspace = await ada.Client.PostJson("/workspaces", new { title = "Tokens" });
        var id = (await workspace.Json())["id"]!.GetValue<Guid>();
        var artifact = await ada.Client.PostJson("/artifacts", new { containerId = id, contentType = "text/plain", title = "A", content = "a" });
        var artifactId = (await artifact.Json())["id"]!.GetValue<Guid>();
        // A patch that changes nothing appends nothing, and still answers with a position (the log's head then).
        var noChange = await ada.Client.MergePatch($"/artifacts/{artifactId}", new { title = "A" });

        ConsistencyToken.TryDecode(TokenOf(workspace), out var first).ShouldBeTrue();
        ConsistencyToken.TryDecode(TokenOf(artifact), out var second).ShouldBeTrue();
        ConsistencyToken.TryDecode(TokenOf(noChange), out var third).ShouldBeTrue();
        second.ShouldBeGreaterThan(first);
        third.ShouldBeGreaterThanOrEqualTo(second);
        second.ShouldBe(await Fixture.SqlScalarAsync<long>($"select max(seq_id) from agentartifacts.mt_events where stream_id = '{artifactId}'"));
        (await ada.Client.GetAsync($"/artifacts/{artifactId}")).Headers.Contains(ConsistencyToken.Header).ShouldBeFalse();
        (await ada.Client.PostJson("/artifacts", new { containerId = id, contentType = "text/plain" })).Headers.Contains(ConsistencyToken.Header)
            .ShouldBeFalse("a refused write changed nothing");
    }

    [Fact]
    public async Task a_listing_and_a_search_with_the_token_of_a_write_include_the_write()
    {
        var ada = await Fixture.NewUserAsync();
        var workspace = await ada.WorkspaceAsync();
        var created = await ada.Client.PostJson("/artifacts", new { containerId = workspace, contentType = "text/plain", title = "Quasar notes", content = "x" });
        var id = (await created.Json())["id"]!.GetValue<Guid>();
        var token = TokenOf(created);

        var listing = await GetWithTokenAsync(ada, $"/workspaces/{workspace}/artifacts", token);
        var search = await GetWithTokenAsync(ada, "/search?q=quasar", token);

        listing.StatusCode.ShouldBe(HttpStatusCode.OK);
        (await listing.Json())["items"]!.AsArray().Select(i => i!["id"]!.GetValue<Guid>()).ShouldContain(id);
        search.StatusCode.ShouldBe(HttpStatusCode.OK);
        (await search.Json())["items"]!.AsArray().Select(i => i!["id"]!.GetValue<Guid>()).ShouldContain(id);
    }

    [Fact]
    public async Task a_collections_artifacts_and_commits_with_the_token_of_a_commit_include_it()
    {
        var ada = await Fixture.NewUserAsync();
        var collection = await ada.CollectionAsync();
        var workspace = await ada.WorkspaceAsync(targets: [collection]);
        var id = (await ada.ArtifactAsync(workspace, "Published"))["id"]!.GetValue<Guid>();
        var commit = await ada.CommitAsync(workspace, "First");
        commit.StatusCode.ShouldBe(HttpStatusCode.Created, await commit.Content.ReadAsStringAsync());
        var token = TokenOf(commit);

        var artifacts = await GetWithTokenAsync(ada, $"/collections/{collection}/artifacts", token);
        var commits = await GetWithTokenAsync(ada, $"/collections/{collection}/commits", token);
        var collections = await GetWithTokenAsync(ada, "/collections", token);

        (await artifacts.Json())["items"]!.AsArray().Select(i => i!["id"]!.GetValue<Guid>()).ShouldContain(id);
        (await commits.Json())["items"]!.AsArray().Count.ShouldBe(1);
        (await collections.Json())["items"]!.AsArray().Select(i => i!["id"]!.GetValue<Guid>()).ShouldContain(collection);
    }

    [Theory]
    [InlineData("garbage")]
    [InlineData("v1.")]
    [InlineData("v1.!!!")]
    [InlineData("v1.c2VxOi0x")] // "seq:-1"
    public async Task a_malformed_token_is_400_invalid_consistency_token(string token)
    {
        var ada = await Fixture.NewUserAsync();

        var response = await GetWithTokenAsync(ada, "/workspaces", token);

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await response.ProblemCode()).ShouldBe("invalid_consistency_token");
    }

    [Fact]
    public async Task a_token_beyond_the_logs_head_is_400_consistency_token_ahead()
    {
        var ada = await Fixture.NewUserAsync();
        var head = await Fixture.SqlScalarAsync<long>("select coalesce(max(seq_id), 0) from agentartifacts.mt_events");

        var response = await GetWithTokenAsync(ada, "/search?q=x", ConsistencyToken.Encode(head + 1_000));

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await response.ProblemCode()).ShouldBe("consistency_token_ahead");
    }

    [Fact]
    public void every_declared_projection_is_an_async_projection_of_the_store()
    {
        var shards = Fixture.Host.Store.Advanced.AllAsyncProjectionShardNames().Select(s => s.Identity).ToList();
        var declared = typeof(ConsistencyToken).Assembly.GetTypes().SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Static))
            .Select(m => m.GetCustomAttribute<ReadsProjectionsAttribute>()).OfType<ReadsProjectionsAttribute>().ToList();

        declared.Count.ShouldBeGreaterThanOrEqualTo(7);
        foreach (var reads in declared)
            foreach (var projection in reads.Projections)
                if (!shards.Any(s => new ReadsProjectionsAttribute(projection).Covers(s))) throw new ShouldAssertException($"{projection.Name} is no async projection ({string.Join(", ", shards)})");
    }
}

/// <summary>A node where no daemon runs until the test starts one: the read waits, and gives up after the bound.</summary>
public sealed class ConsistencyTokenLagTests() : IsolatedHostTest(new Dictionary<string, string?>
{
    ["Marten:DaemonMode"] = "Disabled",
    ["Consistency:MaxWaitMs"] = "3000",
})
{
    private async Task<(HttpClient Ada, Guid Workspace, Guid Artifact, string Token)> WriteAsync()
    {
        var ada = await AdaAsync();
        var workspace = (await (await ada.PostJson("/workspaces", new { title = "Lagging" })).Json())["id"]!.GetValue<Guid>();
        var created = await ada.PostJson("/artifacts", new { containerId = workspace, contentType = "text/plain", title = "Late", content = "x" });
        return (ada, workspace, (await created.Json())["id"]!.GetValue<Guid>(), created.Headers.GetValues(ConsistencyToken.Header).Single());
    }

    private static Task<HttpResponseMessage> ListAsync(HttpClient client, Guid workspace, string token)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, $"/workspaces/{workspace}/artifacts");
        request.Headers.TryAddWithoutValidation(ConsistencyToken.Header, token);
        return client.SendAsync(request);
    }

    [Fact]
    public async Task the_read_waits_for_the_projection_and_answers_with_the_write_once_it_caught_up()
    {
        var (ada, workspace, artifact, token) = await WriteAsync();

        var listing = ListAsync(ada, workspace, token);
        await Task.Delay(700);
        listing.IsCompleted.ShouldBeFalse("nothing projects the write yet, so the read must still wait");
        (await (await ada.GetAsync($"/workspaces/{workspace}/artifacts")).Json())["items"]!.AsArray().ShouldBeEmpty("without a token the listing answers at once, stale");
        using var daemon = await Host.Store.BuildProjectionDaemonAsync();
        await daemon.StartAllAsync();

        var response = await listing;
        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        (await response.Json())["items"]!.AsArray().Select(i => i!["id"]!.GetValue<Guid>()).ShouldContain(artifact);
    }

    [Fact]
    public async Task a_read_whose_projection_does_not_catch_up_within_the_bound_is_503_projection_lagging_with_retry_after()
    {
        var (ada, workspace, _, token) = await WriteAsync();
        var started = DateTime.UtcNow;

        var response = await ListAsync(ada, workspace, token);

        response.StatusCode.ShouldBe(HttpStatusCode.ServiceUnavailable);
        (await response.ProblemCode()).ShouldBe("projection_lagging");
        response.Headers.RetryAfter!.Delta.ShouldBe(TimeSpan.FromSeconds(1));
        (DateTime.UtcNow - started).ShouldBeGreaterThanOrEqualTo(TimeSpan.FromSeconds(2.9));
    }
}
