using System.Globalization;
using System.Linq.Expressions;
using System.Text.Json;
using System.Text.Json.Nodes;
using AgentArtifacts.Api.Artifacts;
using AgentArtifacts.Api.Containers;
using AgentArtifacts.Api.Mcp.Prompts;
using AgentArtifacts.Api.Mcp.Tools;
using AgentArtifacts.Api.Types;
using Marten;
using Marten.Linq.MatchesSql;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace AgentArtifacts.Api.Mcp.Collections;

/// <summary>
/// A collection as its own MCP server, at <c>/collections/{id}/mcp</c>: its tools are the executable artifacts committed into
/// it (HTTP tools, MCP tools, agents) and its prompts the prompt artifacts, each at the revision last committed there. A tool
/// call is an ordinary invoke of that revision by the caller (<c>POST /artifacts/{id}/invoke</c> with <c>revision</c>: the same grants, approvals, secrets, egress
/// policy and audit). Whoever may read the collection connects; a call needs the <c>invoke</c> permission, as REST does.
/// Nothing is remembered between requests: every list and call reads the collection as it is then.
/// </summary>
public static class CollectionServer
{
    public const string Path = "/collections/{id:guid}/mcp";
    public const int PageSize = 100;

    /// <summary>
    /// Before the SDK sees the request: the caller must read the collection, else 404 problem+json (a missing collection and one
    /// the caller may not see look the same). The collection is kept for <see cref="Configure"/>, which may not query.
    /// </summary>
    public static RequestDelegate Gate(RequestDelegate next) => async context =>
    {
        var id = Guid.TryParse(context.Request.RouteValues["id"]?.ToString(), out var parsed) ? parsed : Guid.Empty;
        var session = context.RequestServices.GetRequiredService<IQuerySession>();
        var (collection, denied) = await session.LoadContainerAsync(ContainerKind.Collection, id, Caller.From(context.User), context.RequestAborted);
        if (denied is not null)
        {
            await denied.ExecuteAsync(context);
            return;
        }
        context.Items[typeof(CollectionServer)] = collection;
        await next(context);
    };

    /// <summary>
    /// On the collection's route, the server serves the collection's tools and prompts only: none of <c>/mcp</c>'s own tools,
    /// prompts or resources. <c>listChanged</c> is false: a stateless server cannot push a notification, and a commit simply
    /// changes what the next <c>tools/list</c> and <c>prompts/list</c> answer.
    /// </summary>
    public static void Configure(HttpContext http, McpServerOptions options)
    {
        if (http.Items[typeof(CollectionServer)] is not Artifact collection) return;
        var id = collection.Id;
        options.ToolCollection = null;
        options.PromptCollection = null;
        options.ResourceCollection = null;
        options.Handlers = new McpServerHandlers
        {
            ListToolsHandler = (request, ct) => ListToolsAsync(id, request, ct),
            CallToolHandler = (request, ct) => CallToolAsync(id, request, ct),
            ListPromptsHandler = (request, ct) => ListPromptsAsync(id, request, ct),
            GetPromptHandler = (request, ct) => GetPromptAsync(id, request, ct),
        };
        options.Capabilities = new ServerCapabilities
        {
            Tools = new ToolsCapability { ListChanged = false },
            Prompts = new PromptsCapability { ListChanged = false },
        };
        options.ServerInfo = new Implementation
        {
            Name = $"agentartifacts-collection-{id}",
            Title = collection.Title,
            Version = collection.Version.ToString(CultureInfo.InvariantCulture),
        };
        options.ServerInstructions = $"The tools of the collection '{collection.Title}', as committed there. {collection.Description}".Trim();
    }

    /// <summary>One page of tools (names over all the collection's tools, so they are the same on every page and for everyone).</summary>
    private static async ValueTask<ListToolsResult> ListToolsAsync(Guid id, RequestContext<ListToolsRequestParams> request, CancellationToken ct)
    {
        var (members, page, next) = await PageAsync(id, Executable(request.Services!.GetRequiredService<TypeRegistry>()), request.Params?.Cursor,
            request, ct);
        var names = ToolNames.Assign(members.Select(m => (m.ArtifactId, m.Title)));
        return new ListToolsResult { Tools = page.Select(r => ToolOf(names[r.ArtifactId], r)).ToList(), NextCursor = next };
    }

    /// <summary>One page of the collection's prompt artifacts, at their committed revisions, shown and named as on <c>/mcp</c>.</summary>
    private static async ValueTask<ListPromptsResult> ListPromptsAsync(Guid id, RequestContext<ListPromptsRequestParams> request, CancellationToken ct)
    {
        var (_, page, next) = await PageAsync(id, [PromptArtifacts.ContentType], request.Params?.Cursor, request, ct);
        return new ListPromptsResult
        {
            Prompts = page.Select(r => PromptArtifacts.Describe(PromptNames.Of(r.ArtifactId, r.Title), AsRest(r))).ToList(),
            NextCursor = next,
        };
    }

    /// <summary>The named prompt of the collection, rendered from its committed revision.</summary>
    private static async ValueTask<GetPromptResult> GetPromptAsync(Guid id, RequestContext<GetPromptRequestParams> request, CancellationToken ct)
    {
        var name = request.Params?.Name ?? "";
        var session = request.Services!.GetRequiredService<IQuerySession>();
        var caller = Caller.From(request.User!);
        var members = await session.Query<CollectionItem>().Where(Members(id, [PromptArtifacts.ContentType])).ToListAsync(ct);
        var member = members.FirstOrDefault(m => PromptNames.Of(m.ArtifactId, m.Title) == name && Visible(caller, m, id));
        var revision = member is null ? null : await session.LoadAsync<ArtifactRevision>(ArtifactRevision.IdOf(member.ArtifactId, member.Revision), ct);
        return revision is null
            ? throw new McpProtocolException($"Unknown prompt: '{name}'.", McpErrorCode.InvalidParams)
            : PromptArtifacts.Render(AsRest(revision), request.Params?.Arguments);
    }

    /// <summary>
    /// A page of the collection's members of these content types, at the revisions committed there, in order of publication;
    /// and all those members (light rows: no context or content), which names need. One round trip for both.
    /// </summary>
    private static async Task<(IReadOnlyList<CollectionItem> Members, IReadOnlyList<ArtifactRevision> Page, string? NextCursor)> PageAsync<T>(
        Guid id, string[] contentTypes, string? cursor, RequestContext<T> request, CancellationToken ct)
    {
        if (Infrastructure.Paging.TryRead<long>(PageSize, cursor, long.TryParse, out var take, out var after) is not null)
        {
            throw new McpProtocolException("The cursor is not one this server issued.", McpErrorCode.InvalidParams);
        }
        var session = request.Services!.GetRequiredService<IQuerySession>();
        var batch = session.CreateBatchQuery();
        var membersLoading = batch.Query<CollectionItem>().Where(Members(id, contentTypes)).OrderBy(c => c.Sequence).ToList();
        var revisionsLoading = batch.Query<ArtifactRevision>().Where(r => r.MatchesSql(PageRevisions(session), id, contentTypes, after, take + 1)).ToList();
        await batch.Execute(ct);
        var members = await membersLoading;
        var revisions = (await revisionsLoading).ToDictionary(r => r.Id);

        var caller = Caller.From(request.User!);
        var page = members.Where(m => m.Sequence > after).Take(take + 1).ToList();
        var shown = page.Take(take).Where(m => Visible(caller, m, id))
            .Select(m => revisions.GetValueOrDefault(ArtifactRevision.IdOf(m.ArtifactId, m.Revision))).OfType<ArtifactRevision>().ToList();
        var next = page.Count > take ? Infrastructure.Paging.Encode(page[take - 1].Sequence.ToString(CultureInfo.InvariantCulture)) : null;
        return (members, shown, next);
    }

    /// <summary>As the collection's REST listing: a key sees the kinds of artifacts its scopes let it read.</summary>
    private static bool Visible(Caller caller, CollectionItem member, Guid id) =>
        caller.ScopeAllows(member.ContentType, "read") && caller.ResourceAllowed(member.ArtifactId, id);

    /// <summary>A revision as REST shows an artifact's fields, which the prompt rendering reads.</summary>
    private static JsonObject AsRest(ArtifactRevision r) => new()
    {
        ["title"] = r.Title,
        ["description"] = r.Description,
        ["context"] = r.Context.DeepClone(),
        ["content"] = r.Content,
    };

    /// <summary>The named tool, run by the caller at the revision the collection holds: REST's invoke, answered as the <c>invoke</c> tool answers.</summary>
    private static async ValueTask<CallToolResult> CallToolAsync(Guid id, RequestContext<CallToolRequestParams> request, CancellationToken ct)
    {
        var name = request.Params?.Name ?? "";
        var session = request.Services!.GetRequiredService<IQuerySession>();
        var members = await session.Query<CollectionItem>().Where(Members(id, Executable(request.Services!.GetRequiredService<TypeRegistry>())))
            .ToListAsync(ct);
        var names = ToolNames.Assign(members.Select(m => (m.ArtifactId, m.Title)));
        var member = members.FirstOrDefault(m => names[m.ArtifactId] == name)
            ?? throw new McpProtocolException($"Unknown tool: '{name}'", McpErrorCode.InvalidParams);

        var arguments = new JsonObject();
        foreach (var (key, value) in request.Params?.Arguments ?? new Dictionary<string, JsonElement>()) arguments[key] = JsonNode.Parse(value.GetRawText());
        var invoke = new RestRequest("invokeArtifact")
        {
            Route = new Dictionary<string, object?> { ["id"] = member.ArtifactId },
            Body = new JsonObject { ["arguments"] = arguments, ["revision"] = member.Revision },
        };
        return await McpRuns.RunAsync(request.Services!.GetRequiredService<RestOperations>(), invoke, request.User!, request.Services!, ct);
    }

    /// <summary>The collection's members of these content types as committed there (an archived one is no longer served).</summary>
    private static Expression<Func<CollectionItem, bool>> Members(Guid id, string[] contentTypes) =>
        c => c.CollectionId == id && c.State == ArtifactState.Committed && c.ContentType.IsOneOf(contentTypes);

    /// <summary>The revisions of one page of members, in the same order and bounds as <see cref="Members"/> (parameters: id, types, after, count).</summary>
    private static string PageRevisions(IQuerySession session) => $"""
        d.id in (select (c.data ->> 'ArtifactId') || ':' || (c.data ->> 'Revision')
                 from {session.DocumentStore.Options.DatabaseSchemaName}.mt_doc_collectionitem c
                 where CAST(c.data ->> 'CollectionId' as uuid) = ? and c.data ->> 'State' = '{(int)ArtifactState.Committed}'
                   and c.data ->> 'ContentType' = ANY(?) and CAST(c.data ->> 'Sequence' as bigint) > ?
                 order by CAST(c.data ->> 'Sequence' as bigint) limit ?)
        """;

    /// <summary>The content types whose type declares an <c>invoke</c> operation.</summary>
    private static string[] Executable(TypeRegistry types) =>
        types.All.Select(t => t.ContentType).Where(t => types.Resolve(t).Operations["invoke"] is JsonObject).ToArray();

    /// <summary>
    /// The tool as the revision declares it: its input schema (<c>context.inputSchema</c>, an object schema; an open object when it
    /// declares none), its title and description. It may do anything its target does, so the hints say so.
    /// </summary>
    public static Tool ToolOf(string name, ArtifactRevision revision)
    {
        var schema = revision.Context["inputSchema"] is JsonObject declared && IsObjectSchema(declared)
            ? declared.DeepClone().AsObject() : new JsonObject();
        schema["type"] = "object";
        return new Tool
        {
            Name = name,
            Title = revision.Title,
            Description = revision.Description ?? revision.Title,
            InputSchema = JsonSerializer.SerializeToElement(schema),
            OutputSchema = AnswerSchema,
            Annotations = new ToolAnnotations
            {
                Title = revision.Title, ReadOnlyHint = false, DestructiveHint = true, IdempotentHint = false, OpenWorldHint = true,
            },
            Meta = new JsonObject
            {
                ["agentartifacts/artifactId"] = revision.ArtifactId.ToString(),
                ["agentartifacts/revision"] = revision.Revision,
                ["agentartifacts/contentType"] = revision.ContentType,
            },
        };
    }

    /// <summary>
    /// Every tool of a collection answers as the <c>invoke</c> tool does, <c>{run, follow}</c>. Only that outline is declared
    /// on each tool (the run's fields are those of <c>GET /runs/{id}</c> and of <c>get_run</c>'s output schema): a page of a
    /// hundred tools would otherwise repeat the full schema a hundred times.
    /// </summary>
    private static readonly JsonElement AnswerSchema = JsonSerializer.SerializeToElement(new JsonObject
    {
        ["type"] = "object",
        ["required"] = new JsonArray("run"),
        ["properties"] = new JsonObject
        {
            ["run"] = new JsonObject { ["type"] = "object", ["description"] = "The run, as GET /runs/{id} shows it: its status, output or error." },
            ["follow"] = new JsonObject
            {
                ["type"] = new JsonArray("object", "null"),
                ["description"] = "How to follow a run that has not ended (its URL, its events, the get_run tool); null once it has.",
            },
        },
    });

    /// <summary>MCP arguments are an object: a schema that says nothing of the type, or says object, fits as it is.</summary>
    private static bool IsObjectSchema(JsonObject schema) =>
        schema["type"] is null || (schema["type"] is JsonValue type && type.TryGetValue<string>(out var name) && name == "object");
}
