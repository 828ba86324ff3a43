using System.Collections.Frozen;
using System.Security.Claims;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using AgentArtifacts.Api.Infrastructure;
using Microsoft.AspNetCore.Diagnostics;
using Wolverine.Http;

namespace AgentArtifacts.Api.Mcp;

/// <summary>
/// Runs one of the service's REST operations in-process, for an MCP tool. The tool is only a translation: the operation's
/// own endpoint code runs (binding, validation, authorization, decisions, the actor stamp on the events, problems), after
/// the two checks REST makes before an endpoint (key scopes, input hygiene), and an exception is mapped to the problem REST
/// would answer. The request is a fresh one on the caller's principal and services: the MCP exchange's own response (a
/// stream that may have started) is never touched.
/// </summary>
public sealed partial class RestOperations(EndpointDataSource endpoints)
{
    private FrozenDictionary<string, RouteEndpoint>? _byOperation;

    private FrozenDictionary<string, RouteEndpoint> ByOperation => _byOperation ??= endpoints.Endpoints.OfType<RouteEndpoint>()
        .Select(e => (Endpoint: e, Chain: e.Metadata.GetMetadata<HttpChain>()))
        .Where(e => e.Chain?.OperationId is not null)
        .ToFrozenDictionary(e => e.Chain!.OperationId, e => e.Endpoint);

    /// <summary>The key action an API key or server needs for the operation (see <see cref="KeyScopeAttribute"/>).</summary>
    public string KeyAction(string operationId) =>
        Endpoint(operationId).Metadata.GetMetadata<KeyScopeAttribute>()?.Action
        ?? throw new InvalidOperationException($"The operation '{operationId}' declares no key scope.");

    /// <summary>Whether the caller's credential may call the operation at all (the check REST makes before the endpoint).</summary>
    public bool Allows(ClaimsPrincipal user, string operationId) =>
        KeyAction(operationId) is var action && (action == KeyScopeAttribute.Any || Caller.From(user).ActionAllowed(action));

    public async Task<RestAnswer> SendAsync(RestRequest request, ClaimsPrincipal user, IServiceProvider services, CancellationToken ct)
    {
        var endpoint = Endpoint(request.OperationId);
        var context = new DefaultHttpContext { RequestServices = services, User = user, RequestAborted = ct };
        context.SetEndpoint(endpoint);
        var http = context.Request;
        http.Method = endpoint.Metadata.GetMetadata<IHttpMethodMetadata>()!.HttpMethods[0];
        http.Path = PathOf(endpoint.RoutePattern.RawText!, request.Route);
        foreach (var (name, value) in request.Route) http.RouteValues[name] = value?.ToString();
        http.QueryString = QueryString.Create(request.Query.Where(q => q.Value is not null));
        http.Headers.Accept = "application/json";
        foreach (var (name, value) in request.Headers) http.Headers[name] = value;
        if (request.Body is { } body)
        {
            var bytes = JsonSerializer.SerializeToUtf8Bytes(body);
            http.ContentType ??= "application/json";
            http.ContentLength = bytes.Length;
            http.Body = new MemoryStream(bytes);
        }
        var response = new MemoryStream();
        context.Response.Body = response;

        var pipeline = new KeyScopeEnforcement(new InputHygiene(endpoint.RequestDelegate!).InvokeAsync);
        try
        {
            await pipeline.InvokeAsync(context);
        }
        catch (Exception e) when (!ct.IsCancellationRequested)
        {
            // The same mapping REST applies (a concurrent append, an unreachable database, a bad request, else 500).
            response.SetLength(0);
            await ActivatorUtilities.CreateInstance<ExceptionMapping>(services).TryHandleAsync(context, e, ct);
        }

        return new RestAnswer(context.Response.StatusCode, response.Length == 0 ? null : JsonNode.Parse(response.ToArray()),
            context.Response.Headers);
    }

    private RouteEndpoint Endpoint(string operationId) => ByOperation.TryGetValue(operationId, out var endpoint)
        ? endpoint : throw new InvalidOperationException($"No endpoint has the operation id '{operationId}'.");

    private static string PathOf(string pattern, IReadOnlyDictionary<string, object?> route) =>
        "/" + RouteParameter().Replace(pattern.TrimStart('/'), m => Uri.EscapeDataString(route[m.Groups[1].Value]?.ToString() ?? ""));

    [GeneratedRegex(@"\{\*{0,2}([A-Za-z_][A-Za-z0-9_]*)[^}]*\}")]
    private static partial Regex RouteParameter();
}

/// <summary>An operation to run: its OpenAPI operation id, route values, query, headers (such as If-Match) and JSON body.</summary>
public sealed record RestRequest(string OperationId)
{
    public IReadOnlyDictionary<string, object?> Route { get; init; } = new Dictionary<string, object?>();
    public IReadOnlyDictionary<string, string?> Query { get; init; } = new Dictionary<string, string?>();
    public IReadOnlyDictionary<string, string> Headers { get; init; } = new Dictionary<string, string>();
    public JsonNode? Body { get; init; }
}

/// <summary>What the operation answered: status, the JSON body (a resource or a problem), and the headers (ETag, Location).</summary>
public sealed record RestAnswer(int Status, JsonNode? Body, IHeaderDictionary Headers)
{
    public bool Succeeded => Status is >= 200 and < 300;
}

/// <summary>On an MCP tool: the REST operations it runs. A caller whose credential may not call them does not see the tool.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class RestOperationAttribute(params string[] operationIds) : Attribute
{
    public IReadOnlyList<string> OperationIds { get; } = operationIds;
}
