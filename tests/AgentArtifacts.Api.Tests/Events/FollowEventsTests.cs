using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using AgentArtifacts.Api.Tests.ApiKeys;
using AgentArtifacts.Api.Tests.Infrastructure;
using AgentArtifacts.Api.Tests.Runs;
using Marten;
using Marten.Services;
using Npgsql;
using Shouldly;
using Xunit;

namespace AgentArtifacts.Api.Tests.Events;

/// <summary><c>GET /events</c> through the real host: follow, resume, filters, visibility, two hosts, heartbeat, limits, bad input.</summary>
public sealed class FollowEventsTests(ApiFixture fixture) : ApiTest(fixture)
{
    private static readonly TimeSpan Soon = TimeSpan.FromSeconds(5);

    /// <summary>An open feed, read frame by frame.</summary>
    private sealed class Feed(HttpResponseMessage response) : IAsyncDisposable
    {
        private readonly CancellationTokenSource _cancel = new();
        private IAsyncEnumerator<SseFrame>? _frames;
        private Task<bool>? _moving;

        public HttpResponseMessage Response => response;

        /// <summary>The next frame (comments included), or null when none came in time or the stream ended.</summary>
        public async Task<SseFrame?> NextFrameAsync(TimeSpan within)
        {
            _frames ??= response.FramesAsync(_cancel.Token).GetAsyncEnumerator();
            // A read that timed out stays pending for the next call: the stream is not abandoned.
            var moving = _moving ??= _frames.MoveNextAsync().AsTask();
            if (await Task.WhenAny(moving, Task.Delay(within)) != moving) return null;
            _moving = null;
            return await moving ? _frames.Current : null;
        }

        /// <summary>The next event frame (heartbeats skipped).</summary>
        public async Task<SseFrame?> NextEventAsync(TimeSpan? within = null)
        {
            var until = DateTime.UtcNow + (within ?? Soon);
            while (DateTime.UtcNow < until)
            {
                var frame = await NextFrameAsync(until - DateTime.UtcNow);
                if (frame is null) return null;
                if (frame.Comment is null) return frame;
            }
            return null;
        }

        /// <summary>Every event frame until <paramref name="quiet"/> passes with none.</summary>
        public async Task<List<SseFrame>> EventsUntilQuietAsync(TimeSpan? quiet = null)
        {
            var frames = new List<SseFrame>();
            while (await NextEventAsync(quiet ?? TimeSpan.FromSeconds(2)) is { } frame) frames.Add(frame);
            return frames;
        }

        public async ValueTask DisposeAsync()
        {
            await _cancel.CancelAsync();
            response.Dispose();
        }
    }

    /// <summary>Opens a feed; one opened "from now" waits first until every event written so far is safe to read (nothing old then arrives).</summary>
    private async Task<Feed> FollowAsync(HttpClient client, string query = "", string? lastEventId = null)
    {
        if (lastEventId is null && !query.Contains("after=")) await AllSafeAsync();
        var response = await client.OpenStreamAsync(HttpMethod.Get, "/events" + query, lastEventId: lastEventId);
        response.StatusCode.ShouldBe(HttpStatusCode.OK, response.StatusCode == HttpStatusCode.OK ? null : await response.Content.ReadAsStringAsync());
        response.Content.Headers.ContentType!.MediaType.ShouldBe("text/event-stream");
        return new Feed(response);
    }

    /// <summary>Waits until the high-water mark has passed every committed event.</summary>
    private async Task AllSafeAsync()
    {
        for (var i = 0; i < 100; i++)
        {
            var behind = await Fixture.SqlScalarAsync<long>("""
                select coalesce((select max(seq_id) from agentartifacts.mt_events), 0)
                     - coalesce((select last_seq_id from agentartifacts.mt_event_progression where name = 'HighWaterMark'), 0)
                """);
            if (behind <= 0) return;
            await Task.Delay(100);
        }
        throw new TimeoutException("The high-water mark did not catch up within 10 s.");
    }

    private static JsonObject Data(SseFrame frame) => JsonNode.Parse(frame.Data!)!.AsObject();

    private static Guid Id(JsonObject body) => body["id"]!.GetValue<Guid>();

    [Fact]
    public async Task a_new_event_reaches_a_follower_as_a_frame_with_its_sequence_type_and_public_event()
    {
        var ada = await Fixture.NewUserAsync();
        var workspace = await ada.WorkspaceAsync();
        await using var feed = await FollowAsync(ada.Client);

        var artifact = Id(await ada.ArtifactAsync(workspace, "Live", contentType: "text/plain"));

        var frame = (await feed.NextEventAsync()).ShouldNotBeNull();
        frame.Event.ShouldBe("artifact.created");
        var data = Data(frame);
        data["sequence"]!.GetValue<long>().ShouldBe(frame.Id!.Value);
        (data["type"]!.GetValue<string>(), data["resourceId"]!.GetValue<Guid>(), data["containerId"]!.GetValue<Guid>(), data["contentType"]!.GetValue<string>())
            .ShouldBe(("artifact.created", artifact, workspace, "text/plain"));
        data["actor"]!["userId"]!.GetValue<Guid>().ShouldBe(ada.Id);
        data["data"]!["title"]!.GetValue<string>().ShouldBe("Live");
    }

    [Fact]
    public async Task resuming_with_last_event_id_or_after_continues_exactly_after_that_event()
    {
        var ada = await Fixture.NewUserAsync();
        var workspace = await ada.WorkspaceAsync();
        for (var i = 0; i < 4; i++) await ada.ArtifactAsync(workspace, $"A{i}");

        List<SseFrame> all;
        await using (var feed = await FollowAsync(ada.Client, "?after=0")) all = await feed.EventsUntilQuietAsync();
        all.Count(f => f.Event == "artifact.created").ShouldBe(5);
        all.Select(f => f.Id!.Value).ShouldBeInOrder(SortDirection.Ascending);
        all.Select(f => f.Id).Distinct().Count().ShouldBe(all.Count);

        var middle = all[all.Count / 2].Id!.Value;
        List<SseFrame> rest;
        await using (var feed = await FollowAsync(ada.Client, lastEventId: middle.ToString())) rest = await feed.EventsUntilQuietAsync();
        rest.Select(f => f.Id).ShouldBe(all.Where(f => f.Id > middle).Select(f => f.Id));

        await using (var feed = await FollowAsync(ada.Client, $"?after={middle}")) rest = await feed.EventsUntilQuietAsync();
        rest.Select(f => f.Id).ShouldBe(all.Where(f => f.Id > middle).Select(f => f.Id));

        // The header wins over the query.
        await using (var feed = await FollowAsync(ada.Client, "?after=0", lastEventId: all[^2].Id.ToString())) rest = await feed.EventsUntilQuietAsync();
        rest.Select(f => f.Id).ShouldBe([all[^1].Id]);
    }

    [Fact]
    public async Task an_event_committed_late_by_a_slower_transaction_is_delivered_in_order_not_skipped()
    {
        var ada = await Fixture.NewUserAsync();
        var workspace = await ada.WorkspaceAsync();
        await using var feed = await FollowAsync(ada.Client);

        // A transaction takes its sequence first and commits last.
        await using var connection = new NpgsqlConnection(Fixture.Database.ConnectionString);
        await connection.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using (var slow = Fixture.Host.Store.LightweightSession(SessionOptions.ForTransaction(transaction, shouldAutoCommit: false)))
        {
            slow.LastModifiedBy = ada.Id.ToString();
            var id = Guid.CreateVersion7();
            slow.Events.StartStream<Api.Artifacts.Artifact>(id,
                new Api.Artifacts.ArtifactCreated(id, workspace, "text/plain", "Slow", null, [], [], null));
            await slow.SaveChangesAsync();
        }
        var fast = Id(await ada.ArtifactAsync(workspace, "Fast"));

        // While the slow one is open, the fast one (a later sequence) is held back.
        var early = await feed.NextEventAsync(TimeSpan.FromSeconds(3));
        early.ShouldBeNull(early?.Data);
        await transaction.CommitAsync();

        var first = (await feed.NextEventAsync()).ShouldNotBeNull();
        var second = (await feed.NextEventAsync()).ShouldNotBeNull();
        Data(first)["data"]!["title"]!.GetValue<string>().ShouldBe("Slow");
        Data(second)["resourceId"]!.GetValue<Guid>().ShouldBe(fast);
        second.Id!.Value.ShouldBeGreaterThan(first.Id!.Value);
    }

    [Fact]
    public async Task filters_select_by_type_glob_container_artifact_and_content_type()
    {
        var ada = await Fixture.NewUserAsync();
        var (one, two) = (await ada.WorkspaceAsync("One"), await ada.WorkspaceAsync("Two"));
        var text = Id(await ada.ArtifactAsync(one, "Text", contentType: "text/plain"));
        var markdown = Id(await ada.ArtifactAsync(two, "Markdown", contentType: "text/markdown"));
        var json = Id(await ada.ArtifactAsync(one, "Json", contentType: "application/json", content: "{}"));
        (await ada.Client.MergePatch($"/artifacts/{text}", new { title = "Text 2" })).StatusCode.ShouldBe(HttpStatusCode.OK);

        async Task<List<SseFrame>> Of(string query)
        {
            await using var feed = await FollowAsync(ada.Client, "?after=0&" + query);
            return await feed.EventsUntilQuietAsync(TimeSpan.FromSeconds(1.5));
        }

        (await Of("types=artifact.updated")).Select(f => Data(f)["resourceId"]!.GetValue<Guid>()).ShouldBe([text]);
        (await Of("types=grant.*")).Select(f => f.Event).Distinct().ShouldBe(["grant.issued"]);
        (await Of("types=artifact.updated,grant.issued")).Select(f => f.Event).Distinct().Order().ShouldBe(["artifact.updated", "grant.issued"]);
        var inTwo = await Of($"containerId={two}");
        inTwo.Select(f => Data(f)["resourceId"]!.GetValue<Guid>()).ShouldContain(markdown);
        inTwo.Select(f => Data(f)["resourceId"]!.GetValue<Guid>()).ShouldNotContain(text);
        (await Of($"artifactId={text}")).Select(f => f.Event).ShouldBe(["artifact.created", "artifact.updated"]);
        (await Of("contentType=text/*&types=artifact.created")).Select(f => Data(f)["resourceId"]!.GetValue<Guid>()).Order().ShouldBe(new[] { text, markdown }.Order());
        (await Of("contentType=application/json")).Select(f => Data(f)["resourceId"]!.GetValue<Guid>()).ShouldBe([json]);
    }

    [Fact]
    public async Task another_users_events_never_appear_and_a_revoked_grant_stops_them_at_once()
    {
        var (ada, bob) = (await Fixture.NewUserAsync(), await Fixture.NewUserAsync());
        var workspace = await ada.WorkspaceAsync();
        await using var feed = await FollowAsync(bob.Client, "?types=artifact.*");

        await ada.ArtifactAsync(workspace, "Private");
        (await feed.NextEventAsync(TimeSpan.FromSeconds(2))).ShouldBeNull();

        var grant = Id(await (await ada.GrantAsync(workspace, bob.Id, role: "viewer")).Json());
        var shared = Id(await ada.ArtifactAsync(workspace, "Shared"));
        var seen = (await feed.NextEventAsync()).ShouldNotBeNull();
        Data(seen)["resourceId"]!.GetValue<Guid>().ShouldBe(shared);

        (await ada.Client.DeleteAsync($"/grants/{grant}")).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        await ada.ArtifactAsync(workspace, "After revocation");
        (await feed.NextEventAsync(TimeSpan.FromSeconds(2))).ShouldBeNull();

        // A resume from the start shows bob nothing of ada's workspace any more.
        await using var again = await FollowAsync(bob.Client, "?after=0&types=artifact.*");
        (await again.EventsUntilQuietAsync(TimeSpan.FromSeconds(1.5))).ShouldBeEmpty();
    }

    [Fact]
    public async Task a_write_through_another_host_reaches_a_follower_on_this_one_within_seconds()
    {
        var ada = await Fixture.NewUserAsync();
        var workspace = await ada.WorkspaceAsync();
        await using var other = ServiceHost.Start(Fixture.Database.ConnectionString);
        using var throughOther = other.NewClient(ada.AccessToken);
        await using var feed = await FollowAsync(ada.Client);

        var started = DateTime.UtcNow;
        var created = await throughOther.PostJson("/artifacts", new { containerId = workspace, contentType = "text/plain", title = "From B" });
        created.StatusCode.ShouldBe(HttpStatusCode.Created);
        var frame = (await feed.NextEventAsync(TimeSpan.FromSeconds(3))).ShouldNotBeNull();
        Data(frame)["resourceId"]!.GetValue<Guid>().ShouldBe(Id(await created.Json()));
        (DateTime.UtcNow - started).ShouldBeLessThan(TimeSpan.FromSeconds(3));
    }

    [Fact]
    public async Task a_quiet_feed_sends_heartbeat_comments()
    {
        var ada = await Fixture.NewUserAsync();
        await using var feed = await FollowAsync(ada.Client);
        var frame = (await feed.NextFrameAsync(TimeSpan.FromSeconds(3))).ShouldNotBeNull();
        frame.Comment.ShouldBe("heartbeat");
        (await feed.NextFrameAsync(TimeSpan.FromSeconds(3))).ShouldNotBeNull().Comment.ShouldBe("heartbeat");
    }

    [Fact]
    public async Task a_principal_beyond_its_open_feeds_gets_429_and_a_closed_feed_frees_its_place()
    {
        var (ada, bob) = (await Fixture.NewUserAsync(), await Fixture.NewUserAsync());
        var feeds = new List<Feed>();
        for (var i = 0; i < 5; i++) feeds.Add(await FollowAsync(ada.Client));
        // An API key of hers counts as her.
        using var key = Fixture.Host.NewClient((await ada.Client.KeyAsync(["resource:*/*:read"])).Secret);

        foreach (var client in new[] { ada.Client, key })
        {
            var refused = await client.OpenStreamAsync(HttpMethod.Get, "/events");
            refused.StatusCode.ShouldBe(HttpStatusCode.TooManyRequests);
            refused.Content.Headers.ContentType!.MediaType.ShouldBe("application/problem+json");
            (await refused.ProblemCode()).ShouldBe("too_many_feeds");
        }
        await using (await FollowAsync(bob.Client)) { }

        await feeds[0].DisposeAsync();
        var reopened = await RetryAsync(() => ada.Client.OpenStreamAsync(HttpMethod.Get, "/events"));
        reopened.StatusCode.ShouldBe(HttpStatusCode.OK);
        reopened.Dispose();
        foreach (var feed in feeds.Skip(1)) await feed.DisposeAsync();
    }

    /// <summary>The server notices a client went away when its next write fails: allow it a heartbeat or two.</summary>
    private static async Task<HttpResponseMessage> RetryAsync(Func<Task<HttpResponseMessage>> open)
    {
        for (var i = 0; ; i++)
        {
            var response = await open();
            if (response.StatusCode != HttpStatusCode.TooManyRequests || i == 20) return response;
            response.Dispose();
            await Task.Delay(250);
        }
    }

    [Theory]
    [InlineData("", "abc", "invalid_last_event_id")]
    [InlineData("", "-3", "invalid_last_event_id")]
    [InlineData("?after=-1", null, "invalid_after")]
    [InlineData("?after=999999999", null, "after_beyond_head")]
    [InlineData("", "999999999", "after_beyond_head")]
    [InlineData("?types=artifact.nope", null, "unknown_event_type")]
    [InlineData("?types=Artifact.*", null, "unknown_event_type")]
    [InlineData("?types=artifact.created,%3Bdrop", null, "unknown_event_type")]
    [InlineData("?contentType=not-a-type", null, "invalid_content_type")]
    public async Task bad_input_is_a_400_problem_with_a_stable_code(string query, string? lastEventId, string code)
    {
        var ada = await Fixture.NewUserAsync();
        var response = await ada.Client.OpenStreamAsync(HttpMethod.Get, "/events" + query, lastEventId: lastEventId);
        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        response.Content.Headers.ContentType!.MediaType.ShouldBe("application/problem+json");
        (await response.ProblemCode()).ShouldBe(code);
    }

    [Fact]
    public async Task malformed_typed_parameters_are_400_problems_too()
    {
        var ada = await Fixture.NewUserAsync();
        foreach (var query in new[] { "?after=abc", "?containerId=nope", "?artifactId=1" })
        {
            var response = await ada.Client.GetAsync("/events" + query, HttpCompletionOption.ResponseHeadersRead);
            response.StatusCode.ShouldBe(HttpStatusCode.BadRequest, query);
            response.Content.Headers.ContentType!.MediaType.ShouldBe("application/problem+json");
        }
        (await Fixture.Anonymous().GetAsync("/events", HttpCompletionOption.ResponseHeadersRead)).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task a_key_follows_only_what_its_scopes_read()
    {
        var ada = await Fixture.NewUserAsync();
        var workspace = await ada.WorkspaceAsync();
        using var key = Fixture.Host.NewClient((await ada.Client.KeyAsync(["resource:text/plain:read"])).Secret);
        await using var feed = await FollowAsync(key, "?types=artifact.created");

        await ada.ArtifactAsync(workspace, "Markdown", contentType: "text/markdown");
        var plain = Id(await ada.ArtifactAsync(workspace, "Plain", contentType: "text/plain"));

        var seen = (await feed.EventsUntilQuietAsync()).Select(f => Data(f)["resourceId"]!.GetValue<Guid>()).ToList();
        seen.ShouldBe([plain]);
    }
}
