using System.Reflection;
using System.Text.Json.Nodes;
using AgentArtifacts.Api.Artifacts;

namespace AgentArtifacts.Api.Runs;

/// <summary>What a dispatch handler works with: the run, the artifact as it was invoked, the operation and its declaration.</summary>
public sealed record RunContext(Guid RunId, Artifact Artifact, string Operation, JsonObject Declaration, JsonNode? Input, Caller Caller);

/// <summary>
/// What a dispatch produced: an output, or a problem-shaped error (the run then fails; the invoke call itself succeeds).
/// <see cref="RetryAfter"/> is how long the target asked to be left alone (its <c>Retry-After</c>), when it said.
/// </summary>
public sealed record RunResult(JsonNode? Output, JsonObject? Error)
{
    public TimeSpan? RetryAfter { get; init; }

    public static RunResult Failed(string code, string detail, int? status = null) => new(null, new JsonObject
    {
        ["type"] = $"https://agentartifacts.dev/problems/{code.Replace('_', '-')}",
        ["title"] = "The operation failed",
        ["status"] = status,
        ["detail"] = detail,
        ["code"] = code,
    });

    /// <summary>
    /// Worth another attempt: the target could not be reached, did not answer in time, dropped the connection before its
    /// answer ended, or answered 5xx or 429. Anything else (a 4xx, a refused address, a bad configuration) fails the same way
    /// every time and fails the run at once.
    /// </summary>
    public bool IsTransient => Error?["code"]?.GetValue<string>() switch
    {
        "upstream_unreachable" or "upstream_timeout" or "upstream_disconnected" => true,
        "upstream_error" => Error["status"]?.GetValue<int>() is >= 500 or 429,
        _ => false,
    };
}

/// <summary>Limits every dispatch kind shares.</summary>
public static class DispatchLimits
{
    /// <summary>The most bytes a tool's answer may have (<c>Invoke:MaxResponseBytes</c>, 1 MiB): HTTP tools and MCP servers alike.</summary>
    public static int MaxResponseBytes(IConfiguration configuration) => configuration.GetValue("Invoke:MaxResponseBytes", 1 << 20);
}

/// <summary>A dispatch message. Each kind is one record implementing this, marked with its kind, and one Wolverine handler.</summary>
public interface IDispatch
{
    RunContext Run { get; }
}

[AttributeUsage(AttributeTargets.Class)]
public sealed class DispatchKindAttribute(string kind) : Attribute
{
    public string Kind { get; } = kind;
}

/// <summary>The dispatch kinds this build knows, found by their attribute: adding a kind is adding its message and handler.</summary>
public static class DispatchKinds
{
    private static readonly IReadOnlyDictionary<string, Type> Messages = typeof(IDispatch).Assembly.GetTypes()
        .Where(t => typeof(IDispatch).IsAssignableFrom(t) && t.GetCustomAttribute<DispatchKindAttribute>() is not null)
        .ToDictionary(t => t.GetCustomAttribute<DispatchKindAttribute>()!.Kind, StringComparer.Ordinal);

    public static bool IsKnown(string kind) => Messages.ContainsKey(kind);

    public static IDispatch? MessageFor(string kind, RunContext run) =>
        Messages.TryGetValue(kind, out var type) ? (IDispatch)Activator.CreateInstance(type, run)! : null;
}
