using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Marten;
using Marten.Linq.MatchesSql;
using Wolverine;
using Wolverine.Attributes;
using Wolverine.ErrorHandling;
using AgentArtifacts.Api.Artifacts;
using AgentArtifacts.Api.Types;

namespace AgentArtifacts.Api.Runs;

/// <summary>
/// Execute a recorded run: sent to a durable local queue (async, streaming, approved runs) or invoked inline (sync). Inline,
/// the launcher hands over the artifact it has just authorized and its <see cref="InlineRun"/>, and says that it recorded
/// the first attempt's start in the run's first transaction (none of them is serialized): the path most invocations take
/// saves a commit and four reads.
/// </summary>
public sealed record ExecuteRun(Guid RunId)
{
    [JsonIgnore]
    public Artifact? Artifact { get; init; }

    [JsonIgnore]
    public InlineRun? Inline { get; init; }

    [JsonIgnore]
    public bool FirstAttemptStarted { get; init; }
}

/// <summary>
/// A sync run's caller side. The session that recorded the run holds it in its identity map, so the executor reads the run
/// from there and appends through that session: Marten's inline projection then finds the run there instead of loading it,
/// and the caller answers with the run the session holds at the end. Once something reaches the run's stream that the
/// session did not append (a cancel, the sweeper, the dispatch's own events), its copy is stale (a lightweight session
/// cannot evict one document): from then on the run is read and appended as a queued one is, in sessions of their own.
/// </summary>
public sealed class InlineRun(IDocumentSession session)
{
    private bool _stale;

    /// <summary>The session holding the run, while its copy is current.</summary>
    public IDocumentSession? Session => _stale ? null : session;

    public void Stale() => _stale = true;

    /// <summary>The run as it is now: the session's copy while it is current, else the stored one.</summary>
    public async Task<Run?> LoadAsync(Guid runId, CancellationToken ct)
    {
        if (!_stale) return await session.LoadAsync<Run>(runId, ct);
        await using var query = session.DocumentStore.QuerySession();
        return await query.LoadAsync<Run>(runId, ct);
    }
}

/// <summary>
/// The pauses between a run's attempts, and the longest pause a target may ask for with <c>Retry-After</c>, read once from
/// configuration.
/// </summary>
public sealed record RunRetryDelays(TimeSpan[] Pauses, TimeSpan MaxRetryAfter);

/// <summary>The host stopped during a queued run: the message is scheduled again, in PostgreSQL, for whichever host runs next.</summary>
public sealed class RunInterrupted(Guid runId) : Exception($"Run {runId}: interrupted by the host stopping; scheduled again.");

/// <summary>An attempt failed transiently and another one is due: thrown so that Wolverine's retry policy schedules it.</summary>
public sealed class TransientRunFailure(Guid runId) : Exception($"Run {runId}: the attempt failed transiently; retrying.");

public static class RunsSetup
{
    /// <summary>
    /// Runs execute on the durable local queue <c>runs</c> (at most <c>Runs:Parallelism</c>, 32, at once per node) with the
    /// retry policy below; the signals listener and the launcher are singletons; the sweeper ends sync runs a dead host left.
    /// </summary>
    public static void AddRuns(this WebApplicationBuilder builder)
    {
        var configuration = builder.Configuration;
        var delays = new RunRetryDelays(Delays(configuration), TimeSpan.FromSeconds(configuration.GetValue("Runs:MaxRetryAfterSeconds", 30)));
        builder.Services.AddSingleton(delays);
        builder.Services.AddSingleton<RunLauncher>();
        builder.Services.AddSingleton<RunSignals>();
        builder.Services.AddHostedService(s => s.GetRequiredService<RunSignals>());
        builder.Services.AddHostedService<RunSweeper>();
        builder.Services.ConfigureWolverine(opts =>
        {
            opts.PublishMessage<ExecuteRun>().ToLocalQueue("runs");
            opts.LocalQueue("runs").UseDurableInbox().MaximumParallelMessages(configuration.GetValue("Runs:Parallelism", 32));
            // The handler has already waited the pause (its own, or the target's Retry-After) when it throws this.
            opts.Policies.OnException<TransientRunFailure>().RetryTimes(delays.Pauses.Length);
            opts.Policies.OnException<RunInterrupted>().ScheduleRetryIndefinitely(TimeSpan.FromSeconds(1));
        });
        Egress.AddEgress(builder.Services, configuration);
    }

    /// <summary>
    /// The pauses between attempts, <c>Runs:RetryDelaysMs</c> (default 1 s, 5 s, 30 s): three retries, four attempts. A target's
    /// <c>Retry-After</c> lengthens a pause up to <c>Runs:MaxRetryAfterSeconds</c> (30 s); beyond that the run fails at once.
    /// </summary>
    public static TimeSpan[] Delays(IConfiguration configuration) =>
        (configuration.GetSection("Runs:RetryDelaysMs").Get<int[]>() is { Length: > 0 } ms ? ms : [1000, 5000, 30000])
        .Select(d => TimeSpan.FromMilliseconds(d)).ToArray();
}

public static class ExecuteRunHandler
{
    /// <summary>
    /// One attempt of a run. Does nothing for a run that has finished, was cancelled, or awaits an approval (a redelivered
    /// message after a crash finds the run as it was left). Records <see cref="RunStarted"/>, dispatches to the kind's handler
    /// under a token its cancel route can trip, and records the end; a transient failure with attempts left is recorded as
    /// <see cref="RunAttemptFailed"/>, waited out (the configured pause, or the target's <c>Retry-After</c> when longer) and
    /// thrown, so the retry policy runs the next attempt. A stopping host throws <see cref="RunInterrupted"/>, which schedules
    /// the message again in PostgreSQL for the next host.
    /// </summary>
    [MessageTimeout(3600)]
    public static async Task Handle(ExecuteRun message, Envelope envelope, IDocumentStore store, TypeRegistry types, IMessageBus bus,
        RunSignals signals, RunRetryDelays retries, TimeProvider clock, ILogger<ExecuteRun> logger, CancellationToken ct)
    {
        var runId = message.RunId;
        var inline = message.Inline;
        await using var own = inline?.Session is null ? store.QuerySession() : null;
        var (run, artifact) = await LoadAsync(inline?.Session ?? own!, message, ct);
        if (run is null || run.IsFinished || run.Status == RunStatus.AwaitingApproval) return;
        var version = run.Version;  // the run held by an inline session changes as events are appended through it

        var declaration = artifact is null ? null : types.Resolve(artifact.ContentType).Operations[run.Operation] as JsonObject;
        var recorded = message.FirstAttemptStarted && envelope.Attempts <= 1;
        var attempt = recorded ? 1 : Math.Max(run.Attempts + 1, envelope.Attempts);
        if (artifact is null || declaration is null || run.Caller is null
            || DispatchKinds.MessageFor(run.Kind, new RunContext(runId, artifact, run.Operation, declaration, run.Input, run.Caller)) is not { } dispatch)
        {
            await RunJournal.AppendAtAsync(store, inline, runId, version, run.CallerId, new RunFailed(runId, RunResult.Failed("operation_unavailable",
                "The artifact or its operation is no longer what the run was requested against.").Error!), ct);
            return;
        }

        // Optimistic, like the end: a cancel recorded since the run was read wins, and the run never starts.
        if (!recorded && !await RunJournal.AppendAtAsync(store, inline, runId, version, run.CallerId, new RunStarted(runId, attempt), ct)) return;
        var started = version + (recorded ? 0 : 1);  // the stream's version now, unless a cancel or the dispatch's own events follow

        RunResult result;
        using (var running = signals.Running(runId, ct))
        {
            try
            {
                result = await bus.InvokeAsync<RunResult>(dispatch, running.Token);
                running.Token.ThrowIfCancellationRequested();  // whatever the target answered while it was being cut off
            }
            catch (OperationCanceledException) when (running.Cancelled)
            {
                inline?.Stale();  // the cancel was recorded in a session of its own
                return;
            }
            catch (OperationCanceledException)
            {
                await InterruptedAsync(store, inline, run);
                throw;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // A fault of ours, not the target's: the run fails once, without the exception's text (it may hold anything).
                logger.LogError(e, "Run {RunId}: dispatch {Kind} threw", runId, run.Kind);
                result = RunResult.Failed("internal_error", "The operation failed inside the service.", 500);
            }
        }

        // A target that asks for a longer pause than the service waits (a sync caller is held meanwhile) fails the run now,
        // saying when to call again, rather than being called before it said or holding the run.
        if (result.IsTransient && result.RetryAfter > retries.MaxRetryAfter) result = RetryAfterTooLong(result, retries.MaxRetryAfter, clock.GetUtcNow());
        var retry = result.IsTransient && attempt <= retries.Pauses.Length;
        var pause = retry ? Max(retries.Pauses[attempt - 1], result.RetryAfter ?? TimeSpan.Zero) : TimeSpan.Zero;
        object end = result switch
        {
            _ when retry => new RunAttemptFailed(runId, attempt, result.Error!, (int)pause.TotalMilliseconds),
            { Error: { } error } => new RunFailed(runId, error),
            _ => new RunCompleted(runId, result.Output),
        };
        if (!await RunJournal.AppendAtAsync(store, inline, runId, started, run.CallerId, end, ct)) return;
        if (!retry) return;

        // The pause, under the same token as the call: a cancel ends the wait (the run is already cancelled), a stopping host too.
        using (var waiting = signals.Running(runId, ct))
        {
            try
            {
                await Task.Delay(pause, clock, waiting.Token);
            }
            catch (OperationCanceledException) when (waiting.Cancelled)
            {
                inline?.Stale();
                return;
            }
            catch (OperationCanceledException)
            {
                await InterruptedAsync(store, inline, run);
                throw;
            }
        }
        throw new TransientRunFailure(runId);
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    /// <summary>
    /// This host is stopping. A queued run goes back to the durable store for the next host; a sync run's caller is being cut
    /// off with it, so the run ends here, marked as what happened.
    /// </summary>
    private static async Task InterruptedAsync(IDocumentStore store, InlineRun? inline, Run run)
    {
        if (run.Mode != RunModes.Sync) throw new RunInterrupted(run.Id);
        inline?.Stale();
        await RunJournal.AppendUnlessFinishedAsync(store, run.Id, run.CallerId,
            new RunFailed(run.Id, RunResult.Failed("interrupted", "The service stopped while the run was executing.", 503).Error!), CancellationToken.None);
    }

    /// <summary>The target's failure, recoded: it asked to be called again later than this service waits, and when that is.</summary>
    private static RunResult RetryAfterTooLong(RunResult result, TimeSpan max, DateTimeOffset now)
    {
        var wait = result.RetryAfter!.Value;
        var status = result.Error?["status"]?.GetValue<int>();
        var failed = RunResult.Failed("upstream_retry_after_too_long",
            $"The endpoint answered {status} and asked to be called again in {Math.Ceiling(wait.TotalSeconds)} s, longer than the {max.TotalSeconds} s "
            + "this service waits between attempts; the run was not retried. Invoke again after retryAt.", status);
        failed.Error!["retryAfterSeconds"] = (long)Math.Ceiling(wait.TotalSeconds);
        failed.Error!["retryAt"] = (now + wait).ToString("O");
        return failed;
    }

    /// <summary>
    /// The run, and the artifact at the version the run was requested against: the one handed over, else its snapshot
    /// (read in the same round trip as the run) when nothing changed since, else replayed to that version.
    /// </summary>
    private static async Task<(Run? Run, Artifact? Artifact)> LoadAsync(IQuerySession session, ExecuteRun message, CancellationToken ct)
    {
        Run? run;
        Artifact? head = message.Artifact;
        if (head is null)
        {
            var batch = session.CreateBatchQuery();
            var loadingRun = batch.Load<Run>(message.RunId);
            var loadingHead = batch.Query<Artifact>().Where(a => a.MatchesSql(
                $"d.id = (select CAST(r.data ->> 'ArtifactId' as uuid) from {session.DocumentStore.Options.DatabaseSchemaName}.mt_doc_run r where r.id = ?)",
                message.RunId)).SingleOrDefault();
            await batch.Execute(ct);
            (run, head) = (await loadingRun, await loadingHead);
        }
        else run = await session.LoadAsync<Run>(message.RunId, ct);
        if (run is null || head?.Id != run.ArtifactId) return (run, null);
        // A pinned run executes its revision as committed (the launcher hands that over; else it is read here): the stream at
        // that version could show the line's own draft instead, when a copy's commit made the revision meanwhile.
        if (run.Revision is { } revision && message.Artifact is null)
        {
            var committed = await session.LoadAsync<ArtifactRevision>(ArtifactRevision.IdOf(run.ArtifactId, revision), ct);
            return (run, committed is null ? null : RevisionRuns.AtRevision(head, committed));
        }
        return (run, head.Version == run.ArtifactVersion ? head
            : await session.Events.AggregateStreamAsync<Artifact>(run.ArtifactId, run.ArtifactVersion, token: ct));
    }
}
