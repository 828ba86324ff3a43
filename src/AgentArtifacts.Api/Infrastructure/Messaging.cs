using System.Text.Json;
using System.Text.Json.Serialization;
using JasperFx.CodeGeneration;
using Wolverine;
using Wolverine.Http;
using Wolverine.Marten;

namespace AgentArtifacts.Api.Infrastructure;

public static class Messaging
{
    /// <summary>Wolverine: handlers, durable local queues and the Marten-backed transactional outbox.</summary>
    public static void AddMessaging(this WebApplicationBuilder builder)
    {
        var staticCodegen = builder.Configuration.GetValue("Wolverine:StaticCodegen", false);
        builder.Host.UseWolverine(opts =>
        {
            // Development and tests generate handler code at run time from the current source, so it is never stale.
            // The production image is built with `codegen write` + Static (see docs/architecture.md).
            opts.CodeGeneration.TypeLoadMode = staticCodegen ? TypeLoadMode.Static : TypeLoadMode.Dynamic;
            opts.Policies.AutoApplyTransactions();
            opts.Policies.UseDurableLocalQueues();
            opts.Durability.Mode = builder.Configuration.GetValue("Wolverine:DurabilityMode", DurabilityMode.Balanced);
            NodeHealth.Apply(opts.Durability, builder.Configuration);
        });
        builder.Services.AddWolverineHttp();
        builder.Services.ConfigureHttpJsonOptions(o => WolverineHttpSetup.Apply(o.SerializerOptions));
    }
}

/// <summary>
/// How fast the other nodes recover the durable messages (queued async runs, scheduled expiries) of a node that died.
/// Wolverine's defaults — a heartbeat every 10 s, stale after 60 s — left a dead node's runs waiting ~70 s. A node now
/// writes its heartbeat every 2 s and is declared dead when its heartbeat is 15 s old (seen stale on two consecutive
/// checks before it is ejected). 15 s is far above any pause a live node has: .NET's blocking GC pauses are
/// milliseconds to, under severe memory pressure, a second or two, and a starved thread pool delays the heartbeat timer by
/// seconds at most. Bound on a dead node's queued runs being picked up: stale timeout + two checks + the recovery polls
/// ≈ 15 + 4 + 5 + 5 s, documented as 30 s (docs/architecture.md, "Several nodes").
/// </summary>
public static class NodeHealth
{
    public static void Apply(DurabilitySettings durability, IConfiguration configuration)
    {
        durability.HealthCheckPollingTime = TimeSpan.FromSeconds(configuration.GetValue("Wolverine:HeartbeatSeconds", 2));
        durability.StaleNodeTimeout = TimeSpan.FromSeconds(configuration.GetValue("Wolverine:StaleNodeSeconds", 15));
        durability.FirstHealthCheckExecution = TimeSpan.FromSeconds(1);
    }
}

public static class WolverineHttpSetup
{
    public static readonly JsonSerializerOptions Json = CreateJsonOptions();

    public static void Configure(WolverineHttpOptions opts)
    {
        opts.RequireAuthorizeOnAll();
        opts.AddPolicy<ValidationPolicy>();
        opts.AddPolicy<EnumQueryPolicy>();
        opts.AddMiddleware(typeof(ActorMiddleware), ActorMiddleware.AppliesTo);
        opts.RejectUnparseableQueryValues = true;
    }

    /// <summary>
    /// camelCase, enums as their names only (a number such as <c>"effect": 99</c> is a 400, never an undefined value),
    /// numbers as numbers only (<c>"limit": "5"</c> is a 400: the document and generated clients say integer, not a
    /// string of digits), and unknown members rejected: a misspelt field is a 400, never silently dropped.
    /// </summary>
    public static JsonSerializerOptions Apply(JsonSerializerOptions o)
    {
        o.PropertyNamingPolicy = JsonNamingPolicy.CamelCase;
        o.NumberHandling = JsonNumberHandling.Strict;
        o.DefaultIgnoreCondition = JsonIgnoreCondition.Never;
        o.UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow;
        o.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower, allowIntegerValues: false));
        return o;
    }

    private static JsonSerializerOptions CreateJsonOptions() => Apply(new JsonSerializerOptions(JsonSerializerDefaults.Web));
}
