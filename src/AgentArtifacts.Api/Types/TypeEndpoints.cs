using System.Text.Json.Nodes;

namespace AgentArtifacts.Api.Types;

public sealed record TypeSummary(string ContentType, string Title, string? Description, string? Inherits);

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
