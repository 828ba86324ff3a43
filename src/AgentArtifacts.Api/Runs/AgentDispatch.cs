using System.ClientModel;
using System.ClientModel.Primitives;
using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Marten;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.AI;
using OpenAI;
using Wolverine;
using AgentArtifacts.Api.Artifacts;
using AgentArtifacts.Api.StoredSecrets;

namespace AgentArtifacts.Api.Runs;

/// <summary>Text the model produced, as it streamed: its first text at once, then coalesced over about 100 ms.</summary>
public sealed record RunOutputDelta(Guid RunId, string Text);
/// <summary>The model asked for a tool: the tool artifact runs as a run of its own (<c>ParentRunId</c> = this run).</summary>
public sealed record RunToolCalled(Guid RunId, string CallId, Guid ToolId, string Name, JsonNode? Arguments);
/// <summary>The tool's run ended (or could not start): what went back to the model.</summary>
public sealed record RunToolReturned(Guid RunId, string CallId, Guid? ChildRunId, string Status, JsonNode? Result);

/// <summary>
/// Dispatch kind <c>agent</c>: a tool-calling loop through <see cref="IChatClient"/> against an OpenAI-compatible
/// chat-completions endpoint. The model, instructions, temperature, turn limit and tool artifacts come from the agent's
/// context; each tool call invokes its tool artifact through <see cref="RunLauncher"/>, as the run's caller, so the tool
/// runs with the caller's permissions and is a run of its own linked to this one.
/// </summary>
[DispatchKind("agent")]
public sealed record AgentDispatch(RunContext Run) : IDispatch;

public static partial class AgentDispatchHandler
{
    private const int DefaultMaxTurns = 8;

    public static async Task<RunResult> Handle(AgentDispatch message, IDocumentStore store, RunLauncher launcher, IMessageBus bus,
        IHttpMessageHandlerFactory handlers, IConfiguration configuration, SecretResolver secrets, TimeProvider clock, CancellationToken ct)
    {
        // The endpoint's key: the caller's secret named by context.apiKeySecret, else the platform's Agents:ApiKey.
        var key = await secrets.ResolveAsync(message.Run.Artifact.Context["apiKeySecret"]?.GetValue<string>() is { } name
            ? new JsonObject { [KeyHeader] = $"{{{{secret:{name}}}}}" }
            : new JsonObject { [KeyHeader] = configuration["Agents:ApiKey"] ?? "" }, message.Run.Caller.Id, ct);
        if (key.Failure is { } failed) return failed;
        return key.Redact(await RunAsync(message.Run, key.Values.Single().Value, store, launcher, bus, handlers, configuration, secrets, clock, ct));
    }

    private const string KeyHeader = "Authorization";

    private static async Task<RunResult> RunAsync(RunContext run, string apiKey, IDocumentStore store, RunLauncher launcher, IMessageBus bus,
        IHttpMessageHandlerFactory handlers, IConfiguration configuration, SecretResolver secrets, TimeProvider clock, CancellationToken ct)
    {
        var context = run.Artifact.Context;
        var endpoint = context["endpoint"]?["url"]?.GetValue<string>() ?? configuration["Agents:Endpoint"];
        if (!Uri.TryCreate(endpoint, UriKind.Absolute, out var baseUrl) || baseUrl.Scheme is not ("http" or "https"))
        {
            return RunResult.Failed("invalid_endpoint", "The agent has no OpenAI-compatible endpoint: set context.endpoint.url or Agents:Endpoint.");
        }
        var tools = await ToolsAsync(store, run, handlers, configuration, secrets, ct);
        if (tools.Problem is { } unavailable) return unavailable;

        // The egress handler, behind one that reads an endpoint's single JSON answer as the stream it was asked for. The
        // client's own timeout is off: NetworkTimeout below governs, also beyond HttpClient's default 100 s.
        var http = new HttpClient(new CompletionAsEventStream { InnerHandler = handlers.CreateHandler(HttpDispatchHandler.Client) }, disposeHandler: false)
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };
        var chat = new OpenAI.Chat.ChatClient(context["model"]!.GetValue<string>(), new ApiKeyCredential(apiKey.Length > 0 ? apiKey : "none"), new OpenAIClientOptions
        {
            Endpoint = baseUrl,
            Transport = new HttpClientPipelineTransport(http),
            RetryPolicy = new ClientRetryPolicy(0),  // retries are the run's, per its policy, each one an event
            NetworkTimeout = TimeSpan.FromSeconds(context["timeoutSeconds"]?.GetValue<int>() ?? 120),
        }).AsIChatClient();
        var options = new ChatOptions
        {
            Temperature = context["temperature"]?.GetValue<float>(),
            Tools = [.. tools.Declarations],
        };
        List<ChatMessage> messages =
        [
            new(ChatRole.System, context["instructions"]?.GetValue<string>() ?? ""),
            new(ChatRole.User, run.Input is JsonValue value && value.TryGetValue<string>(out var text) ? text : run.Input?.ToJsonString() ?? ""),
        ];

        // A retried run goes on from the tool calls its earlier attempts completed: their recorded results go back into the
        // conversation, and the tools are not called again.
        var replayed = await ReplayToolCallsAsync(store, run.RunId, messages, ct);

        var maxTurns = context["maxTurns"]?.GetValue<int>() ?? DefaultMaxTurns;
        try
        {
            for (var turn = replayed + 1; turn <= maxTurns; turn++)
            {
                var response = await StreamTurnAsync(store, run, chat, messages, options, ct);
                messages.AddMessages(response);
                var calls = response.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>().ToList();
                if (calls.Count == 0)
                {
                    return new RunResult(new JsonObject { ["text"] = response.Text, ["turns"] = turn }, null);
                }
                foreach (var call in calls)
                {
                    var result = await CallToolAsync(store, launcher, bus, run, tools.ByName, call, ct);
                    messages.Add(new ChatMessage(ChatRole.Tool, [new FunctionResultContent(call.CallId, result.ToJsonString())]));
                }
            }
            return RunResult.Failed("max_turns_exceeded", $"The agent did not finish within {maxTurns} turns.");
        }
        catch (ClientResultException e) when (e.Status != 0)
        {
            // A rate-limited or overloaded model endpoint's Retry-After is honoured as an HTTP tool's is.
            var retryAfter = e.GetRawResponse()?.Headers.TryGetValue("Retry-After", out var header) == true
                && RetryConditionHeaderValue.TryParse(header, out var parsed) ? parsed : null;
            return HttpDispatchHandler.UpstreamError($"The model endpoint answered {e.Status}.", e.Status, retryAfter, clock.GetUtcNow());
        }
        catch (ClientResultException e)
        {
            return RunResult.Failed("upstream_error", $"The model endpoint failed: {e.Message}");
        }
        catch (HttpRequestException e) when (e.InnerException is EgressRefusedException refused)
        {
            return RunResult.Failed("egress_refused", refused.Message);
        }
        catch (HttpRequestException e)
        {
            return RunResult.Failed("upstream_unreachable", $"The model endpoint could not be reached: {e.Message}");
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return RunResult.Failed("upstream_timeout", "The model endpoint did not answer in time.");
        }
        catch (ModelAnswerUnreadable e)
        {
            return RunResult.Failed("upstream_invalid_response", e.Message);
        }
    }

    /// <summary>
    /// Puts the tool calls this run's earlier attempts completed (<see cref="RunToolCalled"/> with its
    /// <see cref="RunToolReturned"/>) back into the conversation, as the model asked for them and as they answered, and returns
    /// how many turns that makes. Calls recorded one after another, with no text of the model between them, are taken as one
    /// turn. A call without a recorded result (the attempt ended while the tool ran) is not replayed: the model asks again.
    /// </summary>
    private static async Task<int> ReplayToolCallsAsync(IDocumentStore store, Guid runId, List<ChatMessage> messages, CancellationToken ct)
    {
        IReadOnlyList<JasperFx.Events.IEvent> events;
        await using (var session = store.QuerySession())
        {
            events = await session.Events.FetchStreamAsync(runId, token: ct);
        }
        var returned = events.Select(e => e.Data).OfType<RunToolReturned>().ToDictionary(r => r.CallId, StringComparer.Ordinal);
        var turns = new List<List<(RunToolCalled Called, RunToolReturned Returned)>>();
        var sameTurn = false;
        foreach (var data in events.Select(e => e.Data))
        {
            if (data is RunToolCalled called && returned.TryGetValue(called.CallId, out var result))
            {
                if (!sameTurn) turns.Add([]);
                turns[^1].Add((called, result));
                sameTurn = true;
            }
            else if (data is not RunToolReturned) sameTurn = false;
        }
        foreach (var turn in turns)
        {
            messages.Add(new ChatMessage(ChatRole.Assistant, [.. turn.Select(c => new FunctionCallContent(c.Called.CallId, c.Called.Name,
                (c.Called.Arguments as JsonObject)?.ToDictionary(a => a.Key, a => (object?)JsonSerializer.SerializeToElement(a.Value))))]));
            messages.AddRange(turn.Select(c => new ChatMessage(ChatRole.Tool,
                [new FunctionResultContent(c.Called.CallId, c.Returned.Result?.ToJsonString() ?? "null")])));
        }
        return turns.Count;
    }

    /// <summary>One model turn, streamed: text deltas become run events as they come; the whole turn is returned.</summary>
    private static async Task<ChatResponse> StreamTurnAsync(IDocumentStore store, RunContext run, IChatClient chat, List<ChatMessage> messages,
        ChatOptions options, CancellationToken ct)
    {
        var updates = new List<ChatResponseUpdate>();
        var pending = new StringBuilder();
        var sinceFlush = Stopwatch.StartNew();
        var first = true;
        await foreach (var update in chat.GetStreamingResponseAsync(messages, options, ct))
        {
            updates.Add(update);
            pending.Append(update.Text);
            // The first text goes out at once (time to first token is what a reader waits for); later text every 100 ms.
            if (pending.Length > 0 && (first || sinceFlush.ElapsedMilliseconds >= 100))
            {
                await AppendAsync(store, run, new RunOutputDelta(run.RunId, pending.ToString()), ct);
                pending.Clear();
                sinceFlush.Restart();
                first = false;
            }
        }
        if (pending.Length > 0) await AppendAsync(store, run, new RunOutputDelta(run.RunId, pending.ToString()), ct);
        // Nothing at all (not even an empty delta) is no answer: said so, rather than completing the run with empty text.
        if (updates.Count == 0) throw new ModelAnswerUnreadable("The model endpoint's answer held no completion.");
        return updates.ToChatResponse();
    }

    /// <summary>Runs the tool artifact the model named, as a child run in sync mode; what the model gets back is its output or error.</summary>
    private static async Task<JsonObject> CallToolAsync(IDocumentStore store, RunLauncher launcher, IMessageBus bus, RunContext run,
        IReadOnlyDictionary<string, Artifact> byName, FunctionCallContent call, CancellationToken ct)
    {
        var arguments = call.Arguments is null ? null : JsonSerializer.SerializeToNode(call.Arguments);
        if (!byName.TryGetValue(call.Name, out var tool))
        {
            var unknown = new JsonObject { ["error"] = RunResult.Failed("tool_call_rejected",
                $"There is no tool named '{call.Name}'; the tools are: {string.Join(", ", byName.Keys)}.").Error };
            await AppendAsync(store, run, new RunToolReturned(run.RunId, call.CallId, null, "rejected", unknown), ct);
            return unknown;
        }
        await AppendAsync(store, run, new RunToolCalled(run.RunId, call.CallId, tool.Id, call.Name, arguments), ct);

        await using var session = store.LightweightSession();
        session.LastModifiedBy = run.Caller.Id.ToString();
        var launch = await launcher.LaunchAsync(new RunRequest(tool.Id, "invoke", arguments, RunModes.Sync, run.RunId), run.Caller, session, bus, ct);
        JsonObject result;
        string status;
        if (launch.Run is not { } child)
        {
            (status, result) = Refusal(launch.Problem);
        }
        else
        {
            status = child.Status.ToString().ToLowerInvariant();
            result = child.Status == RunStatus.Completed
                ? new JsonObject { ["output"] = child.Output?.DeepClone() }
                : new JsonObject { ["error"] = child.Error?.DeepClone() ?? $"The tool's run is {status}." };
        }
        await AppendAsync(store, run, new RunToolReturned(run.RunId, call.CallId, launch.Run?.Id, status, result), ct);
        return result;
    }

    /// <summary>
    /// What the model hears when a tool call could not start: arguments that fail the tool's input schema are
    /// <c>tool_call_rejected</c> with the failing paths, so the model can correct them; anything else (the caller may not run
    /// the tool) is <c>tool_unavailable</c>.
    /// </summary>
    private static (string Status, JsonObject Result) Refusal(IResult? problem)
    {
        if (problem is ProblemHttpResult { ProblemDetails: { Status: 400 } details })
        {
            var rejected = RunResult.Failed("tool_call_rejected", $"The arguments do not match the tool's input schema. {details.Detail}").Error!;
            if (details.Extensions.TryGetValue("errors", out var errors)) rejected["errors"] = JsonSerializer.SerializeToNode(errors);
            return ("rejected", new JsonObject { ["error"] = rejected });
        }
        return ("refused", new JsonObject { ["error"] = RunResult.Failed("tool_unavailable", "The tool could not be run for this caller.").Error });
    }

    private sealed record AgentTools(IReadOnlyList<AITool> Declarations, IReadOnlyDictionary<string, Artifact> ByName, RunResult? Problem);

    /// <summary>
    /// The agent's tool artifacts the caller can read, declared to the model by name, description and input schema: the
    /// artifact's own <c>context.inputSchema</c> when it has one; for an MCP tool, else, the schema and description its
    /// server lists (<see cref="McpDispatchHandler.DescribeAsync"/>); else the artifact's description or title and an
    /// object schema.
    /// </summary>
    private static async Task<AgentTools> ToolsAsync(IDocumentStore store, RunContext run, IHttpMessageHandlerFactory handlers, IConfiguration configuration,
        SecretResolver secrets, CancellationToken ct)
    {
        var ids = (run.Artifact.Context["toolIds"] as JsonArray ?? []).Select(n => Guid.Parse(n!.GetValue<string>())).ToList();
        var byName = new Dictionary<string, Artifact>(StringComparer.Ordinal);
        var declarations = new List<AITool>();
        await using var session = store.QuerySession();
        foreach (var id in ids)
        {
            if (await session.LoadVisibleAsync(id, run.Caller, ct) is not { } tool)
            {
                return new AgentTools([], byName, RunResult.Failed("tool_unavailable", $"The agent's tool {id} does not exist or is not visible to the caller."));
            }
            var name = UniqueName(ToolName(tool), byName);
            byName[name] = tool;
            var listed = await McpDispatchHandler.DescribeAsync(tool, run.Caller, session, handlers, configuration, secrets, ct);
            var schema = tool.Context["inputSchema"] is JsonObject own ? JsonSerializer.SerializeToElement(own)
                : listed?.InputSchema ?? JsonSerializer.SerializeToElement(new JsonObject { ["type"] = "object" });
            declarations.Add(AIFunctionFactory.CreateDeclaration(name, listed?.Description ?? tool.Description ?? tool.Title, schema));
        }
        return new AgentTools(declarations, byName, null);
    }

    /// <summary>A function name the model APIs accept (<c>^[a-zA-Z0-9_-]{1,64}$</c>): the MCP tool name, else the title.</summary>
    private static string ToolName(Artifact tool)
    {
        var name = NotAllowed().Replace(tool.Context["toolName"]?.GetValue<string>() ?? tool.Title, "_").Trim('_');
        return name.Length == 0 ? "tool" : name[..Math.Min(name.Length, 56)];
    }

    private static string UniqueName(string name, Dictionary<string, Artifact> taken)
    {
        var unique = name;
        for (var n = 2; taken.ContainsKey(unique); n++) unique = $"{name}_{n}";
        return unique;
    }

    private static async Task AppendAsync(IDocumentStore store, RunContext run, object @event, CancellationToken ct)
    {
        await using var session = store.LightweightSession();
        session.LastModifiedBy = run.Caller.Id.ToString();
        RunJournal.Append(session, run.RunId, @event);
        await session.SaveChangesAsync(ct);
    }

    [GeneratedRegex("[^a-zA-Z0-9_-]+")]
    private static partial Regex NotAllowed();
}

/// <summary>The model endpoint answered 2xx with something that is neither an event stream nor a chat completion.</summary>
public sealed class ModelAnswerUnreadable(string message) : Exception(message);

/// <summary>
/// Some OpenAI-compatible endpoints ignore <c>stream: true</c> and answer with one <c>chat.completion</c> JSON body. Read as an
/// event stream, that body holds no event and the answer would be lost silently; this handler turns it into the one
/// <c>chat.completion.chunk</c> it amounts to (text, tool calls, finish reason, usage). An event stream and any non-2xx answer
/// pass through untouched; a 2xx answer that is neither is <see cref="ModelAnswerUnreadable"/>.
/// </summary>
public sealed class CompletionAsEventStream : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var response = await base.SendAsync(request, cancellationToken);
        var mediaType = response.Content.Headers.ContentType?.MediaType;
        if (!response.IsSuccessStatusCode || string.Equals(mediaType, "text/event-stream", StringComparison.OrdinalIgnoreCase)) return response;
        using (response)
        {
            if (mediaType?.Contains("json", StringComparison.OrdinalIgnoreCase) != true)
            {
                throw new ModelAnswerUnreadable($"The model endpoint answered {mediaType ?? "a body without a content type"}, neither an event stream nor JSON.");
            }
            JsonObject? completion;
            try
            {
                completion = await JsonNode.ParseAsync(await response.Content.ReadAsStreamAsync(cancellationToken), cancellationToken: cancellationToken) as JsonObject;
            }
            catch (JsonException)
            {
                completion = null;
            }
            if (completion?["choices"] is not JsonArray choices)
            {
                throw new ModelAnswerUnreadable("The model endpoint answered JSON that is not a chat completion.");
            }
            var chunk = new JsonObject
            {
                ["id"] = completion["id"]?.DeepClone(),
                ["object"] = "chat.completion.chunk",
                ["created"] = completion["created"]?.DeepClone(),
                ["model"] = completion["model"]?.DeepClone(),
                ["choices"] = new JsonArray([.. choices.OfType<JsonObject>().Select(Delta)]),
                ["usage"] = completion["usage"]?.DeepClone(),
            };
            var stream = new HttpResponseMessage(response.StatusCode)
            {
                RequestMessage = response.RequestMessage,
                Content = new StringContent($"data: {chunk.ToJsonString()}\n\ndata: [DONE]\n\n", Encoding.UTF8, "text/event-stream"),
            };
            return stream;
        }
    }

    /// <summary>A completion's choice as a chunk's: its message becomes the delta, each tool call with its index.</summary>
    private static JsonObject Delta(JsonObject choice)
    {
        var message = choice["message"] as JsonObject ?? [];
        var delta = new JsonObject { ["role"] = message["role"]?.DeepClone() ?? "assistant", ["content"] = message["content"]?.DeepClone() };
        if (message["tool_calls"] is JsonArray calls)
        {
            delta["tool_calls"] = new JsonArray([.. calls.OfType<JsonObject>().Select((call, index) =>
            {
                var copy = call.DeepClone().AsObject();
                copy["index"] = index;
                return copy;
            })]);
        }
        return new JsonObject { ["index"] = choice["index"]?.DeepClone() ?? 0, ["delta"] = delta, ["finish_reason"] = choice["finish_reason"]?.DeepClone() };
    }
}
