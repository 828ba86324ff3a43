using System.Buffers.Text;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Marten;
using Marten.Services;
using Npgsql;

namespace AgentArtifacts.Api.Infrastructure;

/// <summary>
/// Declares the async projections a read endpoint answers from: the projection class, or for a single-stream projection or a
/// snapshot its document type (the daemon names those after the document).
/// A request to it with a <c>Consistency-Token</c> waits until all of them have processed the token's event.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class ReadsProjectionsAttribute(params Type[] projections) : Attribute
{
    public IReadOnlyList<Type> Projections { get; } = projections;

    /// <summary>Reads the event log itself up to the daemon's high-water mark (below which no transaction can still commit an event).</summary>
    public bool EventLog { get; set; }

    /// <summary>The daemon's own progress row: the position up to which the log has no gaps.</summary>
    public const string HighWaterMark = "HighWaterMark";

    /// <summary>Whether a daemon shard (<c>{projection name}:{shard}</c>) belongs to one of the projections.</summary>
    public bool Covers(string shard) => Projections.Any(p =>
        shard.StartsWith(p.FullName + ":", StringComparison.Ordinal) || shard.StartsWith(p.Name + ":", StringComparison.Ordinal));
}

/// <summary>
/// Read-your-writes across the async projections. A token is an opaque wrapper around a global event sequence: the highest one
/// the write appended, or the log's head when it appended nothing. <c>v1.</c> + base64url, so clients treat it as a string.
/// </summary>
public static class ConsistencyToken
{
    public const string Header = "Consistency-Token";
    private const string Prefix = "seq:";

    public static string Encode(long sequence) =>
        "v1." + Base64Url.EncodeToString(Encoding.ASCII.GetBytes(Prefix + sequence.ToString(CultureInfo.InvariantCulture)));

    public static bool TryDecode(string token, out long sequence)
    {
        sequence = 0;
        if (!token.StartsWith("v1.", StringComparison.Ordinal) || token.Length > 64) return false;
        var bytes = new byte[token.Length];
        if (!Base64Url.IsValid(token.AsSpan(3)) || !Base64Url.TryDecodeFromChars(token.AsSpan(3), bytes, out var written)) return false;
        var text = Encoding.ASCII.GetString(bytes, 0, written);
        return text.StartsWith(Prefix, StringComparison.Ordinal)
            && long.TryParse(text.AsSpan(Prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out sequence) && sequence >= 0;
    }
}

/// <summary>The highest event sequence the current request's sessions committed (a request feature the listener fills).</summary>
public sealed class AppendedEvents
{
    private long _highest;
    public long Highest => Interlocked.Read(ref _highest);

    public void Saw(long sequence)
    {
        var current = Interlocked.Read(ref _highest);
        while (sequence > current)
        {
            var seen = Interlocked.CompareExchange(ref _highest, sequence, current);
            if (seen == current) return;
            current = seen;
        }
    }
}

/// <summary>
/// Records, for the HTTP request a session works for, the sequences of the events it committed. Registered on the store, so
/// every session counts: the slices' own and those Wolverine's transactional middleware opens.
/// </summary>
public sealed class AppendedEventsListener(IHttpContextAccessor http) : DocumentSessionListenerBase
{
    public override Task AfterCommitAsync(IDocumentSession session, IChangeSet commit, CancellationToken token)
    {
        try
        {
            if (http.HttpContext?.Features.Get<AppendedEvents>() is { } appended)
            {
                foreach (var e in commit.GetEvents()) appended.Saw(e.Sequence);
            }
        }
        catch (ObjectDisposedException)
        {
            // Work that outlived its request (its context already torn down) has no answer left to carry a token.
        }
        return Task.CompletedTask;
    }
}

public sealed class AppendedEventsRegistration(IHttpContextAccessor http) : IConfigureMarten
{
    public void Configure(IServiceProvider services, StoreOptions options) => options.Listeners.Add(new AppendedEventsListener(http));
}

/// <summary>
/// Both halves of read-your-writes, in one place for every route: a successful write (any method but GET, HEAD and OPTIONS)
/// answers with <c>Consistency-Token</c>; a request to a route declaring <see cref="ReadsProjectionsAttribute"/> that sends
/// one waits until those projections have processed that position, at most <c>Consistency:MaxWaitMs</c> (5 s), then answers
/// 503 <c>projection_lagging</c> with Retry-After. A malformed token, or one beyond the log's head (not issued here), is 400.
/// Routes that read no async projection ignore the header: what they read is current in the write's own transaction.
/// </summary>
public sealed class ReadYourWrites(RequestDelegate next, NpgsqlDataSource db, IDocumentStore store, IConfiguration configuration)
{
    private readonly TimeSpan _maxWait = TimeSpan.FromMilliseconds(configuration.GetValue("Consistency:MaxWaitMs", 5000));
    private readonly TimeSpan _poll = TimeSpan.FromMilliseconds(configuration.GetValue("Consistency:PollMs", 25));
    private readonly string _schema = store.Options.Events.DatabaseSchemaName;

    public async Task InvokeAsync(HttpContext context)
    {
        var method = context.Request.Method;
        if (!HttpMethods.IsGet(method) && !HttpMethods.IsHead(method) && !HttpMethods.IsOptions(method))
        {
            var appended = new AppendedEvents();
            context.Features.Set(appended);
            context.Response.OnStarting(async () =>
            {
                if (context.Response.StatusCode >= 400) return;
                try
                {
                    var position = appended.Highest > 0 ? appended.Highest : await HeadAsync(CancellationToken.None);
                    context.Response.Headers[ConsistencyToken.Header] = ConsistencyToken.Encode(position);
                }
                catch (NpgsqlException)
                {
                    // The write is done; an answer without a token (the database just went away) beats a failed answer.
                }
            });
        }

        if (context.User.Identity?.IsAuthenticated == true && context.GetEndpoint()?.Metadata.GetMetadata<ReadsProjectionsAttribute>() is { } reads
            && context.Request.Headers.TryGetValue(ConsistencyToken.Header, out var values))
        {
            if (await WaitAsync(values.ToString(), reads, context.RequestAborted) is { } problem)
            {
                if (problem.Status == 503) context.Response.Headers.RetryAfter = "1";
                context.Response.StatusCode = problem.Status!.Value;
                await Problems.Result(problem).ExecuteAsync(context);
                return;
            }
        }
        await next(context);
    }

    private async Task<ProblemDetails?> WaitAsync(string token, ReadsProjectionsAttribute reads, CancellationToken ct)
    {
        if (!ConsistencyToken.TryDecode(token, out var sequence))
            return Problems.Create(400, "invalid_consistency_token", "The Consistency-Token is not one this service issued; send it exactly as a write's response carried it.");
        var shards = store.Advanced.AllAsyncProjectionShardNames().Select(s => s.Identity).Where(reads.Covers)
            .Concat(reads.EventLog ? [ReadsProjectionsAttribute.HighWaterMark] : []).ToArray();
        if (sequence == 0 || shards.Length == 0) return null;
        if (sequence > await HeadAsync(ct))
            return Problems.Create(400, "consistency_token_ahead", "The Consistency-Token names a position beyond the event log's head: it was not issued by this service's database.");

        // Wall-clock bound on a wait for other processes (the projection daemon), not a business time: Stopwatch, not TimeProvider.
        var waited = Stopwatch.StartNew();
        while (true)
        {
            if (await ReachedAsync(shards, sequence, ct)) return null;
            if (waited.Elapsed >= _maxWait) break;
            await Task.Delay(_poll, ct);
        }
        return Problems.Create(503, "projection_lagging",
            $"The read models this answer comes from have not yet caught up with the write the Consistency-Token names (waited {_maxWait.TotalSeconds:0.#} s); retry after Retry-After.");
    }

    private async Task<long> HeadAsync(CancellationToken ct)
    {
        await using var command = db.CreateCommand($"select coalesce(max(seq_id), 0) from {_schema}.mt_events");
        return (long)(await command.ExecuteScalarAsync(ct))!;
    }

    /// <summary>Whether every shard has recorded progress at or past the sequence (a shard with no progress row yet has not).</summary>
    private async Task<bool> ReachedAsync(string[] shards, long sequence, CancellationToken ct)
    {
        await using var command = db.CreateCommand(
            $"select count(*) from {_schema}.mt_event_progression where name = any($1) and coalesce(last_seq_id, 0) >= $2");
        command.Parameters.AddWithValue(shards);
        command.Parameters.AddWithValue(sequence);
        return (long)(await command.ExecuteScalarAsync(ct))! == shards.Length;
    }
}
