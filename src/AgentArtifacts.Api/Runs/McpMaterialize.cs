using System.Text.Json;
using System.Text.Json.Nodes;
using Marten;
using AgentArtifacts.Api.Artifacts;
using AgentArtifacts.Api.Mcp;

namespace AgentArtifacts.Api.Runs;

public static partial class McpDispatchHandler
{
    public const string ToolType = "application/vnd.agience.tool+json";

    /// <summary>
    /// The op <c>materialize</c> of an MCP server artifact: one tool artifact per tool the server lists, in the workspace the
    /// caller names, ready to commit into a collection. A tool already materialized there (the same server and tool name)
    /// is updated as a draft when the server now describes it differently, and left alone when not; none is duplicated.
    /// Each artifact is created or updated through the REST operations, as the caller, so the workspace's grants, the key's
    /// scopes, the type's schema and the audit apply as they do to any write.
    /// </summary>
    private static async Task<RunResult> MaterializeAsync(RunContext run, Guid workspaceId, JsonObject listed, IQuerySession session,
        RestOperations rest, IServiceScopeFactory scopes, CancellationToken ct)
    {
        var (existing, denied) = await ExistingToolsAsync(run.Artifact.Id, workspaceId, run.Caller, session, ct);
        if (denied is not null) return new RunResult(null, denied);
        await using var scope = scopes.CreateAsyncScope();
        var principal = run.Caller.ToPrincipal();

        var results = new JsonArray();
        foreach (var tool in listed["tools"]!.AsArray().OfType<JsonObject>())
        {
            var name = tool["name"]!.GetValue<string>();
            var wanted = new JsonObject
            {
                ["title"] = Truncate(name, 300),
                ["description"] = tool["description"] is { } d ? Truncate(d.GetValue<string>(), 4000) : null,
                ["context"] = new JsonObject { ["serverId"] = run.Artifact.Id.ToString(), ["toolName"] = name, ["inputSchema"] = tool["inputSchema"]?.DeepClone() },
            };
            var request = existing.TryGetValue(name, out var current)
                ? Update(current, wanted)
                : new RestRequest("createArtifact") { Body = Create(workspaceId, wanted) };
            if (request is null)
            {
                results.Add(new JsonObject { ["name"] = name, ["artifactId"] = current!.Id.ToString(), ["action"] = "unchanged" });
                continue;
            }
            var answer = await rest.SendAsync(request, principal, scope.ServiceProvider, ct);
            if (!answer.Succeeded) return new RunResult(new JsonObject { ["tools"] = results }, answer.Body as JsonObject ?? Status(answer.Status));
            results.Add(new JsonObject { ["name"] = name, ["artifactId"] = answer.Body!["id"]!.DeepClone(), ["action"] = current is null ? "created" : "updated" });
        }
        return new RunResult(new JsonObject { ["workspaceId"] = workspaceId.ToString(), ["tools"] = results }, null);
    }

    private static JsonObject Create(Guid workspaceId, JsonObject wanted)
    {
        var body = wanted.DeepClone().AsObject();
        body["containerId"] = workspaceId.ToString();
        body["contentType"] = ToolType;
        return body;
    }

    /// <summary>The merge patch that brings the artifact to what the server lists now, or null when nothing differs.</summary>
    private static RestRequest? Update(Artifact current, JsonObject wanted)
    {
        var patch = new JsonObject();
        if (current.Title != wanted["title"]!.GetValue<string>()) patch["title"] = wanted["title"]!.DeepClone();
        if (current.Description != wanted["description"]?.GetValue<string>()) patch["description"] = wanted["description"]?.DeepClone();
        if (MergePatch.Diff(current.Context, wanted["context"]) is JsonObject { Count: > 0 } context) patch["context"] = context;
        return patch.Count == 0 ? null : new RestRequest("updateArtifact")
        {
            Route = new Dictionary<string, object?> { ["id"] = current.Id },
            Headers = new Dictionary<string, string> { ["If-Match"] = ETags.For(current.Version), ["Content-Type"] = "application/merge-patch+json" },
            Body = patch,
        };
    }

    /// <summary>
    /// The workspace's tool artifacts of this server, by tool name, from the artifacts themselves (not a listing, which may
    /// lag a run that has just created some), after the caller's right to create in the workspace is checked as REST does.
    /// </summary>
    private static async Task<(Dictionary<string, Artifact> Tools, JsonObject? Problem)> ExistingToolsAsync(Guid serverId, Guid workspaceId,
        Caller caller, IQuerySession session, CancellationToken ct)
    {
        var (_, denied) = await session.AuthorizeAsync(workspaceId, caller, Permission.Create, ct, "workspace");
        if (denied is Microsoft.AspNetCore.Http.HttpResults.ProblemHttpResult { ProblemDetails: var problem })
        {
            return ([], JsonSerializer.SerializeToNode(problem, WolverineHttpSetup.Json)!.AsObject());
        }
        var tools = await session.Query<Artifact>()
            .Where(a => a.ContainerId == workspaceId && a.ContentType == ToolType && a.State != ArtifactState.Archived)
            .ToListAsync(ct);
        return (tools.Where(t => t.Context["serverId"]?.GetValue<string>() == serverId.ToString() && t.Context["toolName"] is not null)
            .GroupBy(t => t.Context["toolName"]!.GetValue<string>(), StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.OrderBy(t => t.Id).First(), StringComparer.Ordinal), null);
    }

    private static JsonObject Status(int status) => new() { ["status"] = status, ["code"] = "operation_failed" };

    private static string Truncate(string text, int max) => text.Length <= max ? text : text[..max];
}
