using System.Text.Json.Nodes;
using AgentArtifacts.Api.Grants;
using AgentArtifacts.Api.Tests.Infrastructure;
using Shouldly;

namespace AgentArtifacts.Api.Tests.Mcp;

/// <summary>
/// What the MCP tool tests arrange once per test: Ada's workspace (publishing into her collection) with an artifact committed
/// at revision 1 and drafted again. Its title and content carry words no refusal may leak.
/// </summary>
public sealed record McpWorld(TestUser Owner, Guid Workspace, Guid Collection, Guid Artifact, long Version)
{
    public const string SecretTitle = "Zanzibar plan";
    public const string SecretContent = "quartermaster ledger";

    public static async Task<McpWorld> ArrangeAsync(ApiFixture fixture)
    {
        var ada = await fixture.NewUserAsync();
        var collection = await ada.CollectionAsync();
        var workspace = await ada.WorkspaceAsync(targets: [collection]);
        var id = (await ada.ArtifactAsync(workspace, SecretTitle, content: SecretContent))["id"]!.GetValue<Guid>();
        (await ada.CommitAsync(workspace, "revision 1")).EnsureSuccessStatusCode();
        var patched = await ada.Client.MergePatch($"/artifacts/{id}", new { content = SecretContent + ", a draft again" });
        patched.EnsureSuccessStatusCode();
        await fixture.WaitForProjectionsAsync();
        return new McpWorld(ada, workspace, collection, id, (await patched.Json())["version"]!.GetValue<long>());
    }
}

/// <summary>
/// One tool of <c>/mcp</c> as the matrix and schema tests call it: arguments that succeed for the owner, the permission on
/// Ada's workspace a caller needs (<see cref="Permission.None"/>: any signed-in caller succeeds, seeing only what it may read),
/// and the key action a key's scopes must allow. <paramref name="Expect"/>, when a tool's REST rules need more than that (a commit
/// also needs add on the target collection, which only the owner holds): given the caller and the code the general rule gives
/// (null: success), the code the call must answer.
/// </summary>
public sealed record McpToolCase(string Tool, Func<McpWorld, object> Arguments, Permission Needs, string KeyAction,
    Func<McpCaller, string?, string?>? Expect = null);

/// <summary>A caller in the matrix: its name, what it holds on Ada's workspace, and for keys the actions their scopes allow.</summary>
public sealed record McpCaller(string Name, Permission Held, string[]? KeyActions)
{
    public bool IsOwner => Name.StartsWith("owner", StringComparison.Ordinal);
}

/// <summary>
/// Every tool on <c>/mcp</c>, by name. A tool the owner sees in <c>tools/list</c> without a row here fails
/// <see cref="McpMatrixTests"/>: whoever adds a tool adds its row.
/// </summary>
public static class McpToolTable
{
    public static readonly McpToolCase[] Tools =
    [
        new("get_artifact", w => new { id = w.Artifact }, Permission.Read, "read"),
        new("search", _ => new { query = "zanzibar" }, Permission.None, "search"),
        new("list_containers", _ => new { kind = "workspace" }, Permission.None, "read"),
        new("list_artifacts", w => new { containerId = w.Workspace }, Permission.Read, "read"),
        new("create_artifact", w => new { containerId = w.Workspace, contentType = "text/plain", title = "New" }, Permission.Create, "create"),
        new("update_artifact", w => new { id = w.Artifact, expectedVersion = w.Version, title = "Changed" }, Permission.Update, "write"),
        new("archive_artifact", w => new { id = w.Artifact }, Permission.Delete, "delete"),
    ];

    public static McpToolCase Case(string tool) =>
        Tools.SingleOrDefault(t => t.Tool == tool) ?? throw new ShouldAssertException($"The tool '{tool}' has no row in {nameof(McpToolTable)}.");

    public static JsonObject AsJson(object arguments) => System.Text.Json.JsonSerializer.SerializeToNode(arguments)!.AsObject();
}
