using System.ComponentModel;
using System.Security.Claims;
using System.Text.Json;
using System.Text.Json.Nodes;
using AgentArtifacts.Api.Runs;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace AgentArtifacts.Api.Mcp.Tools;

/// <summary>MCP tools over runs: invoke an executable artifact, read a run. Each is a translation into the REST operation it names.</summary>
[McpServerToolType]
public static class RunTools
{
    [McpServerTool(Name = "invoke", Title = "Run a tool or agent", ReadOnly = false, Destructive = true, Idempotent = false, OpenWorld = true,
        UseStructuredContent = true, OutputSchemaType = typeof(InvokeAnswer))]
    [Description("Run an executable artifact (an HTTP tool, an MCP tool, an agent) with an input, as its owner configured it. The answer's 'run' "
        + "is the run: one that ends within a short wait has its output there (status 'completed'). A longer run answers with its id and "
        + "status ('pending' or 'running') and 'follow': call get_run with the id until the status is final. A run that needs a person's "
        + "approval answers with status 'awaiting_approval' and 'follow'; it runs once approved. A run whose target failed is an error result naming the "
        + "run's error code and the run id.")]
    [RestOperation("invokeArtifact", "runOperation", "getRun")]
    public static Task<CallToolResult> Invoke(RestOperations rest, RequestContext<CallToolRequestParams> request,
        [Description("The executable artifact's id (a UUID).")] Guid artifactId,
        [Description("What the artifact runs with: an HTTP tool's request body, an MCP tool's arguments (an object), an agent's message "
            + "(a string, or JSON). Checked against the artifact's input schema when it declares one.")] JsonElement? input = null,
        [Description("Another operation the artifact's type declares, instead of 'invoke'.")] string? op = null,
        CancellationToken ct = default)
    {
        var body = new JsonObject { ["input"] = input is { ValueKind: not JsonValueKind.Undefined } given ? JsonNode.Parse(given.GetRawText()) : null };
        var invoke = op is null
            ? new RestRequest("invokeArtifact") { Route = new Dictionary<string, object?> { ["id"] = artifactId }, Body = body }
            : new RestRequest("runOperation") { Route = new Dictionary<string, object?> { ["id"] = artifactId, ["op"] = op }, Body = body };
        return McpRuns.RunAsync(rest, invoke, request.User!, request.Services!, ct);
    }

    [McpServerTool(Name = "get_run", Title = "Read a run", ReadOnly = true, Destructive = false, Idempotent = true, OpenWorld = false,
        UseStructuredContent = true, OutputSchemaType = typeof(RunResponse))]
    [Description("Read one of your runs by id: its status ('pending', 'awaiting_approval', 'running', 'completed', 'failed', 'cancelled', "
        + "'expired'), its output once completed, its error once failed. Use it to follow a run that invoke answered before it ended.")]
    [RestOperation("getRun")]
    public static async Task<CallToolResult> GetRun(RestOperations rest, RequestContext<CallToolRequestParams> request,
        [Description("The run's id (a UUID), as invoke answered it.")] Guid runId,
        CancellationToken ct = default) =>
        McpResults.From(await rest.SendAsync(new RestRequest("getRun") { Route = new Dictionary<string, object?> { ["id"] = runId } },
            request.User!, request.Services!, ct));
}

/// <summary>
/// An invoke through MCP, for the <c>invoke</c> tool and a collection's tools alike. The run is queued (REST's <c>mode: async</c>:
/// the MCP request never streams and never holds a run to its end), then awaited up to <c>Mcp:SyncInvokeSeconds</c> (25 s, well
/// under clients' request timeouts): a run that ended answers with its result, one still under way with its id and where to
/// follow it. The run goes on either way, whatever happens to the MCP request.
/// </summary>
public static class McpRuns
{
    public static async Task<CallToolResult> RunAsync(RestOperations rest, RestRequest invoke, ClaimsPrincipal user, IServiceProvider services,
        CancellationToken ct)
    {
        var body = invoke.Body?.DeepClone().AsObject() ?? [];
        body["mode"] = RunModes.Async;
        var answer = await rest.SendAsync(invoke with { Body = body }, user, services, ct);
        if (!answer.Succeeded || answer.Body is not JsonObject launched) return McpResults.From(answer);

        var runId = launched["id"]!.GetValue<Guid>();
        var wait = TimeSpan.FromSeconds(services.GetRequiredService<IConfiguration>().GetValue("Mcp:SyncInvokeSeconds", 25.0));
        return Answer(await AwaitAsync(rest, runId, launched, wait, user, services, ct));
    }

    /// <summary>
    /// The run (as <c>GET /runs/{id}</c> shows it) once it has ended or waits for a person, else as it stands when the wait is
    /// over. Woken by the run's signals, and looked at again at least every second.
    /// </summary>
    private static async Task<JsonObject> AwaitAsync(RestOperations rest, Guid runId, JsonObject run, TimeSpan wait, ClaimsPrincipal user,
        IServiceProvider services, CancellationToken ct)
    {
        var (signals, clock) = (services.GetRequiredService<RunSignals>(), services.GetRequiredService<TimeProvider>());
        var deadline = clock.GetUtcNow() + wait;
        var read = new RestRequest("getRun") { Route = new Dictionary<string, object?> { ["id"] = runId } };
        while (Underway(run) && clock.GetUtcNow() < deadline)
        {
            var changed = signals.Changed(runId);
            var answer = await rest.SendAsync(read, user, services, ct);
            if (!answer.Succeeded || answer.Body is not JsonObject current) return run;  // the launch answer is what we know
            run = current;
            var left = deadline - clock.GetUtcNow();
            if (!Underway(run) || left <= TimeSpan.Zero) break;
            await Task.WhenAny(changed, Task.Delay(left < TimeSpan.FromSeconds(1) ? left : TimeSpan.FromSeconds(1), clock, ct));
            ct.ThrowIfCancellationRequested();
        }
        return run;
    }

    private static bool Underway(JsonObject run) => run["status"]?.GetValue<string>() is "pending" or "running";

    /// <summary>
    /// Completed: the run. Failed, cancelled or expired: an error result with the run's error code, detail and id. Under way or
    /// awaiting approval: the run and <c>follow</c> (the REST routes, and the get_run tool).
    /// </summary>
    public static CallToolResult Answer(JsonObject run)
    {
        var id = run["id"]!.GetValue<Guid>();
        var status = run["status"]!.GetValue<string>();
        if (status is "failed" or "cancelled" or "expired")
        {
            var problem = run["error"]?.DeepClone() as JsonObject ?? new JsonObject { ["code"] = $"run_{status}", ["detail"] = $"The run {status}." };
            problem["detail"] = $"{problem["detail"]?.GetValue<string>() ?? $"The run {status}."} (run {id}, {status})";
            problem["runId"] = id;
            problem["run"] = run.DeepClone();
            return McpResults.Failure(problem);
        }
        var follow = status == "completed" ? null : new RunFollow($"/runs/{id}", $"/runs/{id}/events", "get_run",
            status == "awaiting_approval"
                ? "The run waits for a person's approval (GET /approvals). Call get_run with its id to see when it has run."
                : "The run goes on. Call get_run with its id until its status is completed, failed, cancelled or expired.");
        return McpResults.Success(new JsonObject
        {
            ["run"] = run,
            ["follow"] = JsonSerializer.SerializeToNode(follow, Infrastructure.WolverineHttpSetup.Json),
        });
    }
}

/// <summary>What invoke answers: the run, and while it has not completed, how to follow it.</summary>
/// <param name="Run">The run (as GET /runs/{id} shows it).</param>
/// <param name="Follow">While the run is pending, running or awaiting approval: where to follow it; null once it completed.</param>
public sealed record InvokeAnswer(RunResponse Run, RunFollow? Follow);

/// <summary>How to follow a run that has not ended.</summary>
/// <param name="Run">Its REST resource: GET it for the run as it stands.</param>
/// <param name="Events">Its events as Server-Sent Events, ending with the run.</param>
/// <param name="Tool">The MCP tool that reads it (with the run's id).</param>
/// <param name="Hint">What to do next, in words.</param>
public sealed record RunFollow(string Run, string Events, string Tool, string Hint);
