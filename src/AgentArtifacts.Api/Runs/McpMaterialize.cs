using System.Text.Json.Nodes;
using Marten;
using ModelContextProtocol.Client;
using AgentArtifacts.Api.Artifacts;
using AgentArtifacts.Api.Mcp;

namespace AgentArtifacts.Api.Runs;

public static partial class McpDispatchHandler
{
    public const string ToolType = "application/vnd.agience.tool+json";
    public const string PromptType = "application/vnd.agience.prompt+json";

    /// <summary>
    /// What the op <c>materialize</c> reads from the server: its tools, and its prompts when it offers any. A prompt's
    /// template is the prompt got with each argument set to its own <c>{{name}}</c> placeholder, its messages' text joined;
    /// a server that rewrites argument values, or a prompt of several roles or of images, yields an approximation.
    /// </summary>
    private static async Task<JsonObject> ListForMaterializeAsync(McpClient client, JsonObject tools, CancellationToken timeout)
    {
        var prompts = new JsonArray();
        if (client.ServerCapabilities.Prompts is not null)
        {
            foreach (var prompt in await client.ListPromptsAsync(cancellationToken: timeout))
            {
                var arguments = prompt.ProtocolPrompt.Arguments ?? [];
                var got = await client.GetPromptAsync(prompt.Name, arguments.ToDictionary(a => a.Name, a => (object?)$"{{{{{a.Name}}}}}"), cancellationToken: timeout);
                prompts.Add(new JsonObject
                {
                    ["name"] = prompt.Name,
                    ["title"] = prompt.Title,
                    ["description"] = prompt.Description,
                    ["arguments"] = new JsonArray([.. arguments.Select(a => new JsonObject
                    {
                        ["name"] = a.Name, ["description"] = a.Description, ["required"] = a.Required ?? false,
                    })]),
                    ["template"] = string.Join("\n\n", got.Messages.Select(m => m.Content).OfType<ModelContextProtocol.Protocol.TextContentBlock>().Select(t => t.Text)),
                });
            }
        }
        tools["prompts"] = prompts;
        return tools;
    }

    /// <summary>
    /// The op <c>materialize</c> of an MCP server artifact: one tool artifact per tool the server lists, and one prompt
    /// artifact per prompt, in the workspace the caller names, ready to commit into a collection. One materialized there
    /// before (the same server and name) is updated as a draft when the server now describes it differently, and left
    /// alone when not; none is duplicated. Each artifact is created or updated through the REST operations, as the caller,
    /// so the workspace's grants, the key's scopes, the type's schema and the audit apply as they do to any write.
    /// </summary>
    private static async Task<RunResult> MaterializeAsync(RunContext run, Guid workspaceId, JsonObject listed, IQuerySession session,
        RestOperations rest, IServiceScopeFactory scopes, CancellationToken ct)
    {
        var (existing, denied) = await ExistingAsync(run.Artifact.Id, workspaceId, run.Caller, session, ct);
        if (denied is not null) return NativeDispatchHandler.FromResult(denied);
        await using var scope = scopes.CreateAsyncScope();
        var principal = run.Caller.ToPrincipal();

        var server = run.Artifact.Id.ToString();
        var wanted = listed["tools"]!.AsArray().OfType<JsonObject>().Select(tool => Wanted(ToolType, tool, new JsonObject
        {
            ["serverId"] = server, [NameKey(ToolType)] = tool["name"]!.DeepClone(), ["inputSchema"] = tool["inputSchema"]?.DeepClone(),
        }, content: null)).Concat(listed["prompts"]!.AsArray().OfType<JsonObject>().Select(prompt => Wanted(PromptType, prompt, new JsonObject
        {
            ["serverId"] = server, [NameKey(PromptType)] = prompt["name"]!.DeepClone(), ["arguments"] = prompt["arguments"]!.DeepClone(),
        }, prompt["template"]!.GetValue<string>())));

        var results = new Dictionary<string, JsonArray> { [ToolType] = [], [PromptType] = [] };
        foreach (var (contentType, name, body) in wanted)
        {
            var request = existing.TryGetValue((contentType, name), out var current)
                ? Update(current, body)
                : new RestRequest("createArtifact") { Body = Create(workspaceId, contentType, body) };
            var outcome = new JsonObject { ["name"] = name };
            results[contentType].Add(outcome);
            if (request is null)
            {
                outcome["artifactId"] = current!.Id.ToString();
                outcome["action"] = "unchanged";
                continue;
            }
            var answer = await rest.SendAsync(request, principal, scope.ServiceProvider, ct);
            if (!answer.Succeeded) return new RunResult(null, answer.Body as JsonObject ?? Status(answer.Status));
            outcome["artifactId"] = answer.Body!["id"]!.DeepClone();
            outcome["action"] = current is null ? "created" : "updated";
        }
        return new RunResult(new JsonObject { ["workspaceId"] = workspaceId.ToString(), ["tools"] = results[ToolType], ["prompts"] = results[PromptType] }, null);
    }

    /// <summary>The member of a materialized artifact's context that names its tool or prompt on the server.</summary>
    private static string NameKey(string contentType) => contentType == ToolType ? "toolName" : "promptName";

    private static (string ContentType, string Name, JsonObject Body) Wanted(string contentType, JsonObject listed, JsonObject context, string? content)
    {
        var name = listed["name"]!.GetValue<string>();
        var body = new JsonObject
        {
            ["title"] = Truncate(listed["title"]?.GetValue<string>() ?? name, 300),
            ["description"] = listed["description"] is { } d ? Truncate(d.GetValue<string>(), 4000) : null,
            ["context"] = context,
        };
        if (content is not null) body["content"] = content;
        return (contentType, name, body);
    }

    private static JsonObject Create(Guid workspaceId, string contentType, JsonObject wanted)
    {
        var body = wanted.DeepClone().AsObject();
        body["containerId"] = workspaceId.ToString();
        body["contentType"] = contentType;
        return body;
    }

    /// <summary>The merge patch that brings the artifact to what the server lists now, or null when nothing differs.</summary>
    private static RestRequest? Update(Artifact current, JsonObject wanted)
    {
        var patch = new JsonObject();
        if (current.Title != wanted["title"]!.GetValue<string>()) patch["title"] = wanted["title"]!.DeepClone();
        if (current.Description != wanted["description"]?.GetValue<string>()) patch["description"] = wanted["description"]?.DeepClone();
        if (wanted["content"] is { } content && current.Content != content.GetValue<string>()) patch["content"] = content.DeepClone();
        if (MergePatch.Diff(current.Context, wanted["context"]) is JsonObject { Count: > 0 } context) patch["context"] = context;
        return patch.Count == 0 ? null : new RestRequest("updateArtifact")
        {
            Route = new Dictionary<string, object?> { ["id"] = current.Id },
            Headers = new Dictionary<string, string> { ["If-Match"] = ETags.For(current.Version), ["Content-Type"] = "application/merge-patch+json" },
            Body = patch,
        };
    }

    /// <summary>
    /// The workspace's tool and prompt artifacts of this server, by content type and name, from the artifacts themselves
    /// (not a listing, which may lag a run that has just created some), after the caller's right to create in the workspace
    /// is checked as REST checks it.
    /// </summary>
    private static async Task<(Dictionary<(string, string), Artifact> Existing, IResult? Denied)> ExistingAsync(Guid serverId, Guid workspaceId,
        Caller caller, IQuerySession session, CancellationToken ct)
    {
        var (_, denied) = await session.AuthorizeAsync(workspaceId, caller, Permission.Create, ct, "workspace");
        if (denied is not null) return ([], denied);
        var artifacts = await session.Query<Artifact>()
            .Where(a => a.ContainerId == workspaceId && (a.ContentType == ToolType || a.ContentType == PromptType) && a.State != ArtifactState.Archived)
            .ToListAsync(ct);
        return (artifacts.Where(a => a.Context["serverId"]?.GetValue<string>() == serverId.ToString() && a.Context[NameKey(a.ContentType)] is not null)
            .GroupBy(a => (a.ContentType, a.Context[NameKey(a.ContentType)]!.GetValue<string>()))
            .ToDictionary(g => g.Key, g => g.OrderBy(a => a.Id).First()), null);
    }

    private static JsonObject Status(int status) => new() { ["status"] = status, ["code"] = "operation_failed" };

    private static string Truncate(string text, int max) => text.Length <= max ? text : text[..max];
}
