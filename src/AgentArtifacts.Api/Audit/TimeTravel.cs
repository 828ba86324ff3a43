using System.Globalization;
using AgentArtifacts.Api.Artifacts;
using Marten;

namespace AgentArtifacts.Api.Audit;

/// <summary>
/// A point in the event log to read an artifact as of: a global event sequence (an integer, e.g. an <c>id:</c> of the feed or
/// an audit entry's <c>sequence</c>) or an RFC 3339 time with its offset.
/// </summary>
public abstract record AsOf
{
    public sealed record Sequence(long Value) : AsOf;
    public sealed record Time(DateTimeOffset Value) : AsOf;

    /// <summary>The point <paramref name="text"/> names; null when it names none (the endpoint answers 400 <c>invalid_as_of</c>).</summary>
    public static AsOf? Parse(string text)
    {
        text = text.Trim();
        if (text.Length > 0 && text.All(char.IsAsciiDigit))
            return long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var sequence) && sequence >= 1 ? new Sequence(sequence) : null;
        // A time without an offset would depend on the server's zone: it must say Z or ±hh:mm.
        var hasOffset = text.EndsWith('Z') || text.EndsWith('z') || (text.Length > 6 && text[^6] is '+' or '-' && text[^3] == ':');
        return hasOffset && text.Contains('T', StringComparison.OrdinalIgnoreCase)
            && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal, out var time) ? new Time(time) : null;
    }

    public const string Described = "an event sequence (a positive integer) or an RFC 3339 time with its offset (e.g. 2026-12-03T10:00:00Z)";
}

public static class TimeTravel
{
    /// <summary>
    /// The artifact as its stream says it was at <paramref name="point"/>: the events up to it folded by the same Apply methods
    /// that keep the head, so a past state is computed exactly as the head was. Null when the stream had no event by then.
    /// </summary>
    public static async Task<Artifact?> ArtifactAsOfAsync(this IQuerySession session, Guid id, AsOf point, CancellationToken ct)
    {
        switch (point)
        {
            case AsOf.Time time:
                return await session.Events.AggregateStreamAsync<Artifact>(id, timestamp: time.Value, token: ct);
            case AsOf.Sequence sequence:
                // The stream's last version at or before that global sequence; one indexed query on the stream's events.
                var last = await session.Events.QueryAllRawEvents()
                    .Where(e => e.StreamId == id && e.Sequence <= sequence.Value)
                    .OrderByDescending(e => e.Sequence).Take(1).ToListAsync(ct);
                return last.Count == 0 ? null : await session.Events.AggregateStreamAsync<Artifact>(id, version: last[0].Version, token: ct);
            default:
                throw new ArgumentOutOfRangeException(nameof(point));
        }
    }
}
