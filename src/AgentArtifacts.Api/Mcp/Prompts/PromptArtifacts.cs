using System.Text.Json;
using System.Text.Json.Nodes;
using AgentArtifacts.Api.Mcp.Resources;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace AgentArtifacts.Api.Mcp.Prompts;

/// <summary>
/// Prompt artifacts (<c>application/vnd.agience.prompt+json</c>) as MCP prompts: <c>prompts/list</c> lists those the caller
/// may read, <c>prompts/get</c> renders one with the arguments given. Both go through the REST search and read operations
/// (see <see cref="ReadableArtifacts"/>). <see cref="Describe"/> and <see cref="Render"/> take an artifact as REST answers it,
/// so any MCP server that serves prompt artifacts (a collection's too) shows and renders them the same way.
/// </summary>
public static class PromptArtifacts
{
    public const string ContentType = "application/vnd.agience.prompt+json";

    public static IMcpServerBuilder WithArtifactPrompts(this IMcpServerBuilder builder) => builder
        .WithListPromptsHandler(ListAsync)
        .WithGetPromptHandler(GetAsync);

    public static async ValueTask<ListPromptsResult> ListAsync(RequestContext<ListPromptsRequestParams> request, CancellationToken ct)
    {
        var rest = request.Services!.GetRequiredService<RestOperations>();
        var (listed, next) = await ReadableArtifacts.PageAsync(rest, request.User!, request.Services!, [ContentType], request.Params?.Cursor,
            ReadableArtifacts.PageSize, ct);
        var read = await ReadableArtifacts.ReadAllAsync(rest, request.User!, request.Services!, UniqueById(listed), ct);
        return new ListPromptsResult
        {
            Prompts = read.Select(r => Describe(PromptNames.Of(r.Listed.Id, r.Listed.Title), r.Artifact)).ToList(),
            NextCursor = next,
        };
    }

    public static async ValueTask<GetPromptResult> GetAsync(RequestContext<GetPromptRequestParams> request, CancellationToken ct)
    {
        var name = request.Params?.Name ?? "";
        var rest = request.Services!.GetRequiredService<RestOperations>();
        // The name is a function of the artifact alone, so resolving it is finding the listed prompt that has it.
        string? cursor = null;
        do
        {
            var (listed, next) = await ReadableArtifacts.PageAsync(rest, request.User!, request.Services!, [ContentType], cursor,
                SearchPageSize, ct);
            if (listed.FirstOrDefault(a => PromptNames.Of(a.Id, a.Title) == name) is { } found)
            {
                var read = await ReadableArtifacts.ReadAllAsync(rest, request.User!, request.Services!, [found], ct);
                if (read.Count == 1) return Render(read[0].Artifact, request.Params?.Arguments);
                break;
            }
            cursor = next;
        }
        while (cursor is not null);
        throw new McpProtocolException($"Unknown prompt: '{name}'.", McpErrorCode.InvalidParams);
    }

    /// <summary>The prompt as <c>prompts/list</c> shows it: name, title, description and the declared arguments.</summary>
    public static Prompt Describe(string name, JsonObject artifact) => new()
    {
        Name = name,
        Title = artifact["title"]?.GetValue<string>(),
        Description = artifact["description"]?.GetValue<string>(),
        Arguments = PromptTemplate.ArgumentsOf(artifact["context"] as JsonObject)
            .Select(a => new PromptArgument { Name = a.Name, Description = a.Description, Required = a.Required })
            .ToList(),
    };

    /// <summary>
    /// The prompt's template with the arguments filled in, as one user message. A required argument left out is an
    /// InvalidParams protocol error that names it. A value that is not a JSON string is used as its JSON text.
    /// </summary>
    public static GetPromptResult Render(JsonObject artifact, IDictionary<string, JsonElement>? arguments)
    {
        var values = (arguments ?? new Dictionary<string, JsonElement>()).ToDictionary(a => a.Key,
            a => a.Value.ValueKind == JsonValueKind.String ? a.Value.GetString()! : a.Value.GetRawText(), StringComparer.Ordinal);
        var rendered = PromptTemplate.Render(artifact["content"]?.GetValue<string>(), PromptTemplate.ArgumentsOf(artifact["context"] as JsonObject), values);
        if (!rendered.Succeeded)
        {
            throw new McpProtocolException($"Missing required argument '{rendered.MissingArgument}'.", McpErrorCode.InvalidParams);
        }
        return new GetPromptResult
        {
            Description = artifact["description"]?.GetValue<string>(),
            Messages = [new PromptMessage { Role = Role.User, Content = new TextContentBlock { Text = rendered.Text! } }],
        };
    }

    /// <summary>A prompt found in its workspace and in a collection is one prompt (its name is the same): listed once.</summary>
    private static List<ReadableArtifact> UniqueById(IEnumerable<ReadableArtifact> listed) => listed.DistinctBy(a => a.Id).ToList();

    private const int SearchPageSize = 100;
}
