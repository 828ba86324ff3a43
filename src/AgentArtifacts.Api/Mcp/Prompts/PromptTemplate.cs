using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace AgentArtifacts.Api.Mcp.Prompts;

/// <summary>An argument a prompt declares (the <c>arguments</c> of a prompt artifact's context).</summary>
public sealed record PromptArgumentDeclaration(string Name, string? Description, bool Required);

/// <summary>A rendered prompt, or the first required argument that was not given.</summary>
public sealed record RenderedPrompt(string? Text, string? MissingArgument)
{
    public bool Succeeded => MissingArgument is null;
}

/// <summary>
/// Prompt templates: <c>{{name}}</c> placeholders (spaces inside the braces allowed) filled with the arguments given. Pure, so
/// <c>/mcp</c> and a collection's MCP server render the same template the same way.
/// </summary>
public static partial class PromptTemplate
{
    /// <summary>The arguments a prompt artifact's context declares; a name declared twice counts once (the first).</summary>
    public static IReadOnlyList<PromptArgumentDeclaration> ArgumentsOf(JsonObject? context) =>
        (context?["arguments"] as JsonArray ?? [])
            .OfType<JsonObject>()
            .Where(a => a["name"] is JsonValue name && name.TryGetValue<string>(out _))
            .Select(a => new PromptArgumentDeclaration(a["name"]!.GetValue<string>(),
                a["description"] is JsonValue d && d.TryGetValue<string>(out var description) ? description : null,
                a["required"] is JsonValue r && r.TryGetValue<bool>(out var required) && required))
            .DistinctBy(a => a.Name, StringComparer.Ordinal)
            .ToList();

    /// <summary>
    /// Fills every placeholder that names a declared argument with its value (an optional one not given with nothing), in one
    /// pass, so a value that itself contains <c>{{…}}</c> is never expanded. A placeholder naming no declared argument stays as
    /// written. Arguments given but not declared are ignored.
    /// </summary>
    public static RenderedPrompt Render(string? template, IReadOnlyList<PromptArgumentDeclaration> declared, IReadOnlyDictionary<string, string>? values)
    {
        values ??= new Dictionary<string, string>();
        if (declared.FirstOrDefault(a => a.Required && !values.ContainsKey(a.Name)) is { } missing) return new RenderedPrompt(null, missing.Name);
        var names = declared.Select(a => a.Name).ToHashSet(StringComparer.Ordinal);
        var text = Placeholder().Replace(template ?? "", m =>
        {
            var name = m.Groups[1].Value;
            return names.Contains(name) ? values.GetValueOrDefault(name) ?? "" : m.Value;
        });
        return new RenderedPrompt(text, null);
    }

    [GeneratedRegex(@"\{\{\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*\}\}")]
    private static partial Regex Placeholder();
}
