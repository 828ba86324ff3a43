using System.ClientModel;
using System.ClientModel.Primitives;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Marten;
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
        IHttpClientFactory clients, IHttpMessageHandlerFactory handlers, IConfiguration configuration, SecretResolver secrets, CancellationToken ct)
    {
        // The endpoint's key: the caller's secret named by context.apiKeySecret, else the platform's Agents:ApiKey.
        var key = await secrets.ResolveAsync(message.Run.Artifact.Context["apiKeySecret"]?.GetValue<string>() is { } name
            ? new JsonObject { [KeyHeader] = $"{{{{secret:{name}}}}}" }
            : new JsonObject { [KeyHeader] = configuration["Agents:ApiKey"] ?? "" }, message.Run.Caller.Id, ct);
        if (key.Failure is { } failed) return failed;
        return key.Redact(await RunAsync(message.Run, key.Values.Single().Value, store, launcher, bus, clients, handlers, configuration, secrets, ct));
    }

    private const string KeyHeader = "Authorization";

    private static async Task<RunResult> RunAsync(RunContext run, string apiKey, IDocumentStore store, RunLauncher launcher, IMessageBus bus,
        IHttpClientFactory clients, IHttpMessageHandlerFactory handlers, IConfiguration configuration, SecretResolver secrets, CancellationToken ct)
    {
        var context = run.Artifact.Context;
        var endpoint = context["endpoint"]?["url"]?.GetValue<string>() ?? configuration["Agents:Endpoint"];
        if (!Uri.TryCreate(endpoint, UriKind.Absolute, out var baseUrl) || baseUrl.Scheme is not ("http" or "https"))
        {
            return RunResult.Failed("invalid_endpoint", "The agent has no OpenAI-compatible endpoint: set context.endpoint.url or Agents:Endpoint.");
        }
        var tools = await ToolsAsync(store, run, handlers, configuration, secrets, ct);
        if (tools.Problem is { } unavailable) return unavailable;

        var chat = new OpenAI.Chat.ChatClient(context["model"]!.GetValue<string>(), new ApiKeyCredential(apiKey.Length > 0 ? apiKey : "none"), new OpenAIClientOptions
        {
            Endpoint = baseUrl,
            Transport = new HttpClientPipelineTransport(clients.CreateClient(HttpDispatchHandler.Client)),
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

        var maxTurns = context["maxTurns"]?.GetValue<int>() ?? DefaultMaxTurns;
        try
        {
            for (var turn = 1; turn <= maxTurns; turn++)
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
        catch (ClientResultException e)
        {
            return RunResult.Failed("upstream_error", $"The model endpoint answered {e.Status}.", e.Status == 0 ? null : e.Status);
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
        return updates.ToChatResponse();
    }

    /// <summary>Runs the tool artifact the model named, as a child run in sync mode; what the model gets back is its output or error.</summary>
    private static async Task<JsonObject> CallToolAsync(IDocumentStore store, RunLauncher launcher, IMessageBus bus, RunContext run,
        IReadOnlyDictionary<string, Artifact> byName, FunctionCallContent call, CancellationToken ct)
    {
        var arguments = call.Arguments is null ? null : JsonSerializer.SerializeToNode(call.Arguments);
        if (!byName.TryGetValue(call.Name, out var tool))
        {
            var unknown = new JsonObject { ["error"] = $"There is no tool named '{call.Name}'." };
            await AppendAsync(store, run, new RunToolReturned(run.RunId, call.CallId, null, "failed", unknown), ct);
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
            (status, result) = ("refused", new JsonObject { ["error"] = "The tool could not be run for this caller." });
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
