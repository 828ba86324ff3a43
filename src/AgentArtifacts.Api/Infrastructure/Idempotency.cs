using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Marten;
using Npgsql;
using Weasel.Postgresql.Tables;

namespace AgentArtifacts.Api.Infrastructure;

/// <summary>
/// <c>Idempotency-Key</c> on POST: the first response (status and body) is kept in PostgreSQL for at least
/// <c>Idempotency:RetentionHours</c> (24), scoped to principal, method and path, and replayed with
/// <c>Idempotent-Replayed: true</c>. The same key with another body is a 422; a retry while the first request is still
/// running is a 409 with Retry-After. A first attempt that ended in a 5xx is forgotten, so the retry runs again.
/// </summary>
public sealed class Idempotency(RequestDelegate next, NpgsqlDataSource db, IConfiguration configuration)
{
    public const string Header = "Idempotency-Key";

    /// <summary>Where a key is honoured (for an authenticated caller): POSTs, except <c>/auth/*</c>, so tokens are never stored.</summary>
    public static bool AppliesTo(string method, PathString path) => HttpMethods.IsPost(method) && !path.StartsWithSegments("/auth");
    private readonly TimeSpan _retention = Retention(configuration);
    // A plain hash of a body that carries a secret would let a reader of the table confirm guesses of a weak secret offline.
    private readonly byte[] _secretRequestKey = SHA256.HashData(Encoding.UTF8.GetBytes("idempotency-request:" + configuration["Secrets:EncryptionKey"]));
    // A first attempt whose process died never completes; after this lease a retry may run it again.
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(60);

    /// <summary>How long a first response is kept: <c>Idempotency:RetentionHours</c>, never under the 24 h the API promises.</summary>
    public static TimeSpan Retention(IConfiguration configuration) =>
        TimeSpan.FromHours(Math.Max(24, configuration.GetValue("Idempotency:RetentionHours", 24)));

    public async Task InvokeAsync(HttpContext context)
    {
        var key = context.Request.Headers[Header].ToString();
        if (key.Length == 0 || !AppliesTo(context.Request.Method, context.Request.Path) || context.User.Identity?.IsAuthenticated != true)
        {
            await next(context);
            return;
        }
        if (key.Length > 255)
        {
            await Problems.Invalid(Header, "An Idempotency-Key has at most 255 characters.", "invalid_idempotency_key").ExecuteAsync(context);
            return;
        }

        context.Request.EnableBuffering();
        var requestHash = Convert.ToHexString(context.GetEndpoint()?.Metadata.GetMetadata<SecretInRequestAttribute>() is null
            ? await SHA256.HashDataAsync(context.Request.Body, context.RequestAborted)
            : await HMACSHA256.HashDataAsync(_secretRequestKey, context.Request.Body, context.RequestAborted));
        context.Request.Body.Position = 0;
        // An API key acts as its owner but is a principal of its own: its keys never replay its owner's responses.
        var caller = Caller.From(context.User);
        var principal = caller.ApiKeyId is { } apiKey ? $"{caller.Id}/{apiKey}" : caller.Id.ToString();
        var id = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(
            $"{principal}\n{context.Request.Method}\n{context.Request.Path}\n{key}")));

        if (!await TryClaim(id, requestHash, context.RequestAborted))
        {
            await AnswerFromStored(context, id, requestHash);
            return;
        }

        var original = context.Response.Body;
        // A client asking for an event stream gets it as it is written (a copy is kept, for an answer that is not a stream).
        var streaming = context.Request.Headers.Accept.ToString().Contains(EventStream, StringComparison.OrdinalIgnoreCase);
        using var buffer = new CopyingStream(streaming ? original : null);
        context.Response.Body = buffer;
        var completed = false;
        try
        {
            await next(context);
            completed = context.Response.StatusCode < 500;
        }
        finally
        {
            context.Response.Body = original;
            if (completed) await Complete(id, context.Response, Redact(context, buffer.Copy.ToArray()));
            else await Forget(id);
            if (!streaming)
            {
                buffer.Copy.Position = 0;
                await buffer.Copy.CopyToAsync(original, context.RequestAborted);
            }
        }
    }

    private const string EventStream = "text/event-stream";

    /// <summary>
    /// Keeps a copy of what the endpoint writes; with a target, writes through to it at once (an event stream must not wait
    /// for its end). A stream's copy is not what a replay shows: see <see cref="Complete"/>.
    /// </summary>
    private sealed class CopyingStream(Stream? target) : Stream
    {
        public MemoryStream Copy { get; } = new();
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => Copy.Length;
        public override long Position { get => Copy.Length; set => throw new NotSupportedException(); }
        public override void Flush() => target?.Flush();
        public override Task FlushAsync(CancellationToken ct) => target?.FlushAsync(ct) ?? Task.CompletedTask;
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer, offset, count).GetAwaiter().GetResult();

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken ct = default)
        {
            if (target is null || Copy.Length < MaxStreamCopy) Copy.Write(data.Span);
            if (target is not null) await target.WriteAsync(data, ct);
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken ct) =>
            WriteAsync(buffer.AsMemory(offset, count), ct).AsTask();

        private const int MaxStreamCopy = 1 << 20;
    }

    /// <summary>A response carrying a secret (<see cref="SecretInResponseAttribute"/>) is stored with those fields set to null.</summary>
    private static byte[] Redact(HttpContext context, byte[] body)
    {
        if (context.GetEndpoint()?.Metadata.GetMetadata<SecretInResponseAttribute>() is not { } secret
            || context.Response.StatusCode >= 300 || body.Length == 0 || System.Text.Json.Nodes.JsonNode.Parse(body) is not System.Text.Json.Nodes.JsonObject json)
        {
            return body;
        }
        foreach (var field in secret.Fields) if (json.ContainsKey(field)) json[field] = null;
        return Encoding.UTF8.GetBytes(json.ToJsonString());
    }

    private async Task<bool> TryClaim(string id, string requestHash, CancellationToken ct)
    {
        // Insert, or take over a row that expired or whose first attempt died (same body, lease over).
        await using var cmd = db.CreateCommand("""
            insert into agentartifacts.idempotency_keys (id, request_hash, created_at, lease_until)
            values ($1, $2, now(), now() + $3)
            on conflict (id) do update set request_hash = excluded.request_hash, created_at = excluded.created_at,
                lease_until = excluded.lease_until, status = null, content_type = null, location = null, etag = null, body = null
            where idempotency_keys.created_at < now() - $4
               or (idempotency_keys.status is null and idempotency_keys.lease_until < now() and idempotency_keys.request_hash = excluded.request_hash)
            returning id
            """);
        cmd.Parameters.AddWithValue(id);
        cmd.Parameters.AddWithValue(requestHash);
        cmd.Parameters.AddWithValue(Lease);
        cmd.Parameters.AddWithValue(_retention);
        return await cmd.ExecuteScalarAsync(ct) is not null;
    }

    private async Task AnswerFromStored(HttpContext context, string id, string requestHash)
    {
        await using var cmd = db.CreateCommand(
            "select request_hash, status, content_type, location, etag, body from agentartifacts.idempotency_keys where id = $1");
        cmd.Parameters.AddWithValue(id);
        await using var reader = await cmd.ExecuteReaderAsync(context.RequestAborted);
        if (!await reader.ReadAsync(context.RequestAborted) || reader.IsDBNull(1))
        {
            context.Response.Headers.RetryAfter = "1";
            await Problems.Result(409, "idempotency_in_flight", "A request with this Idempotency-Key is still being processed; retry shortly.").ExecuteAsync(context);
            return;
        }
        if (reader.GetString(0) != requestHash)
        {
            await Problems.Result(422, "idempotency_key_reused", "This Idempotency-Key was used with a different request body.").ExecuteAsync(context);
            return;
        }

        context.Response.Headers["Idempotent-Replayed"] = "true";
        if (!reader.IsDBNull(2) && reader.GetString(2).StartsWith(EventStream, StringComparison.OrdinalIgnoreCase))
        {
            context.Response.StatusCode = StatusCodes.Status303SeeOther;
            context.Response.Headers.Location = reader.IsDBNull(3) ? null : reader.GetString(3);
            return;
        }
        context.Response.StatusCode = reader.GetInt32(1);
        if (!reader.IsDBNull(2)) context.Response.ContentType = reader.GetString(2);
        if (!reader.IsDBNull(3)) context.Response.Headers.Location = reader.GetString(3);
        if (!reader.IsDBNull(4)) context.Response.Headers.ETag = reader.GetString(4);
        if (!reader.IsDBNull(5)) await context.Response.Body.WriteAsync(reader.GetFieldValue<byte[]>(5), context.RequestAborted);
    }

    /// <summary>
    /// Stores the first answer. An event stream cannot be replayed byte for byte (it ended long ago, or is still going):
    /// what is kept is where it can be read again, its <c>Content-Location</c>, and a replay answers 303 See Other to it.
    /// </summary>
    private async Task Complete(string id, HttpResponse response, byte[] body)
    {
        var location = response.Headers.Location.ToString();
        if (response.ContentType?.StartsWith(EventStream, StringComparison.OrdinalIgnoreCase) == true)
        {
            (body, location) = ([], response.Headers.ContentLocation.ToString());
        }
        await using var cmd = db.CreateCommand(
            "update agentartifacts.idempotency_keys set status = $2, content_type = $3, location = $4, etag = $5, body = $6 where id = $1");
        cmd.Parameters.AddWithValue(id);
        cmd.Parameters.AddWithValue(response.StatusCode);
        cmd.Parameters.AddWithValue((object?)response.ContentType ?? DBNull.Value);
        cmd.Parameters.AddWithValue((object?)location.NullIfEmpty() ?? DBNull.Value);
        cmd.Parameters.AddWithValue((object?)response.Headers.ETag.ToString().NullIfEmpty() ?? DBNull.Value);
        cmd.Parameters.AddWithValue(body);
        await cmd.ExecuteNonQueryAsync();
    }

    private async Task Forget(string id)
    {
        await using var cmd = db.CreateCommand("delete from agentartifacts.idempotency_keys where id = $1");
        cmd.Parameters.AddWithValue(id);
        await cmd.ExecuteNonQueryAsync();
    }
}

/// <summary>
/// The route answers with a secret shown once (an API key, a client secret). Idempotency stores its response with these
/// top-level JSON fields set to null, so no secret is ever written to the idempotency table; a replay shows them null.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class SecretInResponseAttribute(params string[] fields) : Attribute
{
    public IReadOnlyList<string> Fields { get; } = fields;
}

/// <summary>
/// The request body carries a secret (<c>POST /secrets</c>): idempotency stores a keyed hash (HMAC-SHA256 under a key derived
/// from <c>Secrets:EncryptionKey</c>) of it instead of a plain SHA-256, so the stored hash cannot confirm guesses of the secret.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class SecretInRequestAttribute : Attribute;

/// <summary>The idempotency table, created and migrated by Marten with the rest of the schema.</summary>
public sealed class IdempotencyTable : IConfigureMarten
{
    public void Configure(IServiceProvider services, StoreOptions options)
    {
        var table = new Table($"{options.DatabaseSchemaName}.idempotency_keys");
        table.AddColumn<string>("id").AsPrimaryKey();
        table.AddColumn<string>("request_hash").NotNull();
        table.AddColumn<DateTimeOffset>("created_at").NotNull();
        table.AddColumn<DateTimeOffset>("lease_until").NotNull();
        table.AddColumn<int>("status");
        table.AddColumn<string>("content_type");
        table.AddColumn<string>("location");
        table.AddColumn<string>("etag");
        table.AddColumn("body", "bytea");
        options.Storage.ExtendedSchemaObjects.Add(table);
    }
}

/// <summary>Deletes idempotency records past their retention, hourly.</summary>
public sealed class IdempotencyPurge(NpgsqlDataSource db, IConfiguration configuration, ILogger<IdempotencyPurge> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var retention = Idempotency.Retention(configuration);
        using var timer = new PeriodicTimer(TimeSpan.FromHours(1));
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await using var cmd = db.CreateCommand("delete from agentartifacts.idempotency_keys where created_at < now() - $1");
                cmd.Parameters.AddWithValue(retention);
                var deleted = await cmd.ExecuteNonQueryAsync(stoppingToken);
                logger.LogInformation("Purged {Count} expired idempotency records", deleted);
            }
            catch (NpgsqlException e)
            {
                logger.LogWarning(e, "Purging idempotency records failed; will retry in an hour");
            }
        }
    }
}

internal static class StringExtensions
{
    public static string? NullIfEmpty(this string value) => value.Length == 0 ? null : value;
}
