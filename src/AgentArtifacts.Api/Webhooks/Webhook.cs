using AgentArtifacts.Api.StoredSecrets;
using JasperFx.Events;
using Marten;
using Weasel.Postgresql.Tables;

namespace AgentArtifacts.Api.Webhooks;

// The webhook stream: one per endpoint. Events carry no secret (the event log is public to the feed and the audit log);
// the signing secrets are WebhookSecret documents, encrypted, written in the same transaction as the event.

public sealed record WebhookCreated(Guid WebhookId, Guid OwnerId, string Url, IReadOnlyList<string>? Types, Guid? ContainerId, string? Description);
/// <summary>What a PATCH changed; null fields stayed as they were (<c>ClearTypes</c>/<c>ClearContainer</c> say a filter was removed).</summary>
public sealed record WebhookChanged(Guid WebhookId, string? Url, IReadOnlyList<string>? Types, bool ClearTypes, Guid? ContainerId, bool ClearContainer,
    string? Description);
/// <summary>A new signing secret; the previous one keeps signing until <c>PreviousSecretValidUntil</c>.</summary>
public sealed record WebhookSecretRotated(Guid WebhookId, DateTimeOffset PreviousSecretValidUntil);
/// <summary>Deliveries stopped: the endpoint failed every attempt since <c>FailingSince</c>.</summary>
public sealed record WebhookDisabled(Guid WebhookId, DateTimeOffset FailingSince, string Reason);
public sealed record WebhookEnabled(Guid WebhookId);
public sealed record WebhookDeleted(Guid WebhookId);

/// <summary>The endpoint as of its latest event (inline snapshot): what the routes and the deliverer read.</summary>
public sealed class Webhook
{
    public Guid Id { get; set; }
    public long Version { get; set; }
    public Guid OwnerId { get; set; }
    public string Url { get; set; } = "";
    public IReadOnlyList<string>? Types { get; set; }
    public Guid? ContainerId { get; set; }
    public string? Description { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset? SecretRotatedAt { get; set; }
    public DateTimeOffset? DisabledAt { get; set; }
    public string? DisabledReason { get; set; }
    public DateTimeOffset? DeletedAt { get; set; }

    public bool Enabled => DisabledAt is null;

    public static Webhook Create(IEvent<WebhookCreated> e) => new()
    {
        Id = e.Data.WebhookId,
        OwnerId = e.Data.OwnerId,
        Url = e.Data.Url,
        Types = e.Data.Types,
        ContainerId = e.Data.ContainerId,
        Description = e.Data.Description,
        CreatedAt = e.Timestamp,
    };

    public void Apply(WebhookChanged e)
    {
        Url = e.Url ?? Url;
        Types = e.ClearTypes ? null : e.Types ?? Types;
        ContainerId = e.ClearContainer ? null : e.ContainerId ?? ContainerId;
        Description = e.Description ?? Description;
    }

    public void Apply(IEvent<WebhookSecretRotated> e) => SecretRotatedAt = e.Timestamp;

    public void Apply(IEvent<WebhookDisabled> e)
    {
        DisabledAt = e.Timestamp;
        DisabledReason = e.Data.Reason;
    }

    public void Apply(WebhookEnabled e)
    {
        DisabledAt = null;
        DisabledReason = null;
    }

    public void Apply(IEvent<WebhookDeleted> e) => DeletedAt = e.Timestamp;
}

/// <summary>
/// One signing secret of an endpoint, encrypted with the secrets key (<see cref="SecretVault"/>): signing needs the secret
/// itself, so unlike API keys it cannot be kept as a hash. A rotated-away secret keeps signing until <c>ValidUntil</c>.
/// </summary>
public sealed class WebhookSecret
{
    public Guid Id { get; set; }
    public Guid WebhookId { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset? ValidUntil { get; set; }
    public SecretCiphertext Ciphertext { get; set; } = new();

    public bool IsValid(DateTimeOffset now) => ValidUntil is null || now < ValidUntil;
}

public sealed class WebhookOptions
{
    /// <summary>How long the previous secret keeps signing after a rotation, so receivers can switch without rejecting deliveries.</summary>
    public int RotationOverlapHours { get; set; } = 24;

    /// <summary>Only <c>https</c> URLs are accepted when true (production); tests and local set-ups may use <c>http</c>.</summary>
    public bool RequireHttps { get; set; }

    /// <summary>How long an attempt may take, headers and the read of the response excerpt included.</summary>
    public int TimeoutSeconds { get; set; } = 10;

    /// <summary>
    /// The pauses before each retry of a failed delivery; once they are used up the delivery has failed. The default, with
    /// ±20 % jitter, spreads eight attempts over about a day (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h).
    /// Empty means the default: configuration binding appends to an array's initial items instead of replacing them.
    /// </summary>
    public int[] RetryDelaysMs { get; set; } = [];

    public IReadOnlyList<int> RetrySchedule => RetryDelaysMs is { Length: > 0 } configured ? configured : DefaultRetryDelaysMs;

    public static readonly int[] DefaultRetryDelaysMs = [5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000];

    /// <summary>The longest wait a receiver's <c>Retry-After</c> can ask for; longer asks wait this long.</summary>
    public int MaxRetryAfterSeconds { get; set; } = 3600;

    /// <summary>An endpoint whose every attempt failed for this long is disabled (event <c>webhook.disabled</c>).</summary>
    public int DisableAfterSeconds { get; set; } = 86_400;

    /// <summary>Deliverers per node: each serves one endpoint at a time, so a slow endpoint holds one of them, never the others.</summary>
    public int Workers { get; set; } = 4;

    /// <summary>How often an idle deliverer looks for work without a wake-up (retries falling due, a missed notification).</summary>
    public int PollMilliseconds { get; set; } = 1000;

    /// <summary>How much of a response body is read and kept as the attempt's excerpt; the rest is never read.</summary>
    public int ResponseExcerptBytes { get; set; } = 1024;
}

public sealed class WebhookStream : IConfigureMarten
{
    public const string Endpoints = "webhook_endpoints";
    public const string Deliveries = "webhook_deliveries";
    public const string Attempts = "webhook_attempts";

    public void Configure(IServiceProvider services, StoreOptions options)
    {
        options.Projections.Snapshot<Webhook>(JasperFx.Events.Projections.SnapshotLifecycle.Inline);
        options.Schema.For<Webhook>().Index(w => w.OwnerId);
        options.Schema.For<WebhookSecret>().Index(s => s.WebhookId);

        var schema = options.DatabaseSchemaName;
        // Delivery state, one row per endpoint: its cursor over the global event sequence (every event up to it has been
        // turned into deliveries or skipped), whether deliveries run, and since when every attempt has failed.
        var endpoints = new Table($"{schema}.{Endpoints}");
        endpoints.AddColumn<Guid>("webhook_id").AsPrimaryKey();
        endpoints.AddColumn<long>("cursor").NotNull();
        endpoints.AddColumn<bool>("active").NotNull().DefaultValueByExpression("true");
        endpoints.AddColumn<DateTimeOffset>("failing_since");
        options.Storage.ExtendedSchemaObjects.Add(endpoints);

        // One row per message to an endpoint, in the order it must arrive (ord); its attempts in the table below.
        var deliveries = new Table($"{schema}.{Deliveries}");
        deliveries.AddColumn<Guid>("id").AsPrimaryKey();
        deliveries.AddColumn<Guid>("webhook_id").NotNull();
        deliveries.AddColumn("ord", "bigserial").NotNull();
        deliveries.AddColumn<long>("event_sequence");
        deliveries.AddColumn<string>("type").NotNull();
        deliveries.AddColumn<string>("message_id").NotNull();
        deliveries.AddColumn<string>("payload").NotNull();
        deliveries.AddColumn<string>("state").NotNull();
        deliveries.AddColumn<int>("attempts").NotNull().DefaultValueByExpression("0");
        deliveries.AddColumn<int>("schedule_start").NotNull().DefaultValueByExpression("0");
        deliveries.AddColumn<DateTimeOffset>("next_attempt_at");
        deliveries.AddColumn<DateTimeOffset>("created_at").NotNull();
        deliveries.Indexes.Add(new IndexDefinition($"ix_{Deliveries}_order") { Columns = ["webhook_id", "ord"] });
        // A replay does not queue an event twice while it still waits to go out.
        deliveries.Indexes.Add(new IndexDefinition($"ux_{Deliveries}_pending_event")
        {
            Columns = ["webhook_id", "event_sequence"], IsUnique = true, Predicate = "state = 'pending' and event_sequence is not null",
        });
        options.Storage.ExtendedSchemaObjects.Add(deliveries);

        var attempts = new Table($"{schema}.{Attempts}");
        attempts.AddColumn<Guid>("delivery_id").AsPrimaryKey();
        attempts.AddColumn<int>("attempt").AsPrimaryKey();
        attempts.AddColumn<DateTimeOffset>("at").NotNull();
        attempts.AddColumn<int>("status_code");
        attempts.AddColumn<int>("duration_ms").NotNull();
        attempts.AddColumn<string>("response_excerpt");
        attempts.AddColumn<string>("error");
        attempts.AddColumn<DateTimeOffset>("next_attempt_at");
        options.Storage.ExtendedSchemaObjects.Add(attempts);
    }
}
