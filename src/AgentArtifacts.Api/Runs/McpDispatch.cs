using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using System.Threading.Channels;
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

/// <summary>The MCP tool reported progress on its call (<c>notifications/progress</c>); coalesced to at most one event per 100 ms.</summary>
public sealed record RunProgressed(Guid RunId, double Progress, double? Total, string? Message);

public static partial class McpDispatchHandler
{
    /// <summary>
    /// The <c>_meta</c> key of every <c>tools/call</c>: the run's id, the same on every attempt of the run, so a tool can
    /// recognise a call it has already carried out (a retry after a timeout, or after the service crashed mid-call).
    /// </summary>
    public const string IdempotencyKeyMeta = "io.agentartifacts/idempotency-key";

    /// <summary>
    /// The protocol versions offered, in order: null is the SDK's own negotiation (the 2026-07-28 revision's
    /// <c>server/discover</c>, falling back to <c>initialize</c> on the answers it recognises); then each released
    /// revision that has the <c>initialize</c> handshake, newest first, for servers that answer the probe some other way.
    /// </summary>
    private static readonly string?[] ProtocolVersions = [null, "2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"];

    /// <summary>The offer (an index into <see cref="ProtocolVersions"/>) each server URL last accepted: later runs start there.</summary>
    private static readonly ConcurrentDictionary<string, int> Accepted = new(StringComparer.Ordinal);

    public static async Task<RunResult> Handle(McpDispatch message, IQuerySession session, IDocumentStore store, IHttpMessageHandlerFactory handlers,
        IConfiguration configuration, SecretResolver secrets, Mcp.RestOperations rest, IServiceScopeFactory scopes, CancellationToken ct)
    {
        var run = message.Run;
        var action = run.Declaration["dispatch"]?["action"]?.GetValue<string>();
        var listTools = action is "list_tools" or "materialize";
        Guid workspaceId = default;
        if (action == "materialize" && !Guid.TryParse(run.Input?["workspaceId"]?.GetValue<string>(), out workspaceId))
        {
            return RunResult.Failed("invalid_input", "The input of materialize is {workspaceId}: the workspace to create the tool artifacts in.", 400);
        }
        Dictionary<string, JsonElement>? arguments = null;
        if (!listTools)
        {
            if (run.Input is not (null or JsonObject))
            {
                return RunResult.Failed("invalid_input", "The input of an MCP tool is its arguments: a JSON object, or null for none.", 400);
            }
            arguments = (run.Input as JsonObject)?.ToDictionary(p => p.Key, p => JsonSerializer.SerializeToElement(p.Value));
        }
        var target = await TargetAsync(run.Artifact, !listTools, run.Caller, session, secrets, ct);
        if (target.Failure is { } failure) return failure;
        var seconds = run.Artifact.Context["timeoutSeconds"]?.GetValue<int>() ?? target.Server!.Context["timeoutSeconds"]?.GetValue<int>()
            ?? run.Declaration["timeoutSeconds"]?.GetValue<int>() ?? 30;
        var progress = listTools ? null : new ProgressEvents(store, run);
        var connection = new Connection(target, seconds, DispatchLimits.MaxResponseBytes(configuration), handlers, progress);

        var result = target.Secrets!.Redact(await connection.UseAsync(async (client, timeout) =>
        {
            if (listTools)
            {
                var tools = await client.ListToolsAsync(cancellationToken: timeout);
                var listing = new JsonObject
                {
                    ["tools"] = new JsonArray([.. tools.Select(t => new JsonObject
                    {
                        ["name"] = t.ProtocolTool.Name,
                        ["title"] = t.ProtocolTool.Title,
                        ["description"] = t.ProtocolTool.Description,
                        ["inputSchema"] = JsonSerializer.SerializeToNode(t.ProtocolTool.InputSchema),
                    })]),
                };
                return new RunResult(action == "materialize" ? await ListForMaterializeAsync(client, listing, timeout) : listing, null);
            }
            return await CallAsync(client, target.ToolName!, arguments, run, progress!, timeout);
        }, ct));
        return action == "materialize" && result.Output is JsonObject listed
            ? await MaterializeAsync(run, workspaceId, listed, session, rest, scopes, ct)
            : result;
    }

    /// <summary>
    /// The tool as its server lists it (description, input schema), for declaring an agent's MCP tool to the model. Null
    /// when the artifact is no MCP tool or the server cannot tell (unreachable, refused, no such tool): the caller then
    /// declares what the artifact itself says. Cached by the tool's and the server's id and version.
    /// </summary>
    public static async Task<Tool?> DescribeAsync(Artifact tool, Caller caller, IQuerySession session, IHttpMessageHandlerFactory handlers,
        IConfiguration configuration, SecretResolver secrets, CancellationToken ct)
    {
        if (tool.Context["serverId"] is null || tool.Context["toolName"] is null) return null;
        var target = await TargetAsync(tool, true, caller, session, secrets, ct);
        if (target.Failure is not null) return null;
        var key = $"{tool.Id}:{tool.Version}:{target.Server!.Id}:{target.Server.Version}";
        if (Descriptions.TryGetValue(key, out var cached) && Environment.TickCount64 - cached.At < DescriptionLifetimeMs) return cached.Tool;

        var seconds = tool.Context["timeoutSeconds"]?.GetValue<int>() ?? target.Server.Context["timeoutSeconds"]?.GetValue<int>() ?? 30;
        Tool? described = null;
        var listed = await new Connection(target, seconds, DispatchLimits.MaxResponseBytes(configuration), handlers, null).UseAsync(async (client, timeout) =>
        {
            described = (await client.ListToolsAsync(cancellationToken: timeout)).FirstOrDefault(t => t.ProtocolTool.Name == target.ToolName)?.ProtocolTool;
            return new RunResult(null, null);
        }, ct);
        if (listed.Error is not null || described is null) return null;
        if (Descriptions.Count > 1000) Descriptions.Clear();  // a bound, not an eviction policy: entries are cheap to fetch again
        Descriptions[key] = (described, Environment.TickCount64);
        return described;
    }

    /// <summary>Listed tools by key, with when they were listed (a monotonic tick count: an age, not a time of day).</summary>
    private static readonly ConcurrentDictionary<string, (Tool Tool, long At)> Descriptions = new(StringComparer.Ordinal);
    private const long DescriptionLifetimeMs = 10 * 60 * 1000;

    /// <summary>Where a run goes: the server artifact, its URL, its headers with the caller's secrets, and the tool's name.</summary>
    private sealed record Target(Artifact? Server, Uri? Endpoint, ResolvedHeaders? Secrets, string? ToolName, RunResult? Failure)
    {
        public static Target Failed(RunResult failure) => new(null, null, null, null, failure);
    }

    private static async Task<Target> TargetAsync(Artifact artifact, bool isTool, Caller caller, IQuerySession session, SecretResolver secrets,
        CancellationToken ct)
    {
        var server = artifact;
        string? toolName = null;
        if (isTool)
        {
            toolName = artifact.Context["toolName"]?.GetValue<string>();
            if (string.IsNullOrEmpty(toolName) || !Guid.TryParse(artifact.Context["serverId"]?.GetValue<string>(), out var serverId))
            {
                return Target.Failed(RunResult.Failed("invalid_tool", "The tool artifact's context needs a serverId and a toolName."));
            }
            // The caller needs read on the server too, decided as every read is; a refusal never says whether the server exists.
            server = (await session.AuthorizeAsync(serverId, caller, Permission.Read, ct)).Artifact;
            if (server is null || server.State == ArtifactState.Archived)
            {
                return Target.Failed(RunResult.Failed("mcp_server_unavailable", "The tool's MCP server artifact does not exist or you may not use it."));
            }
        }

        var transport = server.Context["transport"] as JsonObject;
        if (transport?["url"]?.GetValue<string>() is not { } url || !Uri.TryCreate(url, UriKind.Absolute, out var endpoint)
            || endpoint.Scheme is not ("http" or "https"))
        {
            return Target.Failed(RunResult.Failed("invalid_endpoint", "The MCP server artifact's context.transport.url is not an http(s) URL."));
        }
        // The server's headers, with {{secret:NAME}} references resolved for the invoking caller; their values are redacted
        // from whatever the run returns.
        var headers = await secrets.ResolveAsync(transport["headers"] as JsonObject, caller.Id, ct);
        return headers.Failure is { } unresolved ? Target.Failed(unresolved) : new Target(server, endpoint, headers, toolName, null);
    }

    /// <summary>
    /// <c>tools/call</c> with the run's idempotency key and a progress token (the run's id) in <c>_meta</c>. The tool's
    /// progress notifications become <see cref="RunProgressed"/> events, all recorded before the call's end is.
    /// </summary>
    private static async Task<RunResult> CallAsync(McpClient client, string toolName, Dictionary<string, JsonElement>? arguments, RunContext run,
        ProgressEvents progress, CancellationToken timeout)
    {
        CallToolResult result;
        try
        {
            result = await client.CallToolAsync(new CallToolRequestParams
            {
                Name = toolName,
                Arguments = arguments,
                Meta = new JsonObject { ["progressToken"] = progress.Token, [IdempotencyKeyMeta] = run.RunId.ToString() },
            }, timeout);
        }
        catch (McpProtocolException e)
        {
            // A JSON-RPC error: the server refused the call itself (an unknown tool, or arguments it will not take).
            await progress.FlushAsync();
            return Rejected(toolName, e.Message, (int)e.ErrorCode);
        }
        await progress.FlushAsync();

        if (result.IsError == true)
        {
            var text = string.Join("\n", result.Content.OfType<TextContentBlock>().Select(b => b.Text));
            // The TypeScript SDK's McpServer turns the JSON-RPC errors it raises for an unknown tool or invalid arguments into
            // an isError result whose text starts with "MCP error <code>:"; they are refusals all the same.
            if (WrappedProtocolError().Match(text) is { Success: true } wrapped) return Rejected(toolName, text, int.Parse(wrapped.Groups[1].Value));
            // Other servers answer an unknown tool or arguments they will not take with a plain isError result: the server's
            // own list of tools tells which it was.
            return await RefusalOrToolErrorAsync(client, toolName, run, text, timeout);
        }
        var mcp = JsonSerializer.SerializeToNode(result, McpJsonUtilities.DefaultOptions)!.AsObject();
        var output = new JsonObject { ["content"] = mcp["content"]?.DeepClone() ?? new JsonArray() };
        if (mcp["structuredContent"] is { } structured) output["structuredContent"] = structured.DeepClone();
        return new RunResult(output, null);
    }

    private static RunResult Rejected(string toolName, string detail, int? mcpErrorCode)
    {
        var rejected = RunResult.Failed("tool_call_rejected", $"The MCP server refused the call to '{toolName}': {(detail.Length > 2000 ? detail[..2000] : detail)}");
        if (mcpErrorCode is { } code) rejected.Error!["mcpErrorCode"] = code;
        return rejected;
    }

    /// <summary>
    /// An isError result is a refusal (<c>tool_call_rejected</c>) when the server does not list the tool, or when the
    /// arguments do not match the input schema it lists for it; else it is the tool's own error (<c>tool_error</c>).
    /// </summary>
    private static async Task<RunResult> RefusalOrToolErrorAsync(McpClient client, string toolName, RunContext run, string text, CancellationToken timeout)
    {
        IList<McpClientTool>? tools;
        try
        {
            tools = await client.ListToolsAsync(cancellationToken: timeout);
        }
        catch (Exception e) when (e is McpException or HttpRequestException or IOException or JsonException)
        {
            tools = null;
        }
        if (tools is null) return ToolError(text);  // no list to go by: the tool's own error stands
        if (tools.FirstOrDefault(t => t.ProtocolTool.Name == toolName) is not { } tool)
        {
            return Rejected(toolName, $"The server has no tool named '{toolName}'. {text}", null);
        }
        if (JsonSerializer.SerializeToNode(tool.ProtocolTool.InputSchema) is JsonObject schema
            && RunLauncher.InputErrors(run.Artifact, new JsonObject { ["inputSchema"] = schema }, run.Input ?? new JsonObject()) is { Count: > 0 } errors
            && !errors.ContainsKey("inputSchema"))
        {
            var paths = string.Join(", ", errors.Select(e => $"{e.Key}: {string.Join("; ", e.Value)}"));
            return Rejected(toolName, $"The arguments do not match the tool's input schema ({paths}). {text}", null);
        }
        return ToolError(text);
    }

    private static RunResult ToolError(string text) => RunResult.Failed("tool_error", text.Length > 2000 ? text[..2000] : text);

    /// <summary>Invalid request, method not found, invalid params: the JSON-RPC codes of a call refused before the tool ran.</summary>
    [GeneratedRegex(@"^MCP error (-3260[0-2]):")]
    private static partial Regex WrappedProtocolError();

    /// <summary>
    /// One MCP client session per run, opened on the first protocol version the server accepts, through the egress client
    /// with the response size limit; failures to reach or hear from the server become run errors.
    /// </summary>
    private sealed class Connection(Target target, int seconds, int maxBytes, IHttpMessageHandlerFactory handlers, ProgressEvents? progress)
    {
        public async Task<RunResult> UseAsync(Func<McpClient, CancellationToken, Task<RunResult>> use, CancellationToken ct)
        {
            // The egress handler, so the MCP server is reached under the same policy as an http tool (the factory owns its
            // lifetime); the run's own timeout governs, also beyond HttpClient's default 100 s.
            using var http = new HttpClient(new ResponseLimit(maxBytes) { InnerHandler = handlers.CreateHandler(HttpDispatchHandler.Client) }, disposeHandler: false)
            {
                Timeout = Timeout.InfiniteTimeSpan,
            };
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(seconds));
            try
            {
                await using var client = await ConnectAsync(http, timeout.Token);
                return await use(client, timeout.Token);
            }
            catch (Exception e) when (Failure(e, seconds, maxBytes, ct) is { } failure)
            {
                return failure;
            }
        }

        /// <summary>
        /// Offers the protocol versions in turn, starting with the one this server accepted last time, while the server
        /// answers but refuses the handshake; a server that cannot be reached or does not answer in time is not asked again.
        /// </summary>
        private async Task<McpClient> ConnectAsync(HttpClient http, CancellationToken ct)
        {
            var url = target.Endpoint!.AbsoluteUri;
            var first = Accepted.GetValueOrDefault(url);
            for (var offer = first; ; offer++)
            {
                // No logger factory: the client's debug logs may carry header values and arguments.
                var transport = new HttpClientTransport(new HttpClientTransportOptions
                {
                    Endpoint = target.Endpoint,
                    TransportMode = HttpTransportMode.StreamableHttp,
                    AdditionalHeaders = target.Secrets!.Values.ToDictionary(h => h.Key, h => h.Value),
                    ConnectionTimeout = TimeSpan.FromSeconds(seconds),
                    EnableStandaloneGetStream = false,  // one request and its answer; no unsolicited server messages are awaited
                    // A server may end a call's SSE stream and expect the client to resume it with Last-Event-ID (2025-11-25
                    // transport): the SDK's reconnection (5 tries, at the server's retry interval or 1 s) stays on.
                }, http);
                try
                {
                    var client = await McpClient.CreateAsync(progress is null ? transport : new Observed(transport, progress.Observe), new McpClientOptions
                    {
                        ClientInfo = new Implementation { Name = "AgentArtifacts", Version = "1.0" },
                        ProtocolVersion = ProtocolVersions[offer],
                        InitializationTimeout = TimeSpan.FromSeconds(seconds),
                    }, cancellationToken: ct);
                    Accepted[url] = offer;
                    return client;
                }
                catch (Exception e) when (RefusedHandshake(e) && !ct.IsCancellationRequested && offer + 1 < ProtocolVersions.Length)
                {
                    await transport.DisposeAsync();
                }
                catch (Exception e) when (RefusedHandshake(e) && !ct.IsCancellationRequested)
                {
                    await transport.DisposeAsync();
                    Accepted.TryRemove(url, out _);
                    if (first > 0) return await ConnectAsync(http, ct);  // what it accepted before no longer does: from the top
                    throw new McpHandshakeRefusedException(e);
                }
            }
        }

        /// <summary>The server answered, but not with a handshake: another protocol version may do. Not for auth or rate limits.</summary>
        private static bool RefusedHandshake(Exception e) => e switch
        {
            HttpRequestException { StatusCode: { } status } => (int)status is not (401 or 403 or 407 or 429),
            McpException => true,
            _ => false,
        };
    }

    /// <summary>
    /// The transport with an observer of every message the client reads. The client handles notifications concurrently
    /// with the response that follows them, so a handler of its own could see a call's last progress only after the call's
    /// end; the reader sees them in order.
    /// </summary>
    private sealed class Observed(IClientTransport inner, Action<JsonRpcMessage> observe) : IClientTransport
    {
        public string Name => inner.Name;

        public async Task<ITransport> ConnectAsync(CancellationToken ct) => new Session(await inner.ConnectAsync(ct), observe);

        private sealed class Session(ITransport inner, Action<JsonRpcMessage> observe) : ITransport
        {
            public string? SessionId => inner.SessionId;
            public ChannelReader<JsonRpcMessage> MessageReader { get; } = new Reader(inner.MessageReader, observe);
            public Task SendMessageAsync(JsonRpcMessage message, CancellationToken ct = default) => inner.SendMessageAsync(message, ct);
            public ValueTask DisposeAsync() => inner.DisposeAsync();
        }

        private sealed class Reader(ChannelReader<JsonRpcMessage> inner, Action<JsonRpcMessage> observe) : ChannelReader<JsonRpcMessage>
        {
            public override Task Completion => inner.Completion;

            public override bool TryRead([MaybeNullWhen(false)] out JsonRpcMessage item)
            {
                if (!inner.TryRead(out item)) return false;
                observe(item);
                return true;
            }

            public override ValueTask<bool> WaitToReadAsync(CancellationToken ct = default) => inner.WaitToReadAsync(ct);
        }
    }

    /// <summary>No offered protocol version led to a handshake: the server's last answer is the inner exception.</summary>
    private sealed class McpHandshakeRefusedException(Exception last) : Exception("The MCP server accepted none of the offered protocol versions.", last);

    /// <summary>A response body passed <c>Invoke:MaxResponseBytes</c>; not an IOException, so the SDK does not read it as a dropped stream to resume.</summary>
    private sealed class ResponseTooLargeException() : Exception("The MCP server's response is larger than the limit.");

    /// <summary>Cuts every response body (a JSON answer or a call's SSE stream) off at <c>maxBytes</c>.</summary>
    private sealed class ResponseLimit(int maxBytes) : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
        {
            var response = await base.SendAsync(request, ct);
            if (response.Content.Headers.ContentLength > maxBytes) throw new ResponseTooLargeException();
            var limited = new StreamContent(new LimitedStream(await response.Content.ReadAsStreamAsync(ct), maxBytes));
            foreach (var header in response.Content.Headers) limited.Headers.TryAddWithoutValidation(header.Key, header.Value);
            response.Content = limited;
            return response;
        }
    }

    private sealed class LimitedStream(Stream inner, long maxBytes) : Stream
    {
        private long _read;

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default) =>
            Count(await inner.ReadAsync(buffer, ct));

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken ct) =>
            ReadAsync(buffer.AsMemory(offset, count), ct).AsTask();

        public override int Read(byte[] buffer, int offset, int count) => Count(inner.Read(buffer, offset, count));

        private int Count(int n)
        {
            _read += n;
            return _read > maxBytes ? throw new ResponseTooLargeException() : n;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing) inner.Dispose();
            base.Dispose(disposing);
        }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => _read; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    /// <summary>
    /// Records the tool's progress as run events without holding up the client's message loop: the newest report waits
    /// while one is being written, and reports in between are dropped (at most one event per 100 ms).
    /// </summary>
    private sealed class ProgressEvents(IDocumentStore store, RunContext run)
    {
        public string Token { get; } = run.RunId.ToString("N");

        /// <summary>Each message the client reads, in the order the server sent them, before the client handles it.</summary>
        public void Observe(JsonRpcMessage message)
        {
            if (message is JsonRpcNotification { Method: NotificationMethods.ProgressNotification, Params: { } parameters }
                && parameters.Deserialize<ProgressNotificationParams>(McpJsonUtilities.DefaultOptions) is { } p && p.ProgressToken.ToString() == Token)
            {
                Report(p.Progress);
            }
        }

        private readonly Lock _lock = new();
        private ProgressNotificationValue? _pending;
        private bool _writing;
        private Task _writer = Task.CompletedTask;

        private void Report(ProgressNotificationValue value)
        {
            lock (_lock)
            {
                _pending = value;
                if (_writing) return;
                _writing = true;
                _writer = Task.Run(WriteAsync);
            }
        }

        public Task FlushAsync()
        {
            lock (_lock) return _writer;
        }

        private async Task WriteAsync()
        {
            while (true)
            {
                ProgressNotificationValue value;
                lock (_lock)
                {
                    if (_pending is null)
                    {
                        _writing = false;
                        return;
                    }
                    (value, _pending) = (_pending, null);
                }
                try
                {
                    await using var session = store.LightweightSession();
                    session.LastModifiedBy = run.Caller.Id.ToString();
                    RunJournal.Append(session, run.RunId, new RunProgressed(run.RunId, value.Progress, value.Total, value.Message));
                    await session.SaveChangesAsync();
                    await Task.Delay(100);
                }
                catch
                {
                    lock (_lock) _writing = false;
                    throw;
                }
            }
        }
    }

    /// <summary>
    /// A failure to reach or hear from the server, with the codes the http kind uses so that retry policy treats them alike.
    /// Null for anything else (a bug, which should surface).
    /// </summary>
    private static RunResult? Failure(Exception e, int seconds, int maxBytes, CancellationToken ct)
    {
        if (ct.IsCancellationRequested) return null;  // the caller went away: not the server's doing
        var chain = new List<Exception>();
        for (var x = e; x is not null; x = x.InnerException) chain.Add(x);
        if (chain.OfType<EgressRefusedException>().FirstOrDefault() is { } refused) return RunResult.Failed("egress_refused", refused.Message);
        if (chain.OfType<ResponseTooLargeException>().Any())
        {
            return RunResult.Failed("response_too_large", $"The MCP server answered more than {maxBytes} bytes.");
        }
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
        if (e is McpHandshakeRefusedException)
        {
            return RunResult.Failed("mcp_protocol_unsupported", "The MCP server completed no handshake with any of the protocol versions "
                + $"2026-07-28, {string.Join(", ", ProtocolVersions.OfType<string>())}: {e.InnerException?.Message}");
        }
        return e is McpException or IOException or JsonException
            ? RunResult.Failed("upstream_error", $"The MCP server failed: {e.Message}")
            : null;
    }
}
