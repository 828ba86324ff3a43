using System.Collections.Concurrent;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace AgentArtifacts.Api.Events;

/// <summary>The feed's settings (<c>Events:*</c>).</summary>
/// <param name="Heartbeat">A comment line is sent when nothing else was for this long (<c>Events:HeartbeatSeconds</c>, 15).</param>
/// <param name="WriteTimeout">A client that has not taken what was written within this time is too slow and is disconnected (<c>Events:WriteTimeoutSeconds</c>, 10).</param>
/// <param name="MaxConnectionsPerPrincipal">Open feeds one principal may hold on one node (<c>Events:MaxConnectionsPerPrincipal</c>, 5).</param>
/// <param name="PageSize">Events read from the log per query (<c>Events:PageSize</c>, 500).</param>
/// <param name="SafePositionPoll">While committed events wait for the high-water mark, how often to look again (<c>Events:SafePositionPollMs</c>, 100).</param>
public sealed record EventFeedOptions(TimeSpan Heartbeat, TimeSpan WriteTimeout, int MaxConnectionsPerPrincipal, int PageSize, TimeSpan SafePositionPoll)
{
    public static EventFeedOptions From(IConfiguration configuration) => new(
        TimeSpan.FromSeconds(configuration.GetValue("Events:HeartbeatSeconds", 15.0)),
        TimeSpan.FromSeconds(configuration.GetValue("Events:WriteTimeoutSeconds", 10.0)),
        configuration.GetValue("Events:MaxConnectionsPerPrincipal", 5),
        configuration.GetValue("Events:PageSize", 500),
        TimeSpan.FromMilliseconds(configuration.GetValue("Events:SafePositionPollMs", 100)));
}

/// <summary>The feeds open on this node, per principal (the limit is per node, like the rate limits).</summary>
public sealed class FeedConnections
{
    private readonly ConcurrentDictionary<Guid, int> _open = new();

    public bool TryOpen(Guid principal, int max)
    {
        while (true)
        {
            var open = _open.GetOrAdd(principal, 0);
            if (open >= max) return false;
            if (_open.TryUpdate(principal, open + 1, open)) return true;
        }
    }

    public void Close(Guid principal) => _open.AddOrUpdate(principal, 0, (_, open) => Math.Max(0, open - 1));
}

public static class EventFeedSetup
{
    /// <summary>The notification channel the node's one listener listens on (messages <c>topic:payload</c>).</summary>
    public const string Channel = "agentartifacts";

    public static void AddEvents(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<EventAppends>();
        builder.Services.AddSingleton<FeedConnections>();
        builder.Services.AddSingleton(EventFeedOptions.From(builder.Configuration));
        builder.Services.AddHostedService<EventAppendsListening>();
        builder.Services.Configure<OpenApiOptions>("v1", o => o.AddDocumentTransformer(DescribeFeedAsync));
    }

    /// <summary>
    /// The payload schemas as components: <c>PublicEvent</c> (its <c>data</c> one of the catalogue's payloads) and
    /// <c>FeedDisconnected</c>, named by the feed's <c>text/event-stream</c> answer as the content of its <c>data:</c> lines.
    /// </summary>
    private static async Task DescribeFeedAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken ct)
    {
        document.Components ??= new OpenApiComponents();
        document.Components.Schemas ??= new Dictionary<string, IOpenApiSchema>();
        var payloads = PublicEvents.Catalogue.Values.Distinct().ToList();
        foreach (var type in payloads.Append(typeof(PublicEvent)).Append(typeof(FeedDisconnected)))
        {
            document.Components.Schemas[type.Name] = await context.GetOrCreateSchemaAsync(type, null, ct);
        }
        if (document.Components.Schemas[nameof(PublicEvent)] is OpenApiSchema envelope && envelope.Properties is { } properties)
        {
            properties["data"] = new OpenApiSchema
            {
                Description = "The type's payload (docs/events.md): ids and what changed, never secrets.",
                OneOf = payloads.Select(t => (IOpenApiSchema)new OpenApiSchemaReference(t.Name, document)).ToList(),
            };
        }
        if (document.Paths.TryGetValue("/events", out var path) && path.Operations?.TryGetValue(HttpMethod.Get, out var follow) == true
            && follow.Responses?.TryGetValue("200", out var ok) == true && ok.Content?.TryGetValue(EventFeed.ContentType, out var stream) == true)
        {
            stream.Schema = new OpenApiSchema
            {
                Type = JsonSchemaType.String,
                Description = "Server-Sent Events: `id:` the sequence, `event:` the type, `data:` a `PublicEvent` as JSON, or the last frame " +
                              "`disconnected` with a `FeedDisconnected`; comment lines are heartbeats.",
                ContentMediaType = EventFeed.ContentType,
                ContentSchema = new OpenApiSchema
                {
                    OneOf = [new OpenApiSchemaReference(nameof(PublicEvent), document), new OpenApiSchemaReference(nameof(FeedDisconnected), document)],
                },
            };
        }
    }
}

/// <summary>
/// Hands this node's append signals to <see cref="EventAppends"/>. Until the node's shared LISTEN connection exists, it
/// looks at the log's head a few times a second instead.
/// </summary>
public sealed class EventAppendsListening(EventAppends appends, Npgsql.NpgsqlDataSource db, ILogger<EventAppendsListening> log) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        long head = -1;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var command = db.CreateCommand("select coalesce(max(seq_id), 0) from agentartifacts.mt_events");
                var now = (long)(await command.ExecuteScalarAsync(stoppingToken))!;
                if (now != head) appends.Pulse();
                head = now;
                await Task.Delay(TimeSpan.FromMilliseconds(200), stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                log.LogDebug(e, "Looking at the log's head failed");
                await Task.Delay(TimeSpan.FromSeconds(1), stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);
            }
        }
    }
}
