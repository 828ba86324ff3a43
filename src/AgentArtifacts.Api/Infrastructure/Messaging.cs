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
        });
        builder.Services.AddWolverineHttp();
        builder.Services.ConfigureHttpJsonOptions(o => WolverineHttpSetup.Apply(o.SerializerOptions));
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
    /// camelCase, enums as their names only (a number such as <c>"effect": 99</c> is a 400, never an undefined value), and
    /// unknown members rejected: a misspelt field is a 400, never silently dropped.
    /// </summary>
    public static JsonSerializerOptions Apply(JsonSerializerOptions o)
    {
        o.PropertyNamingPolicy = JsonNamingPolicy.CamelCase;
        o.DefaultIgnoreCondition = JsonIgnoreCondition.Never;
        o.UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow;
        o.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower, allowIntegerValues: false));
        return o;
    }

    private static JsonSerializerOptions CreateJsonOptions() => Apply(new JsonSerializerOptions(JsonSerializerDefaults.Web));
}
