using JasperFx;
using Marten.Exceptions;
using Npgsql;

namespace AgentArtifacts.Api.Infrastructure;

public static class Concurrency
{
    /// <summary>
    /// Whether a save failed because another writer appended to one of its streams first. A save that appends to several
    /// streams reports it as an aggregate of per-stream failures, or as the database's version check itself.
    /// </summary>
    public static bool IsConflict(Exception e) => e switch
    {
        ConcurrencyException => true,
        AggregateException all => all.InnerExceptions.Count > 0 && all.InnerExceptions.All(IsConflict),
        MartenCommandException { InnerException: PostgresException pg } => pg.SqlState == "MT003"
            || (pg.SqlState == PostgresErrorCodes.UniqueViolation && pg.ConstraintName == "pk_mt_events_stream_and_version"),
        _ => false,
    };
}
