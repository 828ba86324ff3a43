using JasperFx.Events.Daemon.HighWater;
using Marten;
using Weasel.Core;
using Weasel.Core.Migrations;
using Weasel.Postgresql;
using Weasel.Postgresql.Functions;
using Weasel.Postgresql.Triggers;

namespace AgentArtifacts.Api.Events;

/// <summary>
/// "Events were appended" on any node, delivered to this node's feed readers and to Marten's high-water agent. Every
/// transaction that inserts into <c>mt_events</c> sends one <c>NOTIFY</c> (a trigger, so no writer can forget it; PostgreSQL
/// folds a transaction's identical notifications into one and delivers it only if the transaction commits). The signal
/// says only that something may have changed: readers read the log themselves, so a lost or repeated signal costs a read.
/// </summary>
public sealed class EventAppends : IDaemonWakeup
{
    /// <summary>The topic on the service's notification channel (<c>events:</c>, no payload).</summary>
    public const string Topic = "events";

    private TaskCompletionSource _next = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes at the next signal. Take it before reading, so no append can slip between the read and the wait.</summary>
    public Task Next => Volatile.Read(ref _next).Task;

    /// <summary>Wakes everyone waiting on <see cref="Next"/>.</summary>
    public void Pulse() => Interlocked.Exchange(ref _next, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

    /// <summary>Marten's high-water agent waits here between its polls, so the safe position follows an append at once.</summary>
    public async Task WaitAsync(TimeSpan timeout, CancellationToken token)
    {
        var next = Next;
        using var delay = CancellationTokenSource.CreateLinkedTokenSource(token);
        await Task.WhenAny(next, Task.Delay(timeout, delay.Token)).ConfigureAwait(false);
        await delay.CancelAsync().ConfigureAwait(false);
        token.ThrowIfCancellationRequested();
    }

    /// <summary>Nothing to release: the signal is held by the node's listener, not by the daemon.</summary>
    public void Dispose()
    {
    }

    /// <summary>The trigger's function, and the statement-level trigger on Marten's events table.</summary>
    public static IEnumerable<ISchemaObject> SchemaObjects(string schema, string channel)
    {
        var function = new PostgresqlObjectName(schema, "aa_notify_events_appended", SchemaUtils.IdentifierUsage.Function);
        yield return new Function(function, $"""
            CREATE OR REPLACE FUNCTION {function.QualifiedName}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              PERFORM pg_notify('{channel}', '{Topic}:');
              RETURN NULL;
            END;
            $$;
            """);
        yield return new Trigger(new PostgresqlObjectName(schema, "aa_events_appended", SchemaUtils.IdentifierUsage.General), new PostgresqlObjectName(schema, "mt_events", SchemaUtils.IdentifierUsage.General), $"{function.QualifiedName}()")
        {
            Timing = TriggerTiming.After,
            Events = TriggerEvents.Insert,
            ForEachRow = false,
        };
    }
}

/// <summary>Registers the trigger with Marten's schema (migrated like every table: at start-up in development, by db-patch in production) and the wakeup.</summary>
public sealed class EventAppendsSchema : IConfigureMarten
{
    public void Configure(IServiceProvider services, StoreOptions options)
    {
        options.Storage.Add(new Feature(options));
        options.Projections.Wakeup = services.GetRequiredService<EventAppends>();
    }

    /// <summary>A feature of its own that depends on the event store's, so the trigger is created after the table it is on.</summary>
    private sealed class Feature(StoreOptions options) : FeatureSchemaBase("EventAppends", options.Advanced.Migrator)
    {
        protected override IEnumerable<ISchemaObject> schemaObjects() => EventAppends.SchemaObjects(options.DatabaseSchemaName, EventFeedSetup.Channel);

        public override IEnumerable<Type> DependentTypes() => [typeof(Marten.Events.EventGraph)];
    }
}
