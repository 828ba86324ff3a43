using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using AgentArtifacts.Api.Artifacts;
using AgentArtifacts.Api.Runs;
using AgentArtifacts.Api.Tests.Infrastructure;
using Shouldly;
using Xunit;
using Answer = AgentArtifacts.Api.Tests.Runs.RawPeer.Answer;

namespace AgentArtifacts.Api.Tests.Runs;

/// <summary>
/// How an HTTP tool run ends for each way a peer can behave, one row per behaviour, against a raw TCP peer on loopback. Each
/// row says what the peer does on each call, how the run ends, which transient failures it went through on the way, and how
/// many calls reached the peer. Every call must carry the run's id as its Idempotency-Key, the same on every attempt. The
/// test host retries after 50, 100 and 200 ms, waits at most 30 s for a Retry-After, and reads at most 1 MiB of an answer.
/// </summary>
public sealed class HttpPeerBehaviourTests(ApiFixture fixture) : ApiTest(fixture), IAsyncLifetime
{
    public sealed record Row(
        Func<int, Answer> Peer,
        string Status,
        string? Code,
        string[] AttemptCodes,
        int Calls,
        Action<JsonObject>? Context = null,
        Action<JsonObject>? Stored = null,
        string? Secret = null,
        TimeSpan? MinGap = null,
        TimeSpan? MaxDuration = null,
        string? IdempotencyKey = null);

    private static readonly Answer Ok = RawPeer.Json(200, """{"ok":true}""");

    /// <summary>The first call answered so, every later one <see cref="Ok"/>.</summary>
    private static Func<int, Answer> First(Answer first) => n => n == 0 ? first : Ok;

    private static Func<int, Answer> Always(Answer answer) => _ => answer;

    private static void Timeout1s(JsonObject context) => context["timeoutSeconds"] = 1;

    private static Action<JsonObject> Header(string name, string value) => context => context["endpoint"]!["headers"] = new JsonObject { [name] = value };

    private const string MidBody = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"partial\":";

    public static readonly Dictionary<string, Row> Rows = new()
    {
        ["answers at once"] = new(Always(Ok), "completed", null, [], 1),
        ["closes the connection in the middle of its headers"] = new(First(RawPeer.Send("HTTP/1.1 200 OK\r\nContent-Ty")),
            "completed", null, ["upstream_disconnected"], 2),
        ["closes the connection in the middle of its body"] = new(First(RawPeer.Send(MidBody)), "completed", null, ["upstream_disconnected"], 2),
        ["closes the connection in the middle of a chunked body"] = new(First(RawPeer.Send(
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n01234567")),
            "completed", null, ["upstream_disconnected"], 2),
        ["closes the connection in the middle of its body every time"] = new(Always(RawPeer.Send(MidBody)),
            "failed", "upstream_disconnected", ["upstream_disconnected", "upstream_disconnected", "upstream_disconnected"], 4),
        ["answers 429 with Retry-After in seconds"] = new(First(RawPeer.Json(429, "{}", "Retry-After: 1\r\n")),
            "completed", null, ["upstream_error"], 2, MinGap: TimeSpan.FromSeconds(1)),
        ["answers 429 with Retry-After in seconds to a call carrying a secret"] = new(First(RawPeer.Json(429, "{}", "Retry-After: 1\r\n")),
            "completed", null, ["upstream_error"], 2, Secret: "tok-9d1e-valid", MinGap: TimeSpan.FromSeconds(1)),
        ["answers 503 with Retry-After as an HTTP date"] = new(First((c, ct) =>
            RawPeer.Json(503, "{}", $"Retry-After: {DateTimeOffset.UtcNow.AddSeconds(2):R}\r\n")(c, ct)),
            "completed", null, ["upstream_error"], 2, MinGap: TimeSpan.FromSeconds(0.9)),
        ["answers 429 with a Retry-After longer than the service waits"] = new(Always(RawPeer.Json(429, "{}", "Retry-After: 120\r\n")),
            "failed", "upstream_retry_after_too_long", [], 1, MaxDuration: TimeSpan.FromSeconds(10)),
        ["answers 503 with a Retry-After date beyond what the service waits"] = new(Always((c, ct) =>
            RawPeer.Json(503, "{}", $"Retry-After: {DateTimeOffset.UtcNow.AddMinutes(10):R}\r\n")(c, ct)),
            "failed", "upstream_retry_after_too_long", [], 1, MaxDuration: TimeSpan.FromSeconds(10)),
        ["stalls before its headers"] = new(First(RawPeer.SendThenStall("")), "completed", null, ["upstream_timeout"], 2, Context: Timeout1s),
        ["stalls in the middle of its body"] = new(First(RawPeer.SendThenStall("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{")),
            "completed", null, ["upstream_timeout"], 2, Context: Timeout1s),
        ["declares a body over the size limit"] = new(Always(RawPeer.SendThenStall("HTTP/1.1 200 OK\r\nContent-Length: 2000000\r\n\r\nxx")),
            "failed", "response_too_large", [], 1, MaxDuration: TimeSpan.FromSeconds(10)),
        ["sends a chunked body over the size limit without a length"] = new(Always(RawPeer.Chunked(17, 64 * 1024)),
            "failed", "response_too_large", [], 1),
        ["is configured with CR LF in a header value"] = new(Always(Ok), "failed", "invalid_header_value", [], 0,
            Stored: Header("X-Note", "a\r\nX-Injected: yes")),
        ["is configured with a header name that is no token"] = new(Always(Ok), "failed", "invalid_header_name", [], 0,
            Stored: Header("X-Injected: yes\r\nX-Note", "a")),
        ["is sent a secret holding CR LF"] = new(Always(Ok), "failed", "invalid_header_value", [], 0, Secret: "tok-73a9\r\nX-Injected: yes"),
        // Other control characters cannot be stored (the API refuses them in every string); a non-ASCII one can.
        ["is sent a secret holding a non-ASCII character"] = new(Always(Ok), "failed", "invalid_header_value", [], 0, Secret: "tok-51c2\u00e9n"),
        ["is configured with an Idempotency-Key of its own"] = new(First(RawPeer.Json(503, "{}")), "completed", null, ["upstream_error"], 2,
            Context: Header("Idempotency-Key", "the-authors-key"), IdempotencyKey: "the-authors-key"),
    };

    public static IEnumerable<object[]> Behaviours => Rows.Keys.Select(k => new object[] { k });

    async Task IAsyncLifetime.InitializeAsync() => await Fixture.ResetAsync();

    Task IAsyncLifetime.DisposeAsync() => Task.CompletedTask;

    [Theory]
    [MemberData(nameof(Behaviours))]
    public async Task an_http_tool_run_against_a_peer_that(string behaviour)
    {
        var row = Rows[behaviour];
        await using var peer = RawPeer.Start(row.Peer);
        var ada = await Fixture.NewUserAsync();
        if (row.Secret is { } secret)
        {
            (await ada.Client.PostJson("/secrets", new { name = "TOKEN", value = secret })).StatusCode.ShouldBe(HttpStatusCode.Created);
        }
        var tool = await ada.RawToolAsync(peer, c =>
        {
            if (row.Secret is not null) Header("X-Token", "{{secret:TOKEN}}")(c);
            row.Context?.Invoke(c);
        });
        if (row.Stored is { } stored) await StoreContextAsync(tool, stored);

        var clock = Stopwatch.StartNew();
        var response = await ada.Client.InvokeAsync(tool, new { q = 1 });
        clock.Stop();

        var text = await response.Content.ReadAsStringAsync();
        response.StatusCode.ShouldBe(HttpStatusCode.OK, text);
        var run = await response.Json();
        (run["status"]!.GetValue<string>(), run["error"]?["code"]?.GetValue<string>()).ShouldBe((row.Status, row.Code), text);
        var runId = run["id"]!.GetValue<Guid>();
        await using (var session = Fixture.Host.Store.QuerySession())
        {
            (await session.Events.FetchStreamAsync(runId)).Select(e => e.Data).OfType<RunAttemptFailed>().Select(f => f.Error["code"]!.GetValue<string>())
                .ShouldBe(row.AttemptCodes);
        }
        var requests = peer.Requests.ToList();
        requests.Count.ShouldBe(row.Calls);
        // One key per call, the same on every attempt: the run's id, unless the tool configured its own.
        requests.ShouldAllBe(r => r.Values("Idempotency-Key").SequenceEqual(new[] { row.IdempotencyKey ?? runId.ToString() }));
        requests.ShouldAllBe(r => r.Values("X-Injected").Length == 0);
        if (row.MinGap is { } gap) (requests[1].At - requests[0].At).ShouldBeGreaterThanOrEqualTo(gap);
        if (row.MaxDuration is { } most) clock.Elapsed.ShouldBeLessThan(most);
        if (row.Secret is { } value) text.ShouldNotContain(value[..8]);  // the answer names the header, never the secret's value
    }

    [Fact]
    public async Task a_retry_after_too_long_says_when_to_call_again()
    {
        await using var peer = RawPeer.Start(Always(RawPeer.Json(429, "{}", "Retry-After: 120\r\n")));
        var ada = await Fixture.NewUserAsync();
        var tool = await ada.RawToolAsync(peer);

        var before = DateTimeOffset.UtcNow;
        var run = await (await ada.Client.InvokeAsync(tool, new { })).Json();

        var error = run["error"]!;
        (error["status"]!.GetValue<int>(), error["retryAfterSeconds"]!.GetValue<long>()).ShouldBe((429, 120));
        DateTimeOffset.Parse(error["retryAt"]!.GetValue<string>()).ShouldBeInRange(before.AddSeconds(119), DateTimeOffset.UtcNow.AddSeconds(121));
    }

    /// <summary>
    /// Writes the tool's context straight to its stream, as a configuration saved before today's save-time checks would be:
    /// what dispatch must refuse on its own.
    /// </summary>
    private async Task StoreContextAsync(Guid tool, Action<JsonObject> edit)
    {
        await using var session = Fixture.Host.Store.LightweightSession();
        var artifact = (await session.LoadAsync<Artifact>(tool))!;
        var context = artifact.Context.DeepClone().AsObject();
        edit(context);
        session.Events.Append(tool, new ArtifactContextChanged(tool, context));
        await session.SaveChangesAsync();
    }
}

public static class RawPeerArrange
{
    /// <summary>An HTTP tool whose endpoint is the raw peer.</summary>
    public static async Task<Guid> RawToolAsync(this TestUser user, RawPeer peer, Action<JsonObject>? context = null)
    {
        var fields = new JsonObject { ["endpoint"] = new JsonObject { ["url"] = peer.Url("/tool").ToString() } };
        context?.Invoke(fields);
        return (await user.ArtifactAsync(await user.WorkspaceAsync(), "Tool", contentType: "application/vnd.agience.http-tool+json", content: null,
            context: fields))["id"]!.GetValue<Guid>();
    }
}
