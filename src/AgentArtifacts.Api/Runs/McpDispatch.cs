using System.Text.Json;
using System.Text.Json.Nodes;
using Marten;
using ModelContextProtocol;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using AgentArtifacts.Api.Artifacts;
using AgentArtifacts.Api.StoredSecrets;

namespace AgentArtifacts.Api.Runs;

/// <summary>
/// Dispatch kind <c>mcp_tool</c>: a call to a remote MCP server over Streamable HTTP with the official client. On a tool
/// artifact (<c>context.serverId</c>, <c>context.toolName</c>) it calls that tool with the input as its arguments; on an MCP
/// server artifact, the op whose declaration says <c>dispatch.action: list_tools</c> lists the server's tools. The server
/// artifact holds <c>context.transport.url</c> and <c>.headers</c>; its requests go through the egress policy of <c>http</c>.
/// </summary>
[DispatchKind("mcp_tool")]
public sealed record McpDispatch(RunContext Run) : IDispatch;

public static class McpDispatchHandler
{
    public static async Task<RunResult> Handle(McpDispatch message, IQuerySession session, IHttpClientFactory clients, SecretResolver secrets,
        CancellationToken ct)
    {
        var run = message.Run;
        var listTools = run.Declaration["dispatch"]?["action"]?.GetValue<string>() == "list_tools";
        var server = run.Artifact;
        string? toolName = null;
        Dictionary<string, JsonElement>? arguments = null;
        if (!listTools)
        {
            if (run.Input is not (null or JsonObject))
            {
                return RunResult.Failed("invalid_input", "The input of an MCP tool is its arguments: a JSON object, or null for none.", 400);
            }
            arguments = (run.Input as JsonObject)?.ToDictionary(p => p.Key, p => JsonSerializer.SerializeToElement(p.Value));
            toolName = run.Artifact.Context["toolName"]?.GetValue<string>();
            if (string.IsNullOrEmpty(toolName) || !Guid.TryParse(run.Artifact.Context["serverId"]?.GetValue<string>(), out var serverId))
            {
                return RunResult.Failed("invalid_tool", "The tool artifact's context needs a serverId and a toolName.");
            }
            // The caller needs read on the server too, decided as every read is; a refusal never says whether the server exists.
            server = (await session.AuthorizeAsync(serverId, run.Caller, Permission.Read, ct)).Artifact;
            if (server is null || server.State == ArtifactState.Archived)
            {
                return RunResult.Failed("mcp_server_unavailable", "The tool's MCP server artifact does not exist or you may not use it.");
            }
        }

        var transport = server.Context["transport"] as JsonObject;
        if (transport?["url"]?.GetValue<string>() is not { } url || !Uri.TryCreate(url, UriKind.Absolute, out var endpoint)
            || endpoint.Scheme is not ("http" or "https"))
        {
            return RunResult.Failed("invalid_endpoint", "The MCP server artifact's context.transport.url is not an http(s) URL.");
        }
        var seconds = run.Artifact.Context["timeoutSeconds"]?.GetValue<int>() ?? server.Context["timeoutSeconds"]?.GetValue<int>()
            ?? run.Declaration["timeoutSeconds"]?.GetValue<int>() ?? 30;

        // The server's headers, with {{secret:NAME}} references resolved for the invoking caller; their values are redacted
        // from whatever the run returns.
        var headers = await secrets.ResolveAsync(transport["headers"] as JsonObject, run.Caller.Id, ct);
        if (headers.Failure is { } unresolved) return unresolved;
        return headers.Redact(await CallAsync(endpoint, headers.Values.ToDictionary(h => h.Key, h => h.Value), seconds, listTools ? null : toolName,
            arguments, clients, ct));
    }

    /// <summary>One MCP session: <c>tools/list</c> when <paramref name="toolName"/> is null, else <c>tools/call</c>.</summary>
    private static async Task<RunResult> CallAsync(Uri endpoint, Dictionary<string, string> headers, int seconds, string? toolName,
        Dictionary<string, JsonElement>? arguments, IHttpClientFactory clients, CancellationToken ct)
    {
        var httpClient = clients.CreateClient(HttpDispatchHandler.Client);
        httpClient.Timeout = Timeout.InfiniteTimeSpan;  // the run's own timeout below governs, also beyond HttpClient's default 100 s
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(seconds));
        try
        {
            // The egress client, so the MCP server is reached under the same policy as an http tool. No logger factory: the
            // client's debug logs may carry header values and arguments.
            await using var connection = new HttpClientTransport(new HttpClientTransportOptions
            {
                Endpoint = endpoint,
                TransportMode = HttpTransportMode.StreamableHttp,
                AdditionalHeaders = headers,
                ConnectionTimeout = TimeSpan.FromSeconds(seconds),
                EnableStandaloneGetStream = false,  // one request and its answer; no server-initiated messages are awaited
                MaxReconnectionAttempts = 0,
            }, httpClient);
            await using var client = await McpClient.CreateAsync(connection, new McpClientOptions
            {
                ClientInfo = new Implementation { Name = "AgentArtifacts", Version = "1.0" },
            }, cancellationToken: timeout.Token);

            if (toolName is null)
            {
                var tools = await client.ListToolsAsync(cancellationToken: timeout.Token);
                return new RunResult(new JsonObject
                {
                    ["tools"] = new JsonArray([.. tools.Select(t => new JsonObject
                    {
                        ["name"] = t.ProtocolTool.Name,
                        ["description"] = t.ProtocolTool.Description,
                        ["inputSchema"] = JsonSerializer.SerializeToNode(t.ProtocolTool.InputSchema),
                    })]),
                }, null);
            }

            CallToolResult result;
            try
            {
                result = await client.CallToolAsync(new CallToolRequestParams { Name = toolName, Arguments = arguments }, timeout.Token);
            }
            catch (McpProtocolException e)
            {
                // A JSON-RPC error: the server refused the call itself (an unknown tool, or arguments it will not take).
                var rejected = RunResult.Failed("tool_call_rejected", $"The MCP server refused the call to '{toolName}': {e.Message}");
                rejected.Error!["mcpErrorCode"] = (int)e.ErrorCode;
                return rejected;
            }
            var mcp = JsonSerializer.SerializeToNode(result, McpJsonUtilities.DefaultOptions)!.AsObject();
            if (result.IsError == true)
            {
                var text = string.Join("\n", result.Content.OfType<TextContentBlock>().Select(b => b.Text));
                return RunResult.Failed("tool_error", text.Length > 2000 ? text[..2000] : text);
            }
            var output = new JsonObject { ["content"] = mcp["content"]?.DeepClone() ?? new JsonArray() };
            if (mcp["structuredContent"] is { } structured) output["structuredContent"] = structured.DeepClone();
            return new RunResult(output, null);
        }
        catch (Exception e) when (Failure(e, seconds, ct) is { } failure)
        {
            return failure;
        }
    }

    /// <summary>
    /// A failure to reach or hear from the server, with the codes the http kind uses so that retry policy treats them alike.
    /// Null for anything else (a bug, which should surface).
    /// </summary>
    private static RunResult? Failure(Exception e, int seconds, CancellationToken ct)
    {
        if (ct.IsCancellationRequested) return null;  // the caller went away: not the server's doing
        var chain = new List<Exception>();
        for (var x = e; x is not null; x = x.InnerException) chain.Add(x);
        if (chain.OfType<EgressRefusedException>().FirstOrDefault() is { } refused) return RunResult.Failed("egress_refused", refused.Message);
        if (chain.Any(x => x is OperationCanceledException or TimeoutException))
        {
            return RunResult.Failed("upstream_timeout", $"The MCP server did not answer within {seconds} s.");
        }
        if (chain.OfType<HttpRequestException>().FirstOrDefault() is { } http)
        {
            return http.StatusCode is { } status
                ? RunResult.Failed("upstream_error", $"The MCP server answered {(int)status}.", (int)status)
                : RunResult.Failed("upstream_unreachable", $"The MCP server could not be reached: {http.Message}");
        }
        return e is McpException or IOException or JsonException
            ? RunResult.Failed("upstream_error", $"The MCP server failed: {e.Message}")
            : null;
    }
}
