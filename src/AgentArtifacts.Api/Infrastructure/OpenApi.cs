using System.Text.Json.Nodes;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace AgentArtifacts.Api.Infrastructure;

/// <summary>
/// The OpenAPI 3.1 document at <c>/openapi.json</c>, from which clients are generated (Kiota, NSwag, openapi-typescript).
/// Every rule that makes the document true for every route lives here, so a route added later is described right by
/// default: descriptions come from the endpoints' doc comments; the conventions every route shares (errors as
/// problem+json, rate-limit headers, Idempotency-Key, ETags and preconditions, credentials) are added from what the
/// endpoint declares; schemas are corrected where the generator's defaults mislead clients.
/// </summary>
public static class OpenApi
{
    public static void AddOpenApiDocument(this WebApplicationBuilder builder)
    {
        var serverUrl = builder.Configuration["OpenApi:ServerUrl"] ?? "http://127.0.0.1:8080";
        builder.Services.AddOpenApi(o =>
        {
            o.OpenApiVersion = OpenApiSpecVersion.OpenApi3_1;
            // "Any JSON" values are described where they are used, not as named half-typed schemas (JsonObject, JsonNode…).
            o.CreateSchemaReferenceId = type => AnyJson.Describes(type.Type) ? null : OpenApiOptions.CreateDefaultSchemaReferenceId(type);
            o.AddSchemaTransformer((schema, context, _) =>
            {
                Schemas.Correct(schema, context.JsonTypeInfo.Type, context.JsonPropertyInfo?.AttributeProvider);
                return Task.CompletedTask;
            });
            o.AddOperationTransformer(async (operation, context, ct) =>
            {
                await Operations.DocumentBodyAsync(operation, context, ct);
                Operations.ApplyConventions(operation, context);
            });
            o.AddDocumentTransformer((document, _, _) =>
            {
                Document.Describe(document, serverUrl);
                return Task.CompletedTask;
            });
        });
    }

    /// <summary>The document as a whole: what it is, where the service runs, how to authenticate, and the shared parts.</summary>
    private static class Document
    {
        // In the order a reader meets them; an endpoint's [Tags] must name one of these (a test checks it).
        private static readonly Dictionary<string, string> TagDescriptions = new()
        {
            ["Identity"] = "Register, get tokens (OAuth2), and who am I.",
            ["Workspaces"] = "Where drafts are made; a workspace commits into its target collections.",
            ["Collections"] = "Where committed revisions are published and shared.",
            ["Artifacts"] = "Documents, prompts, tools, agents…: create, read, edit with merge-patch, history, revisions, diff, archive.",
            ["Commits"] = "Publish a workspace's drafts into collections: preview, commit, revert, history.",
            ["Search"] = "Full-text search over what the caller may read.",
            ["Runs"] = "Invoke an artifact, and follow, list or cancel its runs.",
            ["Approvals"] = "Runs that wait for a person's approval.",
            ["Events"] = "The event log, live: every change the caller may read, resumable, as Server-Sent Events.",
            ["Grants"] = "Share resources: grants, invites and permission checks.",
            ["API keys"] = "Keys that act as their owner, narrowed by scopes and resources.",
            ["Secrets"] = "Encrypted credentials invocations use, never shown again.",
            ["Server credentials"] = "OAuth2 client credentials for servers (platform admins).",
            ["Types"] = "The content types artifacts can have and what each declares.",
            ["Platform"] = "Platform settings and admins.",
            ["Audit"] = "Who did what, when, with which credential: the audit log, read from the event log.",
            ["Webhooks"] = "Endpoints that receive the events you may read, signed per Standard Webhooks, retried, replayable.",
            ["Health"] = "Liveness and readiness probes.",
        };

        public static void Describe(OpenApiDocument document, string serverUrl)
        {
            document.Info = new OpenApiInfo
            {
                Title = "AgentArtifacts API",
                Version = "v1",
                Description = "Store, version, share, search and execute the artifacts AI agents work with. Errors are " +
                              "application/problem+json with a stable `code`; every response carries X-RateLimit-* headers.",
                License = new OpenApiLicense { Name = "MIT", Identifier = "MIT" },
                Contact = new OpenApiContact { Name = "AgentArtifacts", Url = new Uri("https://agentartifacts.dev") },
            };
            document.Tags = new HashSet<OpenApiTag>(TagDescriptions.Select(t => new OpenApiTag { Name = t.Key, Description = t.Value }));
            // A fixed address, not the requesting host: the document (and the clients generated from it) is the same
            // wherever it is fetched. Operators set OpenApi:ServerUrl to their public address.
            document.Servers = [new OpenApiServer { Url = serverUrl.TrimEnd('/'), Description = "This service" }];
            document.Components ??= new OpenApiComponents();
            Shared.AddTo(document.Components);
            Errors.AddTo(document.Components, document);
            foreach (var operation in document.Paths.Values.SelectMany(p => p.Operations?.Values.AsEnumerable() ?? []))
            {
                // A summary is one line; the rest of the doc comment is the description.
                // Wolverine always sets a summary; a doc comment replaces it (a test keeps its placeholder out).
                if (operation.Summary is { } summary && Operations.SplitSummary(summary) is var (first, full))
                {
                    operation.Summary = first;
                    operation.Description = full.Length > 0 ? full : first + ".";
                }
            }
            Schemas.SettleOpenness(document);
        }
    }

    /// <summary>Schemas, components and parameters every operation refers to.</summary>
    private static class Shared
    {
        public const string Problem = "Problem";

        public static void AddTo(OpenApiComponents components)
        {
            components.Schemas ??= new Dictionary<string, IOpenApiSchema>();
            components.Schemas[Problem] = ProblemSchema();
            components.Schemas.Remove("HttpValidationProblemDetails");
            components.Schemas.Remove("ProblemDetails");
            components.Schemas.Remove("IResult");

            components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
            components.SecuritySchemes["bearer"] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.Http,
                Scheme = "bearer",
                BearerFormat = "JWT",
                Description = "An access token from POST /auth/token (or Microsoft Entra ID when configured), or an API key " +
                              "(`aa_…`) from POST /api-keys, as `Authorization: Bearer …`.",
            };
            components.SecuritySchemes["oauth2"] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.OAuth2,
                Description = "OAuth2 (RFC 6749) at POST /auth/token: the password grant for people (username = email), " +
                              "client credentials for servers, and refresh tokens.",
                Flows = new OpenApiOAuthFlows
                {
                    Password = new OpenApiOAuthFlow
                    {
                        TokenUrl = new Uri("/auth/token", UriKind.Relative),
                        RefreshUrl = new Uri("/auth/token", UriKind.Relative),
                        Scopes = new Dictionary<string, string>(),
                    },
                    ClientCredentials = new OpenApiOAuthFlow
                    {
                        TokenUrl = new Uri("/auth/token", UriKind.Relative),
                        Scopes = new Dictionary<string, string>(),
                    },
                },
            };

            components.Headers ??= new Dictionary<string, IOpenApiHeader>();
            foreach (var (name, header) in Headers.All) components.Headers[name] = header;
            components.Parameters ??= new Dictionary<string, IOpenApiParameter>();
            foreach (var parameter in Parameters.All) components.Parameters[parameter.Name!] = parameter;
        }

        /// <summary>
        /// RFC 9457 problem details as this service writes them: always a stable snake_case <c>code</c> and the
        /// <c>status</c>; <c>errors</c> on validation failures. Open: other members may be added.
        /// </summary>
        private static OpenApiSchema ProblemSchema() => new()
        {
            Type = JsonSchemaType.Object,
            Description = "An error (RFC 9457 problem details). `code` is stable and meant for programs; `title` and `detail` are for people.",
            Required = new HashSet<string> { "status", "code" },
            Properties = new Dictionary<string, IOpenApiSchema>
            {
                ["type"] = new OpenApiSchema { Type = JsonSchemaType.String, Description = "A URI that identifies the kind of problem." },
                ["title"] = new OpenApiSchema { Type = JsonSchemaType.String, Description = "A short summary of the kind of problem." },
                ["status"] = new OpenApiSchema { Type = JsonSchemaType.Integer, Format = "int32", Description = "The HTTP status code." },
                ["detail"] = new OpenApiSchema { Type = JsonSchemaType.String, Description = "What went wrong with this request." },
                ["instance"] = new OpenApiSchema { Type = JsonSchemaType.String, Description = "The request the problem is about." },
                ["code"] = new OpenApiSchema { Type = JsonSchemaType.String, Description = "Stable, snake_case: what programs branch on (e.g. `validation_failed`, `not_found`, `precondition_failed`)." },
                ["traceId"] = new OpenApiSchema { Type = JsonSchemaType.String, Description = "The request's trace id, for the service's logs." },
                ["errors"] = new OpenApiSchema
                {
                    Type = JsonSchemaType.Object,
                    Description = "Validation failures: for each field (JSON path), what is wrong with it.",
                    AdditionalProperties = new OpenApiSchema { Type = JsonSchemaType.Array, Items = new OpenApiSchema { Type = JsonSchemaType.String } },
                },
            },
            Examples =
            [
                new JsonObject
                {
                ["type"] = "https://agentartifacts.dev/problems/validation-failed",
                ["title"] = "The request is invalid.",
                ["status"] = 400,
                ["code"] = "validation_failed",
                    ["errors"] = new JsonObject { ["title"] = new JsonArray("title is required.") },
                },
            ],
        };
    }

    /// <summary>The error answers, declared once as components/responses: problem+json with the rate-limit headers.</summary>
    private static class Errors
    {
        private static readonly Dictionary<string, (string Name, string Description)> ByStatus = new()
        {
            ["400"] = ("BadRequest", "The request is malformed or invalid; nothing changed. `errors` names each invalid field."),
            ["401"] = ("Unauthorized", "Missing, invalid or expired credentials (WWW-Authenticate says which)."),
            ["403"] = ("Forbidden", "The caller may not do this (e.g. `insufficient_scope` for an API key without the scope)."),
            ["404"] = ("NotFound", "Not found, or not visible to the caller."),
            ["409"] = ("Conflict", "Conflicts with the current state (see `code`), or a request with the same Idempotency-Key is still running (Retry-After)."),
            ["410"] = ("Gone", "It existed, but is no longer available (see `code`)."),
            ["412"] = ("PreconditionFailed", "If-Match does not match the current ETag: fetch the resource again."),
            ["413"] = ("ContentTooLarge", "The request body is too large."),
            ["415"] = ("UnsupportedMediaType", "The request body's Content-Type is missing or not accepted here."),
            ["422"] = ("IdempotencyKeyReused", "The Idempotency-Key was used before with a different request body."),
            ["429"] = ("TooManyRequests", "Too many requests: wait Retry-After seconds."),
            ["500"] = ("InternalServerError", "An unexpected error on the service's side."),
            ["503"] = ("ServiceUnavailable", "The service's database is unavailable, or (`projection_lagging`) the read models have not reached the Consistency-Token yet: retry after Retry-After seconds."),
        };

        public static bool Known(string status) => ByStatus.ContainsKey(status);
        public static string Name(string status) => ByStatus[status].Name;
        public static string Description(string status) => ByStatus.TryGetValue(status, out var e) ? e.Description : "An error.";

        public static void AddTo(OpenApiComponents components, OpenApiDocument document)
        {
            components.Responses ??= new Dictionary<string, IOpenApiResponse>();
            foreach (var (status, (name, description)) in ByStatus)
            {
                var response = new OpenApiResponse
                {
                    Description = description,
                    Content = new Dictionary<string, OpenApiMediaType>
                    {
                        ["application/problem+json"] = new() { Schema = new OpenApiSchemaReference(Shared.Problem, document) },
                    },
                };
                // A stored 4xx is replayed too, where Idempotency-Key applies.
                Headers.Declare(response, status, document, replayable: status[0] == '4');
                components.Responses[name] = response;
            }
        }
    }

    /// <summary>Response headers, declared once and referred to by every response that carries them.</summary>
    private static class Headers
    {
        public const string ETag = "ETag", Location = "Location", Replayed = "Idempotent-Replayed", RetryAfter = "Retry-After",
            Consistency = ConsistencyToken.Header;
        public static readonly string[] RateLimit = ["X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "X-RateLimit-Scope"];

        public static readonly (string Name, OpenApiHeader Header)[] All =
        [
            (ETag, Header("The resource's version as a strong entity tag (`\"7\"`), for If-Match and If-None-Match.", JsonSchemaType.String)),
            (Location, Header("Where the created resource (or the accepted run) can be read.", JsonSchemaType.String)),
            (Replayed, Header("`true` when this is the stored answer to an earlier request with the same Idempotency-Key (only where that header applies).", JsonSchemaType.String)),
            (RetryAfter, Header("Seconds to wait before trying again.", JsonSchemaType.Integer)),
            (Consistency, Header("An opaque position in the event log at or after this write. Send it as the `Consistency-Token` header of a " +
                                 "listing or search to get an answer that includes the write.", JsonSchemaType.String)),
            (RateLimit[0], Header("Requests allowed in the current window.", JsonSchemaType.Integer)),
            (RateLimit[1], Header("Requests left in the current window.", JsonSchemaType.Integer)),
            (RateLimit[2], Header("When the current window ends (Unix seconds).", JsonSchemaType.Integer)),
            (RateLimit[3], Header("Where the limit is counted: `node` (each node of the service counts separately).", JsonSchemaType.String)),
        ];

        private static OpenApiHeader Header(string description, JsonSchemaType type) =>
            new() { Description = description, Schema = new OpenApiSchema { Type = type } };

        /// <summary>The headers a response with this status carries: rate limits always, the rest by status and body.</summary>
        public static void Declare(OpenApiResponse response, string status, OpenApiDocument document, bool replayable, bool etag = false,
            bool write = false)
        {
            var names = new List<string>(RateLimit);
            if (write && status[0] is '2' or '3') names.Add(Consistency);
            if (status is "409" or "429" or "503") names.Add(RetryAfter);
            if (status is "201" or "202" or "303") names.Add(Location);
            // A versioned resource in the body, a 304, or what the endpoint says (the 204 of a conditional archive, keys and secrets).
            if (status == "304" || status[0] == '2' && (etag || HasVersion(response, document))) names.Add(ETag);
            if (replayable) names.Add(Replayed);
            response.Headers ??= new Dictionary<string, IOpenApiHeader>();
            foreach (var name in names) response.Headers[name] = new OpenApiHeaderReference(name, document);
        }

        /// <summary>A response whose body is a versioned resource carries its ETag.</summary>
        private static bool HasVersion(OpenApiResponse response, OpenApiDocument document) =>
            response.Content?.Values.Any(m => (m.Schema is OpenApiSchemaReference { Reference.Id: { } id }
                && document.Components?.Schemas?.TryGetValue(id, out var target) == true ? target : m.Schema)
                ?.Properties?.ContainsKey("version") == true) == true;
    }

    /// <summary>Request headers of the shared conventions.</summary>
    private static class Parameters
    {
        public const string IdempotencyKey = "Idempotency-Key", IfMatch = "If-Match", IfNoneMatch = "If-None-Match",
            Consistency = ConsistencyToken.Header;

        public static readonly OpenApiParameter[] All =
        [
            Header(IdempotencyKey, "Any unique string (at most 255 characters). A retry with the same key and body gets the first " +
                                   "answer again (Idempotent-Replayed: true) for at least 24 hours, instead of acting twice.", 255),
            Header(IfMatch, "Act only if the resource's ETag is still this one (`\"7\"`); otherwise 412 precondition_failed.", null),
            Header(IfNoneMatch, "Answer 304 Not Modified, without a body, when the resource's ETag is still this one.", null),
            Header(Consistency, "Read your writes: a write's `Consistency-Token`. The answer waits until the read models it comes from " +
                                "include that write (a few seconds at most), else 503 `projection_lagging` with Retry-After. A token this " +
                                "service did not issue is 400 (`invalid_consistency_token`, `consistency_token_ahead`).", 64),
        ];

        private static OpenApiParameter Header(string name, string description, int? maxLength) => new()
        {
            Name = name,
            In = ParameterLocation.Header,
            Required = false,
            Description = description,
            Schema = new OpenApiSchema { Type = JsonSchemaType.String, MaxLength = maxLength },
        };
    }

    /// <summary>What every operation declares by convention, from its route, its metadata and the middleware it passes.</summary>
    private static class Operations
    {
        /// <summary>A body the endpoint reads itself (the token form, the merge-patch) is documented from its DocumentedRequestBody.</summary>
        public static async Task DocumentBodyAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken ct)
        {
            if (operation.RequestBody is not null) return;
            if (Metadata<DocumentedRequestBody>(context).FirstOrDefault() is not { } body) return;
            IOpenApiSchema schema = await context.GetOrCreateSchemaAsync(body.Type, null, ct);
            if (schema is OpenApiSchema inline)
            {
                // A form's schema comes back inline; give it its name, so generators make a named type of it.
                context.Document!.Components ??= new OpenApiComponents();
                context.Document.Components.Schemas ??= new Dictionary<string, IOpenApiSchema>();
                context.Document.Components.Schemas[body.Type.Name] = inline;
                schema = new OpenApiSchemaReference(body.Type.Name, context.Document);
            }
            operation.RequestBody = new OpenApiRequestBody
            {
                Required = true,
                Content = new Dictionary<string, OpenApiMediaType> { [body.ContentType] = new() { Schema = schema } },
            };
        }

        public static void ApplyConventions(OpenApiOperation operation, OpenApiOperationTransformerContext context)
        {
            var document = context.Document!;
            var method = context.Description.HttpMethod ?? "GET";
            var path = "/" + (context.Description.RelativePath ?? "");
            var anonymous = Metadata<Microsoft.AspNetCore.Authorization.IAllowAnonymous>(context).Any();
            var declared = Metadata<ProducesResponseTypeAttribute>(context).Select(a => a.StatusCode).ToHashSet();
            var responses = operation.Responses ??= new OpenApiResponses();

            // Wolverine adds a 200 typed IResult beside a real 201/204, and a 404 to every route; generated clients take
            // both at their word. A 404 stays where there is something to find (a path id) or the endpoint declares it.
            foreach (var (status, response) in responses.ToList())
            {
                if (response.Content?.Values.Any(m => m.Schema is OpenApiSchemaReference { Reference.Id: "IResult" }) == true
                    || status == "404" && !path.Contains('{') && !declared.Contains(404))
                {
                    responses.Remove(status);
                }
            }

            // The generator keeps one content type per status; an endpoint that also streams (Accept: text/event-stream)
            // declares a second ProducesResponseType for it.
            foreach (var produces in Metadata<ProducesResponseTypeAttribute>(context).Where(p => p.Type == typeof(string)))
            {
                if (!responses.TryGetValue(produces.StatusCode.ToString(System.Globalization.CultureInfo.InvariantCulture), out var declaredResponse)
                    || declaredResponse is not OpenApiResponse streamed) continue;
                streamed.Content ??= new Dictionary<string, OpenApiMediaType>();
                var contentTypes = new Microsoft.AspNetCore.Mvc.Formatters.MediaTypeCollection();
                ((Microsoft.AspNetCore.Mvc.ApiExplorer.IApiResponseMetadataProvider)produces).SetContentTypes(contentTypes);
                foreach (var contentType in contentTypes)
                    streamed.Content.TryAdd(contentType, new OpenApiMediaType { Schema = new OpenApiSchema { Type = JsonSchemaType.String } });
            }

            // The errors every route can answer, by the conventions it passes through.
            var hasBody = operation.RequestBody is not null;
            var idempotent = !anonymous && Idempotency.AppliesTo(method, path);
            var errors = new List<string> { "400", "429", "500", "503" };
            if (!anonymous) errors.AddRange(["401", "403"]);
            if (path.Contains('{')) errors.Add("404");
            if (hasBody) errors.AddRange(["413", "415"]);
            // A write that loses a race without If-Match is a 409 concurrent_modification.
            if (method != "GET") errors.Add("409");
            if (idempotent) errors.Add("422");
            foreach (var status in errors) responses.TryAdd(status, new OpenApiResponse());
            // A retried streamed request cannot replay its stream: it is sent to where the stream can be read again.
            if (idempotent && responses.Values.Any(r => r.Content?.ContainsKey("text/event-stream") == true))
            {
                responses.TryAdd("303", new OpenApiResponse { Description = "A retry (same Idempotency-Key) of a streamed request: its events are at Location." });
            }

            foreach (var (status, response) in responses.ToList())
            {
                var isError = status[0] is '4' or '5';
                // Errors are problem+json, described once (components/responses); the token endpoint's OAuth errors
                // (RFC 6749, application/json) are kept beside it.
                if (isError && Errors.Known(status) && response is OpenApiResponse { Content: var content }
                    && (content is null || content.Keys.All(c => c == "application/problem+json")))
                {
                    responses[status] = new OpenApiResponseReference(Errors.Name(status), document);
                    continue;
                }
                if (response is not OpenApiResponse r) continue;
                if (isError)
                {
                    r.Description = Errors.Description(status);
                    r.Content ??= new Dictionary<string, OpenApiMediaType>();
                    r.Content["application/problem+json"] = new OpenApiMediaType { Schema = new OpenApiSchemaReference(Shared.Problem, document) };
                }
                Headers.Declare(r, status, document, idempotent && status[0] != '5',
                    etag: responses.ContainsKey("412") && status == "204" || Metadata<AnswersWithETagAttribute>(context).Any(),
                    write: method is not ("GET" or "HEAD" or "OPTIONS"));
            }
            operation.Responses = Sorted(responses);

            operation.Parameters ??= [];
            foreach (var parameter in operation.Parameters.OfType<OpenApiParameter>()) parameter.Description ??= Describe(parameter, path);
            if (idempotent) operation.Parameters.Add(new OpenApiParameterReference(Parameters.IdempotencyKey, document));
            if (responses.ContainsKey("412")) operation.Parameters.Add(new OpenApiParameterReference(Parameters.IfMatch, document));
            if (responses.ContainsKey("304")) operation.Parameters.Add(new OpenApiParameterReference(Parameters.IfNoneMatch, document));
            if (Metadata<ReadsProjectionsAttribute>(context).Any()) operation.Parameters.Add(new OpenApiParameterReference(Parameters.Consistency, document));

            // Public operations say so (`security: []`); the rest take a bearer token or an OAuth2 token.
            operation.Security = anonymous ? [] :
            [
                new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference("bearer", document)] = [] },
                new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference("oauth2", document)] = [] },
            ];
        }

        /// <summary>The parameters every list and every resource route shares, described once.</summary>
        private static string? Describe(OpenApiParameter parameter, string path) => (parameter.In, parameter.Name) switch
        {
            (ParameterLocation.Query, "limit") => $"At most this many items (1 to {Paging.MaxLimit}; default {Paging.DefaultLimit}).",
            (ParameterLocation.Query, "cursor") => "Where the page starts: the previous page's `nextCursor`. Leave out for the first page.",
            (ParameterLocation.Path, "id" or "clientId") when path.Split('/') is var segments
                && Array.IndexOf(segments, "{" + parameter.Name + "}") is > 1 and var at =>
                $"The {segments[at - 1].TrimEnd('s').Replace('-', ' ')}'s {(parameter.Name == "id" ? "id" : "client id")}.",
            _ => null,
        };

        private static OpenApiResponses Sorted(OpenApiResponses responses)
        {
            var sorted = new OpenApiResponses();
            foreach (var (status, response) in responses.OrderBy(r => r.Key, StringComparer.Ordinal)) sorted[status] = response;
            return sorted;
        }

        /// <summary>
        /// A summary is what a generated method's name is read with: the doc comment's first sentence, cut before its
        /// first aside (": ", " (", "; ", ", ") when longer than a line. The whole comment becomes the description.
        /// </summary>
        public static (string First, string Full) SplitSummary(string summary)
        {
            var text = string.Join(' ', summary.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries));
            var end = text.Replace("e.g. ", "e.g.\u00a0").Replace("i.e. ", "i.e.\u00a0").IndexOf(". ", StringComparison.Ordinal);
            var first = (end < 0 ? text : text[..end]).TrimEnd('.');
            if (first.Length > 80)
            {
                var cut = new[] { ": ", " (", "; ", ", " }.Select(s => first.IndexOf(s, StringComparison.Ordinal)).Where(i => i > 0).DefaultIfEmpty(-1).Min();
                if (cut > 0) first = first[..cut];
            }
            return (first, first == text.TrimEnd('.') ? "" : text);
        }

        private static IEnumerable<T> Metadata<T>(OpenApiOperationTransformerContext context) =>
            context.Description.ActionDescriptor.EndpointMetadata.OfType<T>();
    }

    /// <summary>Corrections to the schemas System.Text.Json's exporter produces.</summary>
    private static class Schemas
    {
        public static void Correct(OpenApiSchema schema, Type type, System.Reflection.ICustomAttributeProvider? property)
        {
            // A string with a closed set of values ([AllowedValues]) is an enum to generated clients.
            if (property?.GetCustomAttributes(typeof(System.ComponentModel.DataAnnotations.AllowedValuesAttribute), true)
                    .OfType<System.ComponentModel.DataAnnotations.AllowedValuesAttribute>().FirstOrDefault() is { } allowed)
            {
                schema.Enum = allowed.Values.Select(v => JsonValue.Create(v?.ToString())).Cast<JsonNode>().ToList();
            }
            // Enums are serialised by name: say they are strings, or generated clients cannot read "draft".
            if (schema.Enum is { Count: > 0 } && schema.Type is null) schema.Type = JsonSchemaType.String;
            if (AnyJson.Describes(type)) AnyJson.Describe(schema, type);
            if (property is null && Examples.TryGetValue(type, out var example)) schema.Examples = [JsonNode.Parse(example)!];
        }

        /// <summary>Request bodies a reader learns most from seeing filled in.</summary>
        private static readonly Dictionary<Type, string> Examples = new()
        {
            [typeof(Artifacts.CreateArtifact)] = """
                {"containerId": "0193f6a4-7c1e-7a3b-9d2e-5f4a3b2c1d0e", "contentType": "text/markdown", "title": "Notes",
                 "tags": ["research"], "content": "# Hello"}
                """,
            [typeof(Runs.InvokeArtifact)] = """{"input": {"question": "ping"}, "mode": "async"}""",
            [typeof(Grants.IssueGrant)] = """
                {"resourceId": "0193f6a4-7c1e-7a3b-9d2e-5f4a3b2c1d0e", "grantee": {"type": "user", "id": "0193f6a5-1b2c-7d3e-8f4a-5b6c7d8e9f0a"},
                 "role": "viewer"}
                """,
        };

        /// <summary>
        /// Request bodies are closed (an unknown field is a 400 `unknown_field`, so a typo never passes silently) and ask
        /// only for what is required: a property that may be null, or has a default, may also be left out. Responses are open: the service
        /// may add fields to them, and clients must ignore what they do not know.
        /// </summary>
        public static void SettleOpenness(OpenApiDocument document)
        {
            var schemas = document.Components?.Schemas ?? new Dictionary<string, IOpenApiSchema>();
            var requests = new HashSet<string>();
            foreach (var operation in document.Paths.Values.SelectMany(p => p.Operations?.Values.AsEnumerable() ?? []))
            {
                foreach (var (contentType, media) in operation.RequestBody?.Content ?? new Dictionary<string, OpenApiMediaType>())
                {
                    if (media.Schema is OpenApiSchemaReference { Reference.Id: { } id })
                    {
                        Reach(id, schemas, requests);
                        // In a merge-patch every field is optional: what is left out stays as it is.
                        if (contentType == "application/merge-patch+json" && schemas[id] is OpenApiSchema patch) patch.Required = null;
                    }
                }
            }
            foreach (var (id, schema) in schemas)
            {
                // A nullable reference is written oneOf [null, $ref] with the doc comment on the $ref branch: lift it to
                // the property, where generators look for it.
                foreach (var property in schema.Properties?.Values.OfType<OpenApiSchema>() ?? [])
                {
                    property.Description ??= property.OneOf?.OfType<OpenApiSchemaReference>().Select(r => r.Description).FirstOrDefault(d => d is not null);
                }
                if (schema is not OpenApiSchema s || s.Type != JsonSchemaType.Object || id == Shared.Problem) continue;
                if (requests.Contains(id))
                {
                    // A default in a request makes some generators require the field (openapi-typescript); say it instead.
                    foreach (var property in s.Properties?.Values.OfType<OpenApiSchema>().Where(p => p.Default is not null) ?? [])
                    {
                        property.Description = $"{property.Description} Default: `{property.Default!.ToJsonString().Trim('"')}`.".TrimStart();
                        property.Default = null;
                    }
                    foreach (var name in s.Required?.Where(n => s.Properties?.TryGetValue(n, out var p) == true && AllowsNull(p)).ToList() ?? [])
                        s.Required!.Remove(name);
                    if (s.Required is { Count: 0 }) s.Required = null;
                }
                else
                {
                    s.AdditionalPropertiesAllowed = true;
                    s.AdditionalProperties = null;
                }
            }
        }

        private static void Reach(string id, IDictionary<string, IOpenApiSchema> schemas, HashSet<string> seen)
        {
            if (!seen.Add(id) || !schemas.TryGetValue(id, out var found) || found is not OpenApiSchema schema) return;
            foreach (var child in Children(schema))
            {
                if (child is OpenApiSchemaReference { Reference.Id: { } childId }) Reach(childId, schemas, seen);
            }
        }

        private static IEnumerable<IOpenApiSchema> Children(IOpenApiSchema schema) =>
            (schema.Properties?.Values ?? []).Concat(schema.Items is null ? [] : [schema.Items])
            .Concat(schema.OneOf ?? []).Concat(schema.AnyOf ?? []).Concat(schema.AllOf ?? [])
            .SelectMany(c => c is OpenApiSchemaReference ? [c] : Children(c).Prepend(c));

        private static bool AllowsNull(IOpenApiSchema schema) =>
            schema.Type?.HasFlag(JsonSchemaType.Null) == true || schema.OneOf?.Any(AllowsNull) == true;
    }

    /// <summary>Values that are any JSON (an artifact's context, a run's input and output).</summary>
    private static class AnyJson
    {
        public static bool Describes(Type type) =>
            (Nullable.GetUnderlyingType(type) ?? type) is var t && (t == typeof(JsonObject) || t == typeof(JsonNode)
            || t == typeof(JsonArray) || t == typeof(JsonValue) || t == typeof(System.Text.Json.JsonElement)
            || t == typeof(System.Text.Json.JsonDocument));

        public static void Describe(OpenApiSchema schema, Type type)
        {
            var t = Nullable.GetUnderlyingType(type) ?? type;
            if (t == typeof(JsonObject))
            {
                schema.Type = JsonSchemaType.Object | (schema.Type & JsonSchemaType.Null);
                // Present, not just allowed: generators read a bare object type as "no members" (Record<string, never>).
                schema.AdditionalProperties = new OpenApiSchema();
                schema.Description ??= "A JSON object.";
            }
            else if (t == typeof(JsonArray))
            {
                schema.Type = JsonSchemaType.Array | (schema.Type & JsonSchemaType.Null);
                schema.Items = new OpenApiSchema();
                schema.Description ??= "A JSON array.";
            }
            else
            {
                schema.Type = null;
                schema.Description ??= "Any JSON value.";
            }
        }
    }
}

/// <summary>Endpoint metadata for the OpenAPI document only: a request body the endpoint reads itself.</summary>
public sealed record DocumentedRequestBody(string ContentType, Type Type);
