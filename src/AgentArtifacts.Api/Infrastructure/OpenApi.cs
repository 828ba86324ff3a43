using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace AgentArtifacts.Api.Infrastructure;

/// <summary>The OpenAPI 3.1 document at <c>/openapi.json</c>: every route, the bearer scheme, and problem responses.</summary>
public static class OpenApi
{
    public static void AddOpenApiDocument(this WebApplicationBuilder builder) =>
        builder.Services.AddOpenApi(o =>
        {
            o.OpenApiVersion = OpenApiSpecVersion.OpenApi3_1;
            o.AddDocumentTransformer((document, _, _) =>
            {
                document.Info = new OpenApiInfo
                {
                    Title = "AgentArtifacts API",
                    Version = "v1",
                    Description = "Store, version, share, search and execute the artifacts AI agents work with.",
                };
                document.Components ??= new OpenApiComponents();
                document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
                document.Components.SecuritySchemes["bearer"] = new OpenApiSecurityScheme
                {
                    Type = SecuritySchemeType.Http,
                    Scheme = "bearer",
                    BearerFormat = "JWT",
                    Description = "A token from POST /auth/token (or Microsoft Entra ID when configured).",
                };
                return Task.CompletedTask;
            });
            o.AddOperationTransformer((operation, context, _) =>
            {
                var anonymous = context.Description.ActionDescriptor.EndpointMetadata
                    .OfType<Microsoft.AspNetCore.Authorization.IAllowAnonymous>().Any();
                if (!anonymous)
                {
                    operation.Security = [new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference("bearer", context.Document)] = [] }];
                    operation.Responses ??= new OpenApiResponses();
                    operation.Responses.TryAdd("401", new OpenApiResponse { Description = "Missing or invalid credentials (problem+json)." });
                    operation.Responses.TryAdd("429", new OpenApiResponse { Description = "Rate limited (problem+json, Retry-After)." });
                }
                return Task.CompletedTask;
            });
        });
}
