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
                    Description = "A token from POST /auth/token (or Microsoft Entra ID when configured), or an API key (aa_…) from POST /api-keys.",
                };
                return Task.CompletedTask;
            });
            o.AddOperationTransformer(async (operation, context, cancellationToken) =>
            {
                // A body the endpoint reads itself (the token endpoint's form) is documented from its DocumentedRequestBody.
                if (operation.RequestBody is null && context.Description.ActionDescriptor.EndpointMetadata
                        .OfType<DocumentedRequestBody>().FirstOrDefault() is { } body)
                {
                    var schema = await context.GetOrCreateSchemaAsync(body.Type, null, cancellationToken);
                    operation.RequestBody = new OpenApiRequestBody
                    {
                        Required = true,
                        Content = new Dictionary<string, OpenApiMediaType> { [body.ContentType] = new() { Schema = schema } },
                    };
                }

                var anonymous = context.Description.ActionDescriptor.EndpointMetadata
                    .OfType<Microsoft.AspNetCore.Authorization.IAllowAnonymous>().Any();
                if (!anonymous)
                {
                    operation.Security = [new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference("bearer", context.Document)] = [] }];
                    operation.Responses ??= new OpenApiResponses();
                    operation.Responses.TryAdd("401", new OpenApiResponse { Description = "Missing or invalid credentials (problem+json)." });
                    operation.Responses.TryAdd("429", new OpenApiResponse { Description = "Rate limited (problem+json, Retry-After)." });
                }
            });
        });
}

/// <summary>Endpoint metadata for the OpenAPI document only: a request body the endpoint reads itself.</summary>
public sealed record DocumentedRequestBody(string ContentType, Type Type);
