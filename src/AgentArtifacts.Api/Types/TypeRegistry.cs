using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using NJsonSchema;

namespace AgentArtifacts.Api.Types;

/// <summary>One file of the <c>types/</c> folder: a content type with its context schema and operations.</summary>
public sealed record TypeDefinition(string ContentType, string Title, string? Description, string? Inherits,
    JsonObject? ContextSchema, JsonObject? Operations);

/// <summary>A type with its inheritance applied: schema properties, required fields and operations merged, child wins.</summary>
public sealed record ResolvedType(string ContentType, string Title, string? Description, IReadOnlyList<string> Lineage,
    JsonObject ContextSchema, JsonObject Operations, IReadOnlySet<string> ImmutableFields)
{
    internal JsonSchema Schema { get; init; } = new();
}

/// <summary>The known content types, loaded once at start-up from the <c>types/</c> folder and resolved with inheritance.</summary>
public sealed partial class TypeRegistry
{
    public const string Workspace = "application/vnd.agience.workspace+json";
    public const string Collection = "application/vnd.agience.collection+json";
    public const string Group = "application/vnd.agience.group+json";

    private readonly Dictionary<string, TypeDefinition> _definitions;
    private readonly Dictionary<string, ResolvedType> _resolved = new(StringComparer.OrdinalIgnoreCase);

    private TypeRegistry(IEnumerable<TypeDefinition> definitions)
    {
        _definitions = definitions.ToDictionary(d => d.ContentType, StringComparer.OrdinalIgnoreCase);
        if (!_definitions.ContainsKey("*/*")) throw new InvalidOperationException("types/ must define the base type */*.");
        foreach (var contentType in _definitions.Keys) _resolved[contentType] = Build(contentType, []);
    }

    public IEnumerable<TypeDefinition> All => _definitions.Values.OrderBy(d => d.ContentType, StringComparer.Ordinal);

    public static TypeRegistry LoadFrom(string folder)
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web);
        return new TypeRegistry(Directory.EnumerateFiles(folder, "*.json").Select(file =>
            JsonSerializer.Deserialize<TypeDefinition>(File.ReadAllText(file), options)
            ?? throw new InvalidOperationException($"{file} is not a type definition.")));
    }

    public static bool IsValidContentType(string contentType) => MimePattern().IsMatch(contentType);

    /// <summary>The exact type, else its <c>major/*</c> family, else the base type <c>*/*</c>.</summary>
    public ResolvedType Resolve(string contentType)
    {
        if (_resolved.TryGetValue(contentType, out var exact)) return exact;
        var slash = contentType.IndexOf('/');
        return slash > 0 && _resolved.TryGetValue(contentType[..slash] + "/*", out var family) ? family : _resolved["*/*"];
    }

    /// <summary>Validates a context object against the type's schema: the failing paths, empty when valid.</summary>
    public static Dictionary<string, string[]> Validate(ResolvedType type, JsonObject context) =>
        type.Schema.Validate(context.ToJsonString())
            .GroupBy(e => string.IsNullOrEmpty(e.Path) ? "context" : "context" + e.Path.TrimStart('#').Replace('/', '.'))
            .ToDictionary(g => g.Key, g => g.Select(e => $"{e.Kind}{(e.Property is null ? "" : $" ({e.Property})")}").ToArray());

    private ResolvedType Build(string contentType, HashSet<string> seen)
    {
        if (!seen.Add(contentType)) throw new InvalidOperationException($"types/: inheritance cycle at {contentType}.");
        var definition = _definitions[contentType];
        var parent = definition.Inherits is null ? null
            : _definitions.ContainsKey(definition.Inherits) ? Build(definition.Inherits, seen)
            : throw new InvalidOperationException($"types/: {contentType} inherits unknown {definition.Inherits}.");

        var schema = parent?.ContextSchema.DeepClone().AsObject() ?? new JsonObject { ["type"] = "object" };
        var own = definition.ContextSchema;
        if (own is not null)
        {
            var properties = schema["properties"] as JsonObject ?? (JsonObject)(schema["properties"] = new JsonObject());
            foreach (var (name, property) in own["properties"] as JsonObject ?? []) properties[name] = property?.DeepClone();
            var required = (schema["required"] as JsonArray ?? []).Select(r => r!.GetValue<string>())
                .Union((own["required"] as JsonArray ?? []).Select(r => r!.GetValue<string>())).ToArray();
            if (required.Length > 0) schema["required"] = new JsonArray(required.Select(r => (JsonNode)r).ToArray());
            foreach (var (key, value) in own.Where(p => p.Key is not ("properties" or "required"))) schema[key] = value?.DeepClone();
        }

        var operations = parent?.Operations.DeepClone().AsObject() ?? new JsonObject();
        foreach (var (name, operation) in definition.Operations ?? []) operations[name] = operation?.DeepClone();

        var immutable = (schema["properties"] as JsonObject ?? [])
            .Where(p => p.Value?["mutable"]?.GetValue<bool>() == false).Select(p => p.Key).ToHashSet();
        return new ResolvedType(definition.ContentType, definition.Title, definition.Description,
            [definition.ContentType, .. parent?.Lineage ?? []], schema, operations, immutable)
        {
            Schema = JsonSchema.FromJsonAsync(schema.ToJsonString()).GetAwaiter().GetResult(),
        };
    }

    [GeneratedRegex(@"^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$", RegexOptions.IgnoreCase)]
    private static partial Regex MimePattern();
}
