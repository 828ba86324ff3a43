using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using AgentArtifacts.Api.Tests.Infrastructure;
using Npgsql;
using Shouldly;
using Xunit;
using Xunit.Abstractions;

namespace AgentArtifacts.Api.Tests.Nodes;

/// <summary>
/// Two nodes of the built service as separate processes (HotCold projections, Balanced durability) on one database, one
/// killed with SIGKILL under load, and the database cut away from the other. Checks what docs/architecture.md ("Several
/// nodes") promises operators. Slow (about two minutes), so it runs in its own `dotnet test` pass (build/test.sh).
/// </summary>
[Trait("Category", "MultiProcess")]
public sealed class NodeFailureTests(ITestOutputHelper output) : IAsyncLifetime
{
    /// <summary>A projection led by a node that dies runs on another node within this (docs/architecture.md).</summary>
    private static readonly TimeSpan FailoverBound = TimeSpan.FromSeconds(5);
    /// <summary>Async runs queued on a node that dies are taken over by another node within this (docs/architecture.md).</summary>
    private static readonly TimeSpan DeadNodeRunBound = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan ToolDelay = TimeSpan.FromSeconds(5);

    private TestDatabase _database = null!;

    public async Task InitializeAsync() => _database = await TestDatabase.StartAsync();
    public async Task DisposeAsync() => await _database.DisposeAsync();

    [Fact]
    public async Task two_nodes_share_tokens_fail_over_within_bounds_lose_nothing_and_answer_503_while_the_database_is_away()
    {
        var server = new NpgsqlConnectionStringBuilder(_database.ConnectionString);
        await using var proxyA = new TcpProxy(server.Host!, server.Port);
        await using var proxyB = new TcpProxy(server.Host!, server.Port);
        await using var peer = await ToolPeer.StartAsync(ToolDelay);
        // Both start together on an empty database.
        await using var nodeA = NodeProcess.Start("node-a", proxyA.Through(_database.ConnectionString));
        await using var nodeB = NodeProcess.Start("node-b", proxyB.Through(_database.ConnectionString));
        await Task.WhenAll(nodeA.WaitUntilLiveAsync(TimeSpan.FromSeconds(90)), nodeB.WaitUntilLiveAsync(TimeSpan.FromSeconds(90)));

        // ---- Tokens: the first token requests reach both nodes at once; each node accepts the other's token at once.
        using (var anonymous = nodeA.Client())
        {
            (await anonymous.PostJson("/auth/register", new { email = "ada@example.com", password = "correct horse battery", name = "Ada" }))
                .StatusCode.ShouldBe(HttpStatusCode.Created);
        }
        var tokens = await Task.WhenAll(TokenAsync(nodeA), TokenAsync(nodeB));
        using (var bWithA = nodeB.Client(tokens[0])) (await bWithA.GetAsync("/auth/me")).StatusCode.ShouldBe(HttpStatusCode.OK);
        using (var aWithB = nodeA.Client(tokens[1])) (await aWithB.GetAsync("/auth/me")).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await ScalarAsync<long>("select count(*) from agentartifacts.mt_doc_signingkey")).ShouldBe(1);

        // ---- Arrange: a collection, workspaces, an HTTP tool, and drafts for a commit that will be killed mid-way.
        using var adaA = nodeA.Client(tokens[0]);
        using var adaB = nodeB.Client(tokens[0]);
        var collection = await IdOf(adaA.PostJson("/collections", new { title = "Published" }));
        var loadWorkspace = await IdOf(adaA.PostJson("/workspaces", new { title = "Load" }));
        var failoverWorkspace = await IdOf(adaA.PostJson("/workspaces", new { title = "Fail-over" }));
        var draftsWorkspace = await IdOf(adaA.PostJson("/workspaces", new { title = "Drafts", targetCollectionIds = new[] { collection } }));
        var tool = await IdOf(adaA.PostJson("/artifacts", new
        {
            containerId = loadWorkspace, contentType = "application/vnd.agience.http-tool+json", title = "Slow tool",
            context = new { endpoint = new { url = peer.Url.ToString() } },
        }));
        var drafts = new ConcurrentBag<Guid>();
        await Parallel.ForEachAsync(Enumerable.Range(0, 150), new ParallelOptions { MaxDegreeOfParallelism = 6 }, async (i, _) =>
            drafts.Add(await IdOf(adaB.PostJson("/artifacts", new { containerId = draftsWorkspace, contentType = "text/markdown", title = $"Draft {i}", content = $"Draft number {i}." }))));

        // The node to kill leads projections: it holds advisory locks of the async daemon (nodes hold them per projection).
        var shardCount = (await ReadinessAsync(nodeA))["projections"]!.AsArray().Count;
        var leaders = await WaitForAsync(TimeSpan.FromSeconds(30), async () =>
        {
            var held = await ProjectionLocksAsync();
            return held.Values.Sum() >= shardCount ? held : null;
        }, "the async daemon's projection locks");
        var (victim, survivor, survivorProxy) = leaders.GetValueOrDefault("node-b") > leaders.GetValueOrDefault("node-a")
            ? (nodeB, nodeA, proxyA) : (nodeA, nodeB, proxyB);
        output.WriteLine($"projection locks: {string.Join(", ", leaders.Select(l => $"{l.Key}={l.Value}"))}; killing {victim.Name}");
        using var onVictim = victim.Client(tokens[0]);
        using var onSurvivor = survivor.Client(tokens[0]);

        // ---- Load: writes on both nodes.
        var acknowledged = new ConcurrentBag<Guid>();
        using var stopWriting = new CancellationTokenSource();
        var writers = new[] { adaA, adaB }.Select(client => Task.Run(async () =>
        {
            for (var i = 0; !stopWriting.IsCancellationRequested; i++)
            {
                try
                {
                    var response = await client.PostJson("/artifacts", new { containerId = loadWorkspace, contentType = "text/markdown", title = $"Load {i}", content = "x" });
                    if (response.StatusCode == HttpStatusCode.Created) acknowledged.Add((await response.Json())["id"]!.GetValue<Guid>());
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { await Task.Delay(50); }
            }
        })).ToList();
        await Task.Delay(1500);

        // Async runs queued on the victim, each a tool call of ToolDelay: still running or waiting when it dies.
        var runs = new List<(Guid Id, string Nonce)>();
        for (var i = 0; i < 6; i++)
        {
            var nonce = $"run-{i}-{Guid.NewGuid():N}";
            var accepted = await onVictim.PostJson($"/artifacts/{tool}/invoke", new { input = new { nonce }, mode = "async" });
            accepted.StatusCode.ShouldBe(HttpStatusCode.Accepted, await accepted.Content.ReadAsStringAsync());
            runs.Add(((await accepted.Json())["id"]!.GetValue<Guid>(), nonce));
        }

        // ---- Kill the victim while it commits 150 drafts, runs tool calls and takes writes.
        var commit = Task.Run(async () =>
        {
            try { return (await onVictim.PostJson($"/workspaces/{draftsWorkspace}/commit", new { message = "All or nothing" })).StatusCode; }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { return (HttpStatusCode?)null; }
        });
        // Killed inside the commit's transaction when it can be seen there: it has written revision documents (only a
        // commit does) and not committed yet. Otherwise, after the commit ended, which the assertions below also cover.
        var caughtMidway = await CommitTransactionOpenAsync(victim.Name, commit, TimeSpan.FromSeconds(10));
        victim.Kill();
        var sinceKill = Stopwatch.StartNew();
        var unfinishedAtKill = 0;
        foreach (var (id, _) in runs)
        {
            if ((await (await onSurvivor.GetAsync($"/runs/{id}")).Json())["status"]?.GetValue<string>() != "completed") unfinishedAtKill++;
        }

        // ---- Fail-over: a write on the survivor reaches its listing (ArtifactSummary) and search (SearchProjection).
        var marker = $"failover{Guid.NewGuid():N}"[..24];
        var markerId = await IdOf(onSurvivor.PostJson("/artifacts", new { containerId = failoverWorkspace, contentType = "text/markdown", title = marker }));
        await WaitForAsync(FailoverBound + TimeSpan.FromSeconds(10), async () =>
        {
            var listed = (await (await onSurvivor.GetAsync($"/workspaces/{failoverWorkspace}/artifacts")).Json())["items"]!.AsArray()
                .Any(a => a!["id"]!.GetValue<Guid>() == markerId);
            var found = (await (await onSurvivor.GetAsync($"/search?q={marker}")).Json())["items"]?.AsArray()
                .Any(a => a!["id"]!.GetValue<Guid>() == markerId) == true;
            return listed && found ? (object)true : null;
        }, "the survivor's listing and search to show a write made after the kill");
        var failover = sinceKill.Elapsed;
        output.WriteLine($"fail-over: listing and search current {failover.TotalSeconds:F1} s after the kill");
        failover.ShouldBeLessThanOrEqualTo(FailoverBound, $"projection fail-over took {failover.TotalSeconds:F1} s\n{survivor.Output}");

        await stopWriting.CancelAsync();
        await Task.WhenAll(writers);

        // ---- No acknowledged write is lost: each is readable, and listed once the projections have caught up.
        output.WriteLine($"acknowledged writes: {acknowledged.Count}");
        acknowledged.Count.ShouldBeGreaterThan(10);
        foreach (var id in acknowledged) (await onSurvivor.GetAsync($"/artifacts/{id}")).StatusCode.ShouldBe(HttpStatusCode.OK, $"acknowledged artifact {id}");
        await WaitForAsync(TimeSpan.FromSeconds(20), async () =>
        {
            var listed = await ListAllAsync(onSurvivor, $"/workspaces/{loadWorkspace}/artifacts");
            return acknowledged.All(listed.Contains) ? (object)true : null;
        }, "every acknowledged write in the survivor's listing");

        // ---- The commit the kill interrupted is all or nothing.
        var commitStatus = await commit;
        var revisions = new List<long>();
        foreach (var id in drafts) revisions.Add((await (await onSurvivor.GetAsync($"/artifacts/{id}")).Json())["revision"]!.GetValue<long>());
        var committed = revisions.Count(r => r == 1);
        output.WriteLine($"commit {(caughtMidway ? "killed inside its transaction" : "not seen in its transaction")}, answered " +
                         $"{commitStatus?.ToString() ?? "nothing"}; {committed} of {drafts.Count} drafts committed");
        committed.ShouldBeOneOf(0, drafts.Count);
        if (commitStatus == HttpStatusCode.OK) committed.ShouldBe(drafts.Count);

        // ---- No stuck run: the runs queued on the dead node complete on the survivor within the documented bound.
        foreach (var (id, _) in runs)
        {
            await WaitForAsync(DeadNodeRunBound + ToolDelay + TimeSpan.FromSeconds(5) - sinceKill.Elapsed, async () =>
                (await (await onSurvivor.GetAsync($"/runs/{id}")).Json())["status"]?.GetValue<string>() == "completed" ? (object)true : null,
                $"run {id} to complete on the survivor");
        }
        output.WriteLine($"runs: {unfinishedAtKill} of {runs.Count} unfinished at the kill, all completed {sinceKill.Elapsed.TotalSeconds:F1} s after it; tool calls: {peer.Calls.Count}");
        unfinishedAtKill.ShouldBe(runs.Count, "every run should still have been running or queued on the victim when it died");

        // ---- A repeated tool call is recognisable: every call for one run carries the same Idempotency-Key, unique to the run.
        var callsByRun = peer.Calls.GroupBy(c => c.Nonce).ToDictionary(g => g.Key, g => g.ToList());
        foreach (var (_, nonce) in runs) callsByRun.ShouldContainKey(nonce);
        foreach (var (id, nonce) in runs)
        {
            callsByRun[nonce].ShouldAllBe(c => c.IdempotencyKey == id.ToString(), $"every call of run {id} carries its id as Idempotency-Key");
        }
        output.WriteLine($"runs called more than once (recognisable by their key): {callsByRun.Count(g => g.Value.Count > 1)}");

        // ---- The database goes away from the survivor: 503 database_unavailable with Retry-After, never 500; then it recovers.
        var someId = acknowledged.First();
        survivorProxy.Cut();
        var outage = Stopwatch.StartNew();
        var answers = new List<(string Request, HttpStatusCode Status, string? Code, bool RetryAfter)>();
        while (outage.Elapsed < TimeSpan.FromSeconds(4))
        {
            foreach (var (name, send) in new (string, Func<Task<HttpResponseMessage>>)[]
            {
                ("GET artifact", () => onSurvivor.GetAsync($"/artifacts/{someId}")),
                ("POST artifact", () => onSurvivor.PostJson("/artifacts", new { containerId = loadWorkspace, contentType = "text/markdown", title = "During outage" })),
                ("GET listing", () => onSurvivor.GetAsync($"/workspaces/{loadWorkspace}/artifacts")),
                ("GET search", () => onSurvivor.GetAsync("/search?q=load")),
            })
            {
                var response = await send();
                var code = response.Content.Headers.ContentType?.MediaType == "application/problem+json" ? (await response.Json())["code"]?.GetValue<string>() : null;
                answers.Add((name, response.StatusCode, code, response.Headers.RetryAfter is not null));
            }
        }
        using var probe = survivor.Client();
        var readyDuringOutage = await probe.GetAsync("/health/ready");
        survivorProxy.Restore();
        output.WriteLine($"during the outage: {answers.Count} requests, " +
                         string.Join(", ", answers.GroupBy(a => $"{a.Request} {(int)a.Status} {a.Code}").Select(g => $"{g.Key} ×{g.Count()}")));
        answers.ShouldAllBe(a => a.Status == HttpStatusCode.ServiceUnavailable && a.Code == "database_unavailable" && a.RetryAfter);
        readyDuringOutage.StatusCode.ShouldBe(HttpStatusCode.ServiceUnavailable);
        await WaitForAsync(TimeSpan.FromSeconds(15), async () =>
            (await onSurvivor.GetAsync($"/artifacts/{someId}")).StatusCode == HttpStatusCode.OK ? (object)true : null, "requests to succeed after the outage");
        (await onSurvivor.PostJson("/artifacts", new { containerId = loadWorkspace, contentType = "text/markdown", title = "After outage" }))
            .StatusCode.ShouldBe(HttpStatusCode.Created);
        await WaitForAsync(TimeSpan.FromSeconds(30), async () =>
            (await probe.GetAsync("/health/ready")).StatusCode == HttpStatusCode.OK ? (object)true : null, "readiness after the outage");
    }

    private static async Task<string> TokenAsync(NodeProcess node)
    {
        using var client = node.Client();
        var response = await client.PasswordGrant("ada@example.com", "correct horse battery");
        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        return (await response.Json())["access_token"]!.GetValue<string>();
    }

    private static async Task<Guid> IdOf(Task<HttpResponseMessage> request)
    {
        var response = await request;
        response.StatusCode.ShouldBe(HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        return (await response.Json())["id"]!.GetValue<Guid>();
    }

    private static async Task<JsonObject> ReadinessAsync(NodeProcess node)
    {
        using var client = node.Client();
        return await (await client.GetAsync("/health/ready")).Json();
    }

    private static async Task<HashSet<Guid>> ListAllAsync(HttpClient client, string path)
    {
        var ids = new HashSet<Guid>();
        string? cursor = null;
        do
        {
            var page = await (await client.GetAsync($"{path}?limit=200{(cursor is null ? "" : $"&cursor={Uri.EscapeDataString(cursor)}")}")).Json();
            foreach (var item in page["items"]!.AsArray()) ids.Add(item!["id"]!.GetValue<Guid>());
            cursor = page["nextCursor"]?.GetValue<string>();
        } while (cursor is not null);
        return ids;
    }

    /// <summary>Advisory locks held per node (by application_name): the async daemon holds one per projection it leads.</summary>
    private async Task<Dictionary<string, int>> ProjectionLocksAsync()
    {
        await using var connection = new NpgsqlConnection(_database.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("""
            select a.application_name, count(*)::int from pg_locks l join pg_stat_activity a on a.pid = l.pid
            where l.locktype = 'advisory' and l.granted and a.application_name in ('node-a', 'node-b') group by 1
            """, connection);
        await using var reader = await command.ExecuteReaderAsync();
        var held = new Dictionary<string, int>();
        while (await reader.ReadAsync()) held[reader.GetString(0)] = reader.GetInt32(1);
        return held;
    }

    /// <summary>Waits until <paramref name="node"/> holds a write lock on the revision documents' table in an open transaction.</summary>
    private async Task<bool> CommitTransactionOpenAsync(string node, Task commit, TimeSpan within)
    {
        await using var connection = new NpgsqlConnection(_database.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("""
            select exists (select 1 from pg_locks l join pg_stat_activity a on a.pid = l.pid
                           where a.application_name = $1 and l.mode = 'RowExclusiveLock'
                             and l.relation = 'agentartifacts.mt_doc_artifactrevision'::regclass)
            """, connection) { Parameters = { new() { Value = node } } };
        await command.PrepareAsync();
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < within && !commit.IsCompleted)
        {
            if ((bool)(await command.ExecuteScalarAsync())!) return true;
        }
        return false;
    }

    private async Task<T> ScalarAsync<T>(string sql)
    {
        await using var connection = new NpgsqlConnection(_database.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return (T)(await command.ExecuteScalarAsync())!;
    }

    private static async Task<T> WaitForAsync<T>(TimeSpan within, Func<Task<T?>> probe, string what) where T : class
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                if (await probe() is { } result) return result;
            }
            catch (HttpRequestException) { }
            if (deadline.Elapsed > within) throw new TimeoutException($"Waited {within.TotalSeconds:F0} s for {what}.");
            await Task.Delay(100);
        }
    }
}
