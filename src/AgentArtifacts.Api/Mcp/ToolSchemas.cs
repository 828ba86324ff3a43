using System.Text.Json;
using System.Text.Json.Nodes;

namespace AgentArtifacts.Api.Mcp;

/// <summary>
/// Tool schemas as every client reads them. The schema generator writes a free JSON value (a run's input or output, an
/// artifact's context) as the boolean schema <c>true</c>, and a tool author may too; the TypeScript SDK and the
/// conformance suite refuse a whole tool list when a subschema is not an object. <c>{}</c> means the same as <c>true</c>,
/// so every subschema that is <c>true</c> is written as <c>{}</c>.
/// </summary>
public static class ToolSchemas
{
    /// <summary>Keywords whose value is a schema, and those whose value is a map or a list of schemas.</summary>
    private static readonly HashSet<string> Schema = ["items", "additionalProperties", "not", "contains", "propertyNames", "if", "then", "else",
        "unevaluatedItems", "unevaluatedProperties", "additionalItems"];
    private static readonly HashSet<string> SchemaMap = ["properties", "patternProperties", "$defs", "definitions", "dependentSchemas"];
    private static readonly HashSet<string> SchemaList = ["anyOf", "oneOf", "allOf", "prefixItems"];

    /// <summary>Rewritten schemas by their text: a list repeats the same few schemas (every collection tool has the invoke answer's).</summary>
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, JsonElement> Rewritten = new(StringComparer.Ordinal);

    public static JsonElement Objects(JsonElement schema)
    {
        var text = schema.GetRawText();
        if (!text.Contains("true", StringComparison.Ordinal)) return schema;
        if (Rewritten.TryGetValue(text, out var known)) return known;
        if (Rewritten.Count > 1000) Rewritten.Clear();  // a bound, not an eviction policy: a rewrite is cheap to redo
        return Rewritten[text] = JsonSerializer.SerializeToElement(Rewrite(JsonNode.Parse(text)));
    }

    public static JsonElement? Objects(JsonElement? schema) => schema is { } s ? Objects(s) : null;

    private static JsonNode? Rewrite(JsonNode? schema)
    {
        if (schema is JsonValue value && value.GetValueKind() == JsonValueKind.True) return new JsonObject();
        if (schema is not JsonObject keywords) return schema;
        foreach (var (name, child) in keywords.ToList())
        {
            if (Schema.Contains(name)) keywords[name] = Rewrite(child?.DeepClone());
            else if (SchemaMap.Contains(name) && child is JsonObject map)
            {
                foreach (var (key, sub) in map.ToList()) map[key] = Rewrite(sub?.DeepClone());
            }
            else if (SchemaList.Contains(name) && child is JsonArray list)
            {
                for (var i = 0; i < list.Count; i++) list[i] = Rewrite(list[i]?.DeepClone());
            }
        }
        return keywords;
    }
}
