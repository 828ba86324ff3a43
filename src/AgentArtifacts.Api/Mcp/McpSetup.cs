using AgentArtifacts.Api.Infrastructure;
using AgentArtifacts.Api.Mcp.Prompts;
using AgentArtifacts.Api.Mcp.Resources;
using ModelContextProtocol.AspNetCore;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace AgentArtifacts.Api.Mcp;

/// <summary>
/// The service as an MCP server (Streamable HTTP, the official SDK). Stateless: every POST builds a fresh server from the
/// request's services, so no node holds anything the next request needs, and clients of both protocol generations (those
/// that <c>initialize</c> first and those that do not) are served on any node behind one address.
/// </summary>
public static class McpSetup
{
    public const string Path = "/mcp";

    /// <summary>The API's JSON conventions, for the tools' schemas and arguments.</summary>
    public static readonly System.Text.Json.JsonSerializerOptions Json =
        WolverineHttpSetup.Apply(new(System.Text.Json.JsonSerializerDefaults.Web) { TypeInfoResolver = new System.Text.Json.Serialization.Metadata.DefaultJsonTypeInfoResolver() });

    public static void AddMcp(this WebApplicationBuilder builder)
    {
        builder.Services.AddMcpServer(o =>
            {
                o.ServerInfo = new Implementation { Name = "agentartifacts", Title = "AgentArtifacts", Version = typeof(McpSetup).Assembly.GetName().Version?.ToString(3) ?? "1.0.0" };
                o.ServerInstructions = "AgentArtifacts stores, versions, shares, searches and runs the artifacts AI agents work with. "
                    + "Search or list to find artifacts, read them, draft changes in a workspace, commit them into a collection, and invoke executable artifacts (tools, agents).";
            })
            .WithHttpTransport(o =>
            {
                o.SessionMode = HttpServerSessionMode.Stateless;
                // The collection route serves that collection's tools instead of /mcp's (no database here: the gate read it).
                o.ConfigureSessionOptions = (http, options, _) =>
                {
                    Collections.CollectionServer.Configure(http, options);
                    return Task.CompletedTask;
                };
            })
            // The API's JSON conventions, so that output schemas describe what REST answers (enums in snake_case, camelCase).
            .WithToolsFromAssembly(typeof(McpSetup).Assembly, Json)
            .WithArtifactResources()
            .WithArtifactPrompts()
            .WithRequestFilters(filters =>
            {
                filters.AddListToolsFilter(next => async (context, ct) =>
                {
                    var result = await next(context, ct);
                    result.Tools = result.Tools.Where(t => Allowed(context, t.Name)).ToList();
                    foreach (var tool in result.Tools)
                    {
                        tool.InputSchema = ToolSchemas.Objects(tool.InputSchema);
                        tool.OutputSchema = ToolSchemas.Objects(tool.OutputSchema);
                    }
                    return result;
                });
                filters.AddCallToolFilter(next => async (context, ct) => ToolArguments.Check(context) ?? await next(context, ct));
            });
        builder.Services.AddSingleton<RestOperations>();
    }

    /// <summary>A tool is listed to a caller whose credential may call every REST operation it runs.</summary>
    private static bool Allowed(RequestContext<ListToolsRequestParams> context, string tool)
    {
        var rest = context.Services!.GetRequiredService<RestOperations>();
        return context.Server.ServerOptions.ToolCollection?.TryGetPrimitive(tool, out var primitive) != true || primitive is null
            || primitive.Metadata.OfType<RestOperationAttribute>().SelectMany(a => a.OperationIds).All(op => rest.Allows(context.User!, op));
    }

    public static void MapMcpEndpoints(this WebApplication app)
    {
        app.MapMcp(Path).AsMcpEndpoint();
        // A collection as its own MCP server: the caller must read the collection to connect (404 before the SDK otherwise).
        app.MapMcp(Collections.CollectionServer.Path).AsMcpEndpoint()
            .Add(endpoint => endpoint.RequestDelegate = Collections.CollectionServer.Gate(endpoint.RequestDelegate!));
    }

    private static IEndpointConventionBuilder AsMcpEndpoint(this IEndpointConventionBuilder endpoints) => endpoints
        .RequireAuthorization()
        // Any credential may connect; each tool asks for the key action it needs.
        .WithMetadata(new KeyScopeAttribute(KeyScopeAttribute.Any), new RawBodyAttribute(), new McpEndpoint())
        // Its tools, resources and prompts list from every async read model, so a Consistency-Token waits for all of them.
        .WithMetadata(new ReadsProjectionsAttribute(typeof(Artifacts.ArtifactSummary), typeof(Containers.CollectionMembershipProjection),
            typeof(Commits.Commit), typeof(Search.SearchProjection)))
        // JSON-RPC over one URL: described in docs/architecture.md, not in the REST contract.
        .ExcludeFromDescription();
}

/// <summary>Endpoint metadata: an MCP endpoint (JSON-RPC over Streamable HTTP), which the REST contract leaves out.</summary>
public sealed class McpEndpoint;
