using System.Collections.Concurrent;
using Marten;
using Npgsql;
using AgentArtifacts.Api.Infrastructure;

namespace AgentArtifacts.Api.Runs;

/// <summary>
/// Appending to a run stream. Every append also queues a PostgreSQL <c>NOTIFY</c> in the same transaction, so the nodes'
/// <see cref="RunSignals"/> hear of it once it commits: event streams wake up, and a cancel reaches the node that runs it.
/// </summary>
public static class RunJournal
{
    public static void Append(IDocumentSession session, Guid runId, params object[] events)
    {
        session.Events.Append(runId, events);
        Notify(session, runId);
    }

    /// <summary>A <c>NOTIFY</c> (it returns no rows, which a queued Marten command must not); payloads are ids we format, never input.</summary>
    private static void Notify(IDocumentSession session, string payload) =>
        session.QueueSqlCommand($"notify {RunSignals.Channel}, '{payload}'");

    public static void Notify(IDocumentSession session, Guid runId) => Notify(session, runId.ToString());

    public static void NotifyCancel(IDocumentSession session, Guid runId) => Notify(session, RunSignals.CancelPrefix + runId);

    /// <summary>
    /// Appends the event as the stream's next after <paramref name="version"/> (one round trip), through the session holding
    /// an inline run while its copy is current (<see cref="InlineRun"/>), else through a session of its own. When something
    /// else was appended meanwhile (a cancel, the dispatch's own events), the inline run's copy is stale, and this decides
    /// again as <see cref="AppendUnlessFinishedAsync"/>.
    /// </summary>
    public static async Task<bool> AppendAtAsync(IDocumentStore store, InlineRun? inline, Guid runId, long version, Guid actor, object @event,
        CancellationToken ct)
    {
        if (inline?.Session is { } holder)
        {
            if (await TryAppendAtAsync(holder, runId, version, actor, @event, ct)) return true;
            holder.EjectAllPendingChanges();
            inline.Stale();
        }
        else
        {
            await using var session = store.LightweightSession();
            if (await TryAppendAtAsync(session, runId, version, actor, @event, ct)) return true;
        }
        return await AppendUnlessFinishedAsync(store, runId, actor, @event, ct);
    }

    private static async Task<bool> TryAppendAtAsync(IDocumentSession session, Guid runId, long version, Guid actor, object @event, CancellationToken ct)
    {
        session.LastModifiedBy = actor.ToString();
        session.Events.Append(runId, version + 1, @event);
        Notify(session, runId);
        try
        {
            await session.SaveChangesAsync(ct);
            return true;
        }
        catch (Exception e) when (Concurrency.IsConflict(e))
        {
            return false;
        }
    }

    /// <summary>
    /// Appends the event unless the run has finished meanwhile (a cancel won the race): the check and the append are one
    /// optimistic write, retried when another writer got in between. False when the run had finished.
    /// </summary>
    public static async Task<bool> AppendUnlessFinishedAsync(IDocumentStore store, Guid runId, Guid actor, object @event, CancellationToken ct)
    {
        for (var tries = 0; ; tries++)
        {
            await using var session = store.LightweightSession();
            session.LastModifiedBy = actor.ToString();
            var stream = await session.Events.FetchForWriting<Run>(runId, ct);
            if (stream.Aggregate is null || stream.Aggregate.IsFinished) return false;
            stream.AppendOne(@event);
            Notify(session, runId);
            try
            {
                await session.SaveChangesAsync(ct);
                return true;
            }
            catch (Exception e) when (Concurrency.IsConflict(e) && tries < 5)
            {
            }
        }
    }
}

/// <summary>
/// Listens on the <c>aa_runs</c> channel. A payload <c>{runId}</c> means the run has new events (wakes its SSE readers); a
/// payload <c>cancel:{runId}</c> trips the cancellation token of that run if this node is executing it.
/// </summary>
public sealed class RunSignals(NpgsqlDataSource db, IHostApplicationLifetime lifetime, ILogger<RunSignals> logger) : BackgroundService
{
    public const string Channel = "aa_runs";
    internal const string CancelPrefix = "cancel:";

    private readonly ConcurrentDictionary<Guid, RunningRun> _running = new();
    private readonly ConcurrentDictionary<Guid, TaskCompletionSource> _changed = new();

    /// <summary>
    /// The token a run's dispatch runs under: the caller's token, tripped also by a cancel from any node, and by this host
    /// stopping (the run's message then stays in the durable inbox for the next host).
    /// </summary>
    public RunningRun Running(Guid runId, CancellationToken ct)
    {
        var running = new RunningRun(this, runId, CancellationTokenSource.CreateLinkedTokenSource(ct, lifetime.ApplicationStopping));
        _running[runId] = running;
        return running;
    }

    /// <summary>Completes when the run's stream gets a new event (or a notification was missed and the caller should look anyway).</summary>
    public Task Changed(Guid runId) => _changed.GetOrAdd(runId, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = await db.OpenConnectionAsync(stoppingToken);
                connection.Notification += (_, e) => Received(e.Payload);
                await using (var listen = new NpgsqlCommand($"listen {Channel}", connection)) await listen.ExecuteNonQueryAsync(stoppingToken);
                WakeAll();  // anything sent while we were not listening
                while (!stoppingToken.IsCancellationRequested) await connection.WaitAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
            }
            catch (Exception e)
            {
                logger.LogWarning(e, "Listening for run signals failed; retrying in 1 s");
                await Task.Delay(TimeSpan.FromSeconds(1), stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);
            }
        }
    }

    private void Received(string payload)
    {
        if (payload.StartsWith(CancelPrefix, StringComparison.Ordinal))
        {
            if (Guid.TryParse(payload.AsSpan(CancelPrefix.Length), out var cancelled) && _running.TryGetValue(cancelled, out var running))
            {
                running.Cancel();
            }
            return;
        }
        if (Guid.TryParse(payload, out var runId) && _changed.TryRemove(runId, out var changed)) changed.TrySetResult();
    }

    private void WakeAll()
    {
        foreach (var runId in _changed.Keys)
        {
            if (_changed.TryRemove(runId, out var changed)) changed.TrySetResult();
        }
    }

    public sealed class RunningRun(RunSignals signals, Guid runId, CancellationTokenSource source) : IDisposable
    {
        public CancellationToken Token => source.Token;
        /// <summary>Tripped by a cancel, not by the caller's own token (a stopping host).</summary>
        public bool Cancelled { get; private set; }

        public void Dispose()
        {
            signals._running.TryRemove(new KeyValuePair<Guid, RunningRun>(runId, this));
            source.Dispose();
        }

        internal void Cancel()
        {
            Cancelled = true;
            try { source.Cancel(); } catch (ObjectDisposedException) { }
        }
    }
}
