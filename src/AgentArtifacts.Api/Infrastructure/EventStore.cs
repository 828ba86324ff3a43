using JasperFx;
using JasperFx.Events;
using JasperFx.Events.Daemon;
using Marten;
using Npgsql;
using Wolverine.Marten;

namespace AgentArtifacts.Api.Infrastructure;

public static class EventStore
{
    /// <summary>Marten: event store, inline snapshots, async projections and the Wolverine outbox, on one PostgreSQL.</summary>
    public static void AddEventStore(this WebApplicationBuilder builder)
    {
        var connectionString = builder.Configuration.GetConnectionString("Postgres")
            ?? throw new InvalidOperationException("ConnectionStrings:Postgres is not configured (build/run.sh sets it).");
        var daemonMode = builder.Configuration.GetValue("Marten:DaemonMode", DaemonMode.HotCold);
        var autoCreate = builder.Configuration.GetValue("Marten:AutoCreate", AutoCreate.CreateOrUpdate);
        var stickyConnections = builder.Configuration.GetValue("Marten:StickyConnections", false);

        // One connection pool for Marten, Wolverine and the few raw SQL statements (idempotency, health).
        // MaxAutoPrepare: the hot statements are parsed and planned once per connection (docs/benchmarks.md). The pool's
        // reset stays on: it keeps prepared statements but releases session advisory locks a failed unlock could leave behind.
        var connection = new NpgsqlConnectionStringBuilder(connectionString) { MaxAutoPrepare = 50 };
        var dataSource = NpgsqlDataSource.Create(builder.Configuration.GetValue("Marten:DeadClientDetection", true)
            ? WithDeadClientDetection(connection) : connection.ConnectionString);
        builder.Services.AddSingleton(dataSource);
        builder.Services.AddHostedService<IdempotencyPurge>();

        var marten = builder.Services.AddMarten(opts =>
            {
                opts.Connection(dataSource);
                opts.DatabaseSchemaName = "agentartifacts";
                // Development convenience: Marten creates and updates its tables at start-up. Production applies
                // schema changes ahead of deployment instead (docs/architecture.md, "Schema changes").
                opts.AutoCreateSchemaObjects = autoCreate;
                opts.Events.StreamIdentity = StreamIdentity.AsGuid;
                opts.Events.MetadataConfig.UserNameEnabled = true;
                // Who acted with which credential (the credential header) and in which request (the correlation id: its trace id)
                // are event metadata, so the audit log and the public events read them from the one log (docs/architecture.md).
                opts.Events.MetadataConfig.HeadersEnabled = true;
                opts.Events.MetadataConfig.CorrelationIdEnabled = true;
                // With the shimmed DistributedLock library (nuget.config), HotCold leader election only works with advisory locks taken in a transaction.
                opts.Events.UseAdvisoryLockTransaction = true;
                // A node that is not leading asks for the projections' locks twice a second (default every 5 s), so together with
                // the server noticing a dead leader within half a second (WithDeadClientDetection) fail-over takes ≤ 5 s.
                opts.Projections.LeadershipPollingTime = builder.Configuration.GetValue("Marten:LeadershipPollingMs", 500);
                // A dead node's unfinished appends leave gaps in the event sequence that the high-water mark waits out before
                // moving on (default 3 s, most of a fail-over). Marten skips a gap only when no live transaction can still
                // fill it, so a shorter wait cannot skip a slow commit's events.
                opts.Projections.StaleSequenceThreshold = TimeSpan.FromSeconds(1);
                // Opt-in: one pooled connection per session (a read then a write share it: one pool reset, one backend).
                // Off by default because a session then holds its connection until disposed, and the run executor's and the
                // sync invoke's sessions stay open across the tool call (docs/benchmarks.md, "Where one write's time goes").
                opts.UseStickyConnectionLifetimes = stickyConnections;
            })
            .UseLightweightSessions()
            .AddAsyncDaemon(daemonMode)
            .IntegrateWithWolverine();
        if (autoCreate != AutoCreate.None) marten.ApplyAllDatabaseChangesOnStartup();

        // Each slice registers its own documents and projections with an IConfigureMarten beside its code.
        foreach (var type in typeof(EventStore).Assembly.GetTypes()
                     .Where(t => t is { IsAbstract: false, IsInterface: false } && typeof(IConfigureMarten).IsAssignableFrom(t)))
        {
            builder.Services.AddSingleton(typeof(IConfigureMarten), type);
        }
    }

    /// <summary>
    /// The projections' leader holds its advisory locks in a transaction whose connection waits in <c>pg_sleep</c>; a backend
    /// busy in a statement reads its socket only when the statement ends, so a killed leader kept its locks for up to a
    /// minute. Every session therefore asks PostgreSQL (14+) to check its client every 500 ms during a statement, and
    /// server-side TCP keepalives (probe after 5 s idle, every 2 s, 3 misses) turn a vanished host into a closed socket
    /// that check sees. Settings already in the connection string's Options win.
    /// </summary>
    public static string WithDeadClientDetection(NpgsqlConnectionStringBuilder connection)
    {
        string[] settings =
        [
            "client_connection_check_interval=500",
            "tcp_keepalives_idle=5", "tcp_keepalives_interval=2", "tcp_keepalives_count=3",
        ];
        var options = connection.Options ?? "";
        foreach (var setting in settings)
        {
            var name = setting[..setting.IndexOf('=')];
            if (!options.Contains(name, StringComparison.Ordinal)) options += $" -c {setting}";
        }
        connection.Options = options.Trim();
        return connection.ConnectionString;
    }
}
