using System.Text.Json.Nodes;

namespace AgentArtifacts.Api.Types;

/// <summary>A known content type, as defined (before inheritance).</summary>
/// <param name="ContentType">The content type (a MIME type, or a pattern such as <c>text/*</c> or <c>*/*</c> for a family).</param>
/// <param name="Title">Its name, for people.</param>
/// <param name="Description">What it is for; null when not given.</param>
/// <param name="Inherits">The content type it inherits its schema and operations from; null for the base type.</param>
public sealed record TypeSummary(string ContentType, string Title, string? Description, string? Inherits);

/// <summary>A content type's definition with inheritance applied.</summary>
/// <param name="ContentType">The resolved type (the asked-for type, or the family or base type it falls back to).</param>
/// <param name="Title">Its name, for people.</param>
/// <param name="Description">What it is for; null when not given.</param>
/// <param name="Lineage">The type and the types it inherits from, nearest first, ending with the base type <c>*/*</c>.</param>
/// <param name="ContextSchema">The JSON Schema an artifact's <c>context</c> must match, with inherited properties and required fields merged.</param>
/// <param name="Operations">The operations artifacts of this type can run, by name (e.g. <c>invoke</c>): for each, the permission it needs and how it is dispatched.</param>
public sealed record ResolvedTypeResponse(string ContentType, string Title, string? Description, IReadOnlyList<string> Lineage,
    JsonObject ContextSchema, JsonObject Operations);

public static class TypeEndpoints
{
    /// <summary>The known content types.</summary>
    [KeyScope(KeyScopeAttribute.Any)]
    [WolverineGet("/types", OperationId = "listTypes"), Tags("Types")]
    public static IReadOnlyList<TypeSummary> List(TypeRegistry registry) =>
        registry.All.Select(d => new TypeSummary(d.ContentType, d.Title, d.Description, d.Inherits)).ToList();

    /// <summary>One content type's definition with inheritance applied (unknown types resolve to their family or the base type).</summary>
    /// <param name="contentType">The content type to resolve, a MIME type (e.g. <c>text/markdown</c>). Required.</param>
    [KeyScope(KeyScopeAttribute.Any)]
    [WolverineGet("/types/resolve", OperationId = "resolveType"), Tags("Types")]
    [ProducesResponseType<ResolvedTypeResponse>(200), ProducesResponseType(400)]
    public static IResult Resolve(string? contentType, TypeRegistry registry)
    {
        if (contentType is null || !TypeRegistry.IsValidContentType(contentType))
        {
            return Problems.Invalid("contentType", "contentType must be a MIME type such as text/markdown.", "invalid_content_type");
        }
        var type = registry.Resolve(contentType);
        return Results.Ok(new ResolvedTypeResponse(type.ContentType, type.Title, type.Description, type.Lineage, type.ContextSchema, type.Operations));
    }
}
