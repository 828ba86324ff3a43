using System.Text.Json.Nodes;
using Marten;
using Wolverine;
using Wolverine.Attributes;
using Wolverine.ErrorHandling;
using AgentArtifacts.Api.Artifacts;
using AgentArtifacts.Api.Types;

namespace AgentArtifacts.Api.Runs;

/// <summary>Execute a recorded run: sent to a durable local queue (async, streaming, approved runs) or invoked inline (sync).</summary>
public sealed record ExecuteRun(Guid RunId);

/// <summary>The host stopped during a queued run: the message is scheduled again, in PostgreSQL, for whichever host runs next.</summary>
public sealed class RunInterrupted(Guid runId) : Exception($"Run {runId}: interrupted by the host stopping; scheduled again.");

/// <summary>An attempt failed transiently and another one is due: thrown so that Wolverine's retry policy schedules it.</summary>
public sealed class TransientRunFailure(Guid runId) : Exception($"Run {runId}: the attempt failed transiently; retrying.");

public static class RunsSetup
{
    /// <summary>
    /// Runs execute on the durable local queue <c>runs</c> (at most <c>Runs:Parallelism</c>, 32, at once per node) with the
    /// retry policy below; the signals listener and the launcher are singletons.
    /// </summary>
    public static void AddRuns(this WebApplicationBuilder builder)
    {
        var configuration = builder.Configuration;
        builder.Services.AddSingleton<RunLauncher>();
        builder.Services.AddSingleton<RunSignals>();
        builder.Services.AddHostedService(s => s.GetRequiredService<RunSignals>());
        builder.Services.ConfigureWolverine(opts =>
        {
            opts.PublishMessage<ExecuteRun>().ToLocalQueue("runs");
            opts.LocalQueue("runs").UseDurableInbox().MaximumParallelMessages(configuration.GetValue("Runs:Parallelism", 32));
            opts.Policies.OnException<TransientRunFailure>().RetryWithCooldown(Delays(configuration));
            opts.Policies.OnException<RunInterrupted>().ScheduleRetryIndefinitely(TimeSpan.FromSeconds(1));
        });
        Egress.AddEgress(builder.Services, configuration);
    }


    /// <summary>The pauses between attempts, <c>Runs:RetryDelaysMs</c> (default 1 s, 5 s, 30 s): three retries, four attempts.</summary>
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
    /// <see cref="RunAttemptFailed"/> and thrown, so the retry policy runs the next attempt. A stopping host throws too,
    /// leaving the message in the durable inbox for the next host.
    /// </summary>
    [MessageTimeout(3600)]
    public static async Task Handle(ExecuteRun message, Envelope envelope, IDocumentStore store, TypeRegistry types, IMessageBus bus,
        RunSignals signals, IConfiguration configuration, ILogger<ExecuteRun> logger, CancellationToken ct)
    {
        var runId = message.RunId;
        await using var session = store.LightweightSession();
        var run = await session.LoadAsync<Run>(runId, ct);
        if (run is null || run.IsFinished || run.Status == RunStatus.AwaitingApproval) return;

        var artifact = await ArtifactAsInvokedAsync(session, run, ct);
        var declaration = artifact is null ? null : types.Resolve(artifact.ContentType).Operations[run.Operation] as JsonObject;
        var attempt = Math.Max(run.Attempts + 1, envelope.Attempts);
        session.LastModifiedBy = run.CallerId.ToString();
        if (artifact is null || declaration is null || run.Caller is null
            || DispatchKinds.MessageFor(run.Kind, new RunContext(runId, artifact, run.Operation, declaration, run.Input, run.Caller)) is not { } dispatch)
        {
            RunJournal.Append(session, runId, new RunFailed(runId, RunResult.Failed("operation_unavailable",
                "The artifact or its operation is no longer what the run was requested against.").Error!));
            await session.SaveChangesAsync(ct);
            return;
        }

        RunJournal.Append(session, runId, new RunStarted(runId, attempt));
        await session.SaveChangesAsync(ct);

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
                return;  // the cancel route recorded RunCancelled already
            }
            catch (OperationCanceledException)
            {
                // This host is stopping. A queued run goes back to the durable store for the next host; a sync run's caller
                // is being cut off with it, so the run ends here, marked as what happened.
                if (run.Mode != RunModes.Sync) throw new RunInterrupted(runId);
                await RunJournal.AppendUnlessFinishedAsync(store, runId, run.CallerId,
                    new RunFailed(runId, RunResult.Failed("interrupted", "The service stopped while the run was executing.", 503).Error!), CancellationToken.None);
                throw;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // A fault of ours, not the target's: the run fails once, without the exception's text (it may hold anything).
                logger.LogError(e, "Run {RunId}: dispatch {Kind} threw", runId, run.Kind);
                result = RunResult.Failed("internal_error", "The operation failed inside the service.", 500);
            }
        }

        var delays = RunsSetup.Delays(configuration);
        var retry = result.IsTransient && attempt <= delays.Length;
        object end = result switch
        {
            _ when retry => new RunAttemptFailed(runId, attempt, result.Error!, (int)delays[attempt - 1].TotalMilliseconds),
            { Error: { } error } => new RunFailed(runId, error),
            _ => new RunCompleted(runId, result.Output),
        };
        if (!await RunJournal.AppendUnlessFinishedAsync(store, runId, run.CallerId, end, ct)) return;
        if (retry) throw new TransientRunFailure(runId);
    }

    /// <summary>The artifact at the version the run was requested against (its snapshot when nothing changed since).</summary>
    private static async Task<Artifact?> ArtifactAsInvokedAsync(IDocumentSession session, Run run, CancellationToken ct) =>
        await session.LoadAsync<Artifact>(run.ArtifactId, ct) is { } head && head.Version == run.ArtifactVersion
            ? head
            : await session.Events.AggregateStreamAsync<Artifact>(run.ArtifactId, run.ArtifactVersion, token: ct);
}
