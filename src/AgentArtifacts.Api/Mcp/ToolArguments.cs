using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;
using NJsonSchema;
using NJsonSchema.Validation;

namespace AgentArtifacts.Api.Mcp;

/// <summary>
/// Checks a tool call's arguments against the tool's advertised input schema before the tool runs. The SDK would otherwise
/// fail to bind them (a wrong type, a missing required argument, an unknown enum value) and answer only "An error occurred
/// invoking …" without saying which argument; here the caller gets <c>invalid_arguments</c> naming each one, and nothing runs.
/// </summary>
public static class ToolArguments
{
    private static readonly ConcurrentDictionary<string, Lazy<JsonSchema?>> Schemas = new();

    /// <summary>The isError result for arguments the tool's input schema refuses; null when they fit (or the tool is unknown: the SDK answers that).</summary>
    public static CallToolResult? Check(RequestContext<CallToolRequestParams> context)
    {
        if (context.Params?.Name is not { } name
            || context.Server.ServerOptions.ToolCollection?.TryGetPrimitive(name, out var tool) != true || tool is null)
        {
            return null;
        }
        // Keyed by the schema itself: a tool's name may stand for different schemas (the tools of different collections).
        var schema = Schemas.GetOrAdd(tool.ProtocolTool.InputSchema.GetRawText(), text => new Lazy<JsonSchema?>(() => Parse(text))).Value;
        if (schema is null) return null;
        var arguments = new JsonObject();
        foreach (var (argument, value) in context.Params.Arguments ?? new Dictionary<string, JsonElement>())
        {
            arguments[argument] = JsonSerializer.SerializeToNode(value);
        }

        var errors = schema.Validate(arguments.ToJsonString()).SelectMany(Innermost)
            .GroupBy(e => ArgumentOf(e))
            .ToDictionary(g => g.Key, g => g.Select(Message).Distinct().ToArray());
        if (errors.Count == 0) return null;

        var problem = Problems.Create(StatusCodes.Status400BadRequest, "invalid_arguments",
            $"The arguments do not match the input schema of '{name}': {string.Join("; ", errors.Select(e => $"{e.Key}: {string.Join(", ", e.Value)}"))}.");
        problem.Extensions["errors"] = errors;
        return McpResults.Failure(JsonSerializer.SerializeToNode(problem, WolverineHttpSetup.Json)!.AsObject());
    }

    // A schema the validator cannot read (a tool author's, in a dialect it does not know) is left to the tool itself.
    private static JsonSchema? Parse(string text)
    {
        try
        {
            return JsonSchema.FromJsonAsync(text).GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is JsonException or Newtonsoft.Json.JsonException or InvalidOperationException or NotSupportedException)
        {
            return null;
        }
    }

    // An optional argument's schema allows null too: what matters is why the value failed its non-null type.
    private static IEnumerable<ValidationError> Innermost(ValidationError error)
    {
        var inner = error switch
        {
            MultiTypeValidationError multi => multi.Errors.Where(e => e.Key != JsonObjectType.Null).SelectMany(e => e.Value),
            ChildSchemaValidationError child => child.Errors.SelectMany(e => e.Value),
            _ => [],
        };
        var found = inner.SelectMany(Innermost).ToList();
        return found.Count > 0 ? found : [error];
    }

    // "#/tags[0]" → "tags[0]"; a missing required argument is reported on the object, with the argument as its property.
    private static string ArgumentOf(ValidationError error)
    {
        var path = (error.Path ?? "").TrimStart('#', '/').Replace('/', '.');
        return error.Kind == ValidationErrorKind.PropertyRequired || path.Length == 0 ? error.Property ?? path : path;
    }

    private static string Message(ValidationError error) => error.Kind switch
    {
        ValidationErrorKind.PropertyRequired => "is required",
        ValidationErrorKind.NotInEnumeration => $"is not one of {string.Join(", ", error.Schema?.Enumeration.Select(v => v?.ToString()) ?? [])}",
        ValidationErrorKind.GuidExpected => "is not a UUID",
        _ => string.Concat(error.Kind.ToString().Select((c, i) => i > 0 && char.IsUpper(c) ? $" {char.ToLowerInvariant(c)}" : char.ToLowerInvariant(c).ToString())),
    };
}
