using System.Buffers;
using System.Diagnostics;
using System.Net;
using System.Text;
using AgentArtifacts.Api.Events;
using AgentArtifacts.Api.Runs;
using AgentArtifacts.Api.StoredSecrets;
using Marten;
using Microsoft.Extensions.Options;
using Npgsql;

namespace AgentArtifacts.Api.Webhooks;

/// <summary>
/// Delivers webhooks from state in PostgreSQL only, so any node can continue where another stopped. Each endpoint has a
/// cursor over the global event sequence; serving an endpoint means (1) turning the events after its cursor, up to Marten's
/// high-water mark (below which no transaction can still commit an event), into queued deliveries and moving the cursor, in
/// one transaction, then (2) attempting its due deliveries in log order: the oldest pending event delivery goes first, and a
/// later one waits while it is retried. One node serves an endpoint at a time: a session advisory lock on the endpoint,
/// taken with try-lock, so the other workers pass on to other endpoints instead of waiting (a slow endpoint holds one
/// worker, never the rest), and released by PostgreSQL when a node dies. Delivery is at least once: an attempt whose result
/// was not recorded (a crash mid-request) is made again, with the same <c>webhook-id</c>.
/// </summary>
public sealed class WebhookDeliverer(NpgsqlDataSource db, IDocumentStore store, IHttpClientFactory clients, SecretVault vault, WebhookEvents events,
    EventAppends appends, IOptions<WebhookOptions> options, TimeProvider clock, ILogger<WebhookDeliverer> logger) : BackgroundService
{
    /// <summary>How many events one pass turns into deliveries, so one endpoint far behind cannot hold a worker for long.</summary>
    private const int EventBatch = 500;
    /// <summary>How long one worker keeps serving one endpoint before it looks at the others again.</summary>
    private static readonly TimeSpan ServeBudget = TimeSpan.FromSeconds(30);

    private readonly SemaphoreSlim _wake = new(0);
    private string Schema => store.Options.DatabaseSchemaName;
    private WebhookOptions Options => options.Value;

    /// <summary>Something may be due now (a new event, a test, a retry asked for): idle workers look at once.</summary>
    public void Wake()
    {
        if (_wake.CurrentCount < Options.Workers) _wake.Release();
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(Enumerable.Range(0, Math.Max(1, Options.Workers)).Select(_ => Task.Run(() => WorkAsync(stoppingToken), stoppingToken)));

    private async Task WorkAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            var worked = false;
            try
            {
                foreach (var id in await CandidatesAsync(ct))
                {
                    worked |= await ServeAsync(id, ct);
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                logger.LogWarning(e, "Webhook delivery pass failed; trying again shortly");
            }
            if (!worked)
            {
                try { await IdleAsync(ct); }
                catch (OperationCanceledException) { return; }
            }
        }
    }

    /// <summary>Shortly after an append on any node, idle workers look every 100 ms: the high-water mark follows the append within moments.</summary>
    private static readonly TimeSpan AfterAppendPoll = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan AfterAppendWindow = TimeSpan.FromSeconds(2);
    private long _lastAppendTicks;

    /// <summary>
    /// Waits for a wake-up from a route of this node, an append on any node (the event feed's signal), or the poll interval
    /// (retries falling due). Right after an append the wait is short, since the events become deliverable once the
    /// high-water mark passes them.
    /// </summary>
    private async Task IdleAsync(CancellationToken ct)
    {
        var appended = appends.Next;
        var recent = Environment.TickCount64 - Interlocked.Read(ref _lastAppendTicks) < (long)AfterAppendWindow.TotalMilliseconds;
        var poll = TimeSpan.FromMilliseconds(Options.PollMilliseconds);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var woken = _wake.WaitAsync(recent && AfterAppendPoll < poll ? AfterAppendPoll : poll, stop.Token);
        if (await Task.WhenAny(woken, appended) == appended) Interlocked.Exchange(ref _lastAppendTicks, Environment.TickCount64);
        await stop.CancelAsync();
        try { await woken; } catch (OperationCanceledException) when (!ct.IsCancellationRequested) { }
    }

    /// <summary>Active endpoints with events past their cursor or a delivery due, in random order so nodes spread over them.</summary>
    private async Task<List<Guid>> CandidatesAsync(CancellationToken ct)
    {
        await using var cmd = db.CreateCommand(
            $"select e.webhook_id from {Schema}.{WebhookStream.Endpoints} e where e.active and (e.cursor < {HighWaterMark} " +
            $"or exists (select 1 from {Schema}.{WebhookStream.Deliveries} d where d.webhook_id = e.webhook_id and d.state = 'pending' and d.next_attempt_at <= $1)) " +
            "order by random() limit 20");
        cmd.Parameters.AddWithValue(clock.GetUtcNow());
        var ids = new List<Guid>();
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct)) ids.Add(reader.GetGuid(0));
        return ids;
    }

    /// <summary>The highest sequence below which every event is committed: Marten's async daemon keeps it.</summary>
    private string HighWaterMark => $"coalesce((select last_seq_id from {Schema}.mt_event_progression where name = 'HighWaterMark'), 0)";

    private static long LockKey(Guid webhookId) => BitConverter.ToInt64(webhookId.ToByteArray(), 8) ^ 0x5745424B484F4F4B;  // "WEBKHOOK"

    private async Task<bool> ServeAsync(Guid webhookId, CancellationToken ct)
    {
        await using var connection = await db.OpenConnectionAsync(ct);
        await using (var tryLock = new NpgsqlCommand("select pg_try_advisory_lock($1)", connection) { Parameters = { new() { Value = LockKey(webhookId) } } })
        {
            if (!(bool)(await tryLock.ExecuteScalarAsync(ct))!) return false;
        }
        try
        {
            await using var session = store.QuerySession();
            if (await session.LoadAsync<Webhook>(webhookId, ct) is not { DeletedAt: null, Enabled: true } webhook) return false;
            var worked = await QueueNewEventsAsync(connection, session, webhook, ct);
            var until = clock.GetUtcNow() + ServeBudget;
            while (clock.GetUtcNow() < until && await NextDueAsync(connection, webhookId, ct) is { } delivery)
            {
                worked = true;
                if (!await AttemptAsync(connection, session, webhook, delivery, ct)) break;
            }
            return worked;
        }
        finally
        {
            // If this fails the connection is broken, and PostgreSQL releases the lock with it (the pool's reset does otherwise).
            await using var unlock = new NpgsqlCommand("select pg_advisory_unlock($1)", connection) { Parameters = { new() { Value = LockKey(webhookId) } } };
            try { await unlock.ExecuteScalarAsync(CancellationToken.None); } catch (NpgsqlException) { }
        }
    }

    private async Task<bool> QueueNewEventsAsync(NpgsqlConnection connection, IQuerySession session, Webhook webhook, CancellationToken ct)
    {
        long cursor, head;
        await using (var read = new NpgsqlCommand($"select cursor, {HighWaterMark} from {Schema}.{WebhookStream.Endpoints} where webhook_id = $1", connection))
        {
            read.Parameters.AddWithValue(webhook.Id);
            await using var reader = await read.ExecuteReaderAsync(ct);
            if (!await reader.ReadAsync(ct)) return false;
            (cursor, head) = (reader.GetInt64(0), reader.GetInt64(1));
        }
        if (cursor >= head) return false;
        var upTo = Math.Min(head, cursor + EventBatch);
        var selected = await events.SelectAsync(session, webhook, cursor, upTo, ct);

        // The new deliveries and the cursor's advance: one round trip, one transaction.
        await using var tx = await connection.BeginTransactionAsync(ct);
        await using var batch = new NpgsqlBatch(connection, tx);
        var now = clock.GetUtcNow();
        foreach (var e in selected)
        {
            var insert = new NpgsqlBatchCommand(
                $"insert into {Schema}.{WebhookStream.Deliveries} (id, webhook_id, event_sequence, type, message_id, payload, state, next_attempt_at, created_at) " +
                "values ($1, $2, $3, $4, $5, $6, 'pending', $7, $7) on conflict (webhook_id, event_sequence) where state = 'pending' and event_sequence is not null do nothing");
            insert.Parameters.AddWithValue(Guid.CreateVersion7());
            insert.Parameters.AddWithValue(webhook.Id);
            insert.Parameters.AddWithValue(e.Sequence);
            insert.Parameters.AddWithValue(e.Type);
            insert.Parameters.AddWithValue(MessageId(webhook.Id, e.Sequence));
            insert.Parameters.AddWithValue(e.Payload);
            insert.Parameters.AddWithValue(now);
            batch.BatchCommands.Add(insert);
        }
        // Guarded by the cursor read: a replay that moved it back meanwhile is not undone.
        var advance = new NpgsqlBatchCommand($"update {Schema}.{WebhookStream.Endpoints} set cursor = $2 where webhook_id = $1 and cursor = $3");
        advance.Parameters.AddWithValue(webhook.Id);
        advance.Parameters.AddWithValue(upTo);
        advance.Parameters.AddWithValue(cursor);
        batch.BatchCommands.Add(advance);
        await batch.ExecuteNonQueryAsync(ct);
        await tx.CommitAsync(ct);
        return true;
    }

    /// <summary>The <c>webhook-id</c> of an event's delivery to an endpoint: the same for every attempt and every replay.</summary>
    public static string MessageId(Guid webhookId, long sequence) => $"msg_{sequence}_{webhookId:N}";

    private sealed record Due(Guid Id, long? Sequence, string Type, string MessageId, string Payload, int Attempts, int ScheduleStart);

    /// <summary>The delivery to attempt now: the oldest pending event delivery if it is due (log order), or a due test delivery.</summary>
    private async Task<Due?> NextDueAsync(NpgsqlConnection connection, Guid webhookId, CancellationToken ct)
    {
        var table = $"{Schema}.{WebhookStream.Deliveries}";
        await using var cmd = new NpgsqlCommand(
            $"select id, event_sequence, type, message_id, payload, attempts, schedule_start from {table} d where d.webhook_id = $1 and d.state = 'pending' " +
            $"and d.next_attempt_at <= $2 and (d.event_sequence is null or d.ord = (select min(ord) from {table} h where h.webhook_id = $1 and h.state = 'pending' " +
            "and h.event_sequence is not null)) order by d.ord limit 1", connection);
        cmd.Parameters.AddWithValue(webhookId);
        cmd.Parameters.AddWithValue(clock.GetUtcNow());
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        if (!await reader.ReadAsync(ct)) return null;
        return new Due(reader.GetGuid(0), reader.IsDBNull(1) ? null : reader.GetInt64(1), reader.GetString(2), reader.GetString(3), reader.GetString(4),
            reader.GetInt32(5), reader.GetInt32(6));
    }

    private sealed record Outcome(int? Status, string? Excerpt, string? Error, bool Retry, TimeSpan? RetryAfter)
    {
        public bool Succeeded => Status is >= 200 and < 300;
    }

    /// <summary>One attempt, recorded with its outcome. False when the endpoint should not be served further now.</summary>
    private async Task<bool> AttemptAsync(NpgsqlConnection connection, IQuerySession session, Webhook webhook, Due delivery, CancellationToken ct)
    {
        if (delivery.Sequence is { } sequence && !await events.StillVisibleAsync(session, webhook, sequence, ct))
        {
            // The owner lost access since the event was queued: it is not delivered.
            await RecordAsync(connection, webhook, delivery, clock.GetUtcNow(), 0, new Outcome(null, null, "not_visible", false, null), ct);
            return true;
        }
        var started = clock.GetUtcNow();
        var watch = Stopwatch.StartNew();
        var outcome = await SendAsync(webhook, delivery, session, started, ct);
        return await RecordAsync(connection, webhook, delivery, started, (int)watch.ElapsedMilliseconds, outcome, ct);
    }

    private async Task<Outcome> SendAsync(Webhook webhook, Due delivery, IQuerySession session, DateTimeOffset now, CancellationToken ct)
    {
        var secrets = await WebhookSigning.SigningSecretsAsync(session, vault, webhook.Id, now, ct);
        var timestamp = now.ToUnixTimeSeconds();
        using var request = new HttpRequestMessage(HttpMethod.Post, webhook.Url)
        {
            Content = new StringContent(delivery.Payload, Encoding.UTF8, "application/json"),
        };
        request.Headers.TryAddWithoutValidation("webhook-id", delivery.MessageId);
        request.Headers.TryAddWithoutValidation("webhook-timestamp", timestamp.ToString(System.Globalization.CultureInfo.InvariantCulture));
        request.Headers.TryAddWithoutValidation("webhook-signature", WebhookSigning.Signature(delivery.MessageId, timestamp, delivery.Payload, secrets));
        request.Headers.UserAgent.ParseAdd("AgentArtifacts-Webhooks/1");

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(Options.TimeoutSeconds));
        // The egress client of invocations: the same address policy, checked on the address connected to, and no redirects.
        var client = clients.CreateClient(HttpDispatchHandler.Client);
        client.Timeout = Timeout.InfiniteTimeSpan;
        try
        {
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            var status = (int)response.StatusCode;
            var excerpt = await ExcerptAsync(response.Content, Options.ResponseExcerptBytes, timeout.Token);
            return status switch
            {
                >= 200 and < 300 => new Outcome(status, excerpt, null, false, null),
                >= 300 and < 400 => new Outcome(status, excerpt, "redirect_not_followed", false, null),
                408 or 429 or >= 500 => new Outcome(status, excerpt, null, true, HttpDispatchHandler.RetryAfter(response.Headers.RetryAfter, now)),
                _ => new Outcome(status, excerpt, null, false, null),
            };
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return new Outcome(null, null, "timeout", true, null);
        }
        catch (HttpRequestException e) when (e.InnerException is EgressRefusedException)
        {
            return new Outcome(null, null, "egress_refused", false, null);
        }
        catch (HttpRequestException)
        {
            return new Outcome(null, null, "connection_failed", true, null);
        }
        catch (IOException) when (!ct.IsCancellationRequested)
        {
            return new Outcome(null, null, "connection_failed", true, null);
        }
    }

    /// <summary>At most <paramref name="limit"/> bytes of the body; the rest is left unread (the response is disposed).</summary>
    private static async Task<string> ExcerptAsync(HttpContent content, int limit, CancellationToken ct)
    {
        await using var stream = await content.ReadAsStreamAsync(ct);
        var buffer = ArrayPool<byte>.Shared.Rent(limit);
        try
        {
            var read = 0;
            while (read < limit && await stream.ReadAsync(buffer.AsMemory(read, limit - read), ct) is var n and > 0) read += n;
            return Encoding.UTF8.GetString(buffer, 0, read);
        }
        catch (IOException)
        {
            return "";
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// Records the attempt and decides what follows: success ends the delivery and the endpoint's failure clock; a retryable
    /// failure is due again after the next pause of the schedule (with ±20 % jitter, or the receiver's <c>Retry-After</c> when
    /// longer) until the schedule is used up; anything else fails the delivery, and the next one goes. An endpoint failing
    /// for <c>DisableAfterSeconds</c> is disabled. False when the endpoint should wait (the head delivery is waiting to retry).
    /// </summary>
    private async Task<bool> RecordAsync(NpgsqlConnection connection, Webhook webhook, Due delivery, DateTimeOffset at, int durationMs, Outcome outcome,
        CancellationToken ct)
    {
        var attempt = delivery.Attempts + 1;
        var delays = Options.RetrySchedule;
        var retryIndex = attempt - delivery.ScheduleStart - 1;
        DateTimeOffset? nextAt = null;
        if (!outcome.Succeeded && outcome.Retry && retryIndex < delays.Count)
        {
            var pause = TimeSpan.FromMilliseconds(delays[retryIndex] * (0.8 + 0.4 * Random.Shared.NextDouble()));
            if (outcome.RetryAfter is { } asked) pause = TimeSpan.FromTicks(Math.Max(pause.Ticks, Math.Min(asked.Ticks, TimeSpan.FromSeconds(Options.MaxRetryAfterSeconds).Ticks)));
            nextAt = clock.GetUtcNow() + pause;
        }
        var state = outcome.Succeeded ? DeliveryState.Succeeded : nextAt is null ? DeliveryState.Failed : DeliveryState.Pending;
        var notAttempted = outcome.Error == "not_visible";

        await using var tx = await connection.BeginTransactionAsync(ct);
        if (!notAttempted)
        {
            await using var insert = new NpgsqlCommand(
                $"insert into {Schema}.{WebhookStream.Attempts} (delivery_id, attempt, at, status_code, duration_ms, response_excerpt, error, next_attempt_at) " +
                "values ($1, $2, $3, $4, $5, $6, $7, $8) on conflict do nothing", connection, tx);
            insert.Parameters.AddWithValue(delivery.Id);
            insert.Parameters.AddWithValue(attempt);
            insert.Parameters.AddWithValue(at);
            insert.Parameters.AddWithValue(NpgsqlTypes.NpgsqlDbType.Integer, (object?)outcome.Status ?? DBNull.Value);
            insert.Parameters.AddWithValue(durationMs);
            insert.Parameters.AddWithValue(NpgsqlTypes.NpgsqlDbType.Text, (object?)outcome.Excerpt ?? DBNull.Value);
            insert.Parameters.AddWithValue(NpgsqlTypes.NpgsqlDbType.Text, (object?)outcome.Error ?? DBNull.Value);
            insert.Parameters.AddWithValue(NpgsqlTypes.NpgsqlDbType.TimestampTz, (object?)nextAt ?? DBNull.Value);
            await insert.ExecuteNonQueryAsync(ct);
        }
        await using (var update = new NpgsqlCommand(
            $"update {Schema}.{WebhookStream.Deliveries} set state = $2, attempts = $3, next_attempt_at = $4 where id = $1", connection, tx))
        {
            update.Parameters.AddWithValue(delivery.Id);
            update.Parameters.AddWithValue(state);
            update.Parameters.AddWithValue(notAttempted ? delivery.Attempts : attempt);
            update.Parameters.AddWithValue(NpgsqlTypes.NpgsqlDbType.TimestampTz, (object?)nextAt ?? DBNull.Value);
            await update.ExecuteNonQueryAsync(ct);
        }
        DateTimeOffset? failingSince = null;
        if (!notAttempted)
        {
            await using var clockSql = new NpgsqlCommand(
                $"update {Schema}.{WebhookStream.Endpoints} set failing_since = case when $2 then null else coalesce(failing_since, $3) end " +
                "where webhook_id = $1 returning failing_since", connection, tx);
            clockSql.Parameters.AddWithValue(webhook.Id);
            clockSql.Parameters.AddWithValue(outcome.Succeeded);
            clockSql.Parameters.AddWithValue(at);
            failingSince = await clockSql.ExecuteScalarAsync(ct) is DateTime since ? new DateTimeOffset(since, TimeSpan.Zero) : null;
        }
        await tx.CommitAsync(ct);

        if (failingSince is { } first && clock.GetUtcNow() - first >= TimeSpan.FromSeconds(Options.DisableAfterSeconds))
        {
            await DisableAsync(connection, webhook, first, ct);
            return false;
        }
        return state != DeliveryState.Pending || delivery.Sequence is null;
    }

    /// <summary>Stops deliveries to an endpoint that has failed for too long, with the event <c>webhook.disabled</c>.</summary>
    private async Task DisableAsync(NpgsqlConnection connection, Webhook webhook, DateTimeOffset failingSince, CancellationToken ct)
    {
        await using (var session = store.LightweightSession())
        {
            var hours = Options.DisableAfterSeconds / 3600.0;
            // At the stream's version (a concurrent change fails this pass, and the next one decides again); the version also
            // gives the inline snapshot its version, which an append without one leaves unset.
            var stream = await session.Events.FetchStreamStateAsync(webhook.Id, ct);
            session.Events.Append(webhook.Id, stream!.Version + 1, new WebhookDisabled(webhook.Id, failingSince,
                $"Every delivery attempt failed for {(hours >= 1 ? $"{hours:0.#} h" : $"{Options.DisableAfterSeconds} s")}; PATCH enabled: true to resume."));
            await session.SaveChangesAsync(ct);
        }
        await using var update = new NpgsqlCommand($"update {Schema}.{WebhookStream.Endpoints} set active = false where webhook_id = $1", connection);
        update.Parameters.AddWithValue(webhook.Id);
        await update.ExecuteNonQueryAsync(ct);
        logger.LogWarning("Webhook {WebhookId} disabled: every attempt failed since {FailingSince}", webhook.Id, failingSince);
    }
}
