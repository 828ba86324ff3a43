using AgentArtifacts.Api.Grants;
using AgentArtifacts.Api.Tests.ApiKeys;
using AgentArtifacts.Api.Tests.Infrastructure;
using Shouldly;
using Xunit;

namespace AgentArtifacts.Api.Tests.Mcp;

/// <summary>
/// Every tool of <c>/mcp</c> (as the owner's <c>tools/list</c> shows them) × every kind of caller: whether the tool is listed,
/// and what a call answers (success, or the isError code the REST rules give), with nothing appended on a refusal and none
/// of the owner's private words in any answer a caller who may not read them gets.
/// </summary>
public sealed class McpMatrixTests(ApiFixture fixture) : ApiTest(fixture)
{
    /// <summary>Who calls: what they hold on Ada's workspace, and for keys (Ada's own) the actions their scopes allow on every content type.</summary>
    private static readonly (string Name, string? Role, string[]? KeyActions)[] Principals =
    [
        ("owner", null, null), ("viewer", "viewer", null), ("stranger", null, null),
        ("owner's read-only key", null, ["read"]), ("owner's create-only key", null, ["create"]),
    ];

    public static IEnumerable<object[]> Cases() =>
        from tool in McpToolTable.Tools from principal in Principals select new object[] { tool.Tool, principal.Name };

    public static IEnumerable<object[]> PrincipalNames() => Principals.Select(p => new object[] { p.Name });

    [Fact]
    public async Task every_tool_the_owner_sees_has_a_row_in_the_table()
    {
        var owner = await Fixture.NewUserAsync();
        await using var client = await Fixture.Host.ClientAsync(owner.AccessToken);

        var listed = (await client.ListToolsAsync()).Select(t => t.Name).ToList();

        listed.ShouldBeSubsetOf(McpToolTable.Tools.Select(t => t.Tool), "a tool without a row in McpToolTable is not covered by the matrix");
        McpToolTable.Tools.Select(t => t.Tool).ShouldBeSubsetOf(listed);
    }

    [Theory]
    [MemberData(nameof(PrincipalNames))]
    public async Task each_caller_is_listed_exactly_the_tools_its_credential_may_call(string principalName)
    {
        var world = await McpWorld.ArrangeAsync(Fixture);
        var (bearer, keyActions) = await CallerAsync(principalName, world);
        await using var client = await Fixture.Host.ClientAsync(bearer);

        var listed = (await client.ListToolsAsync()).Select(t => t.Name).Order().ToList();

        listed.ShouldBe(McpToolTable.Tools.Where(t => keyActions is null || keyActions.Contains(t.KeyAction)).Select(t => t.Tool).Order().ToList());
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task each_caller_gets_exactly_the_answer_the_rules_give(string toolName, string principalName)
    {
        var tool = McpToolTable.Case(toolName);
        var world = await McpWorld.ArrangeAsync(Fixture);
        var principal = Principals.Single(p => p.Name == principalName);
        var (bearer, keyActions) = await CallerAsync(principalName, world);
        await using var client = await Fixture.Host.ClientAsync(bearer);
        // A key acts as its owner narrowed to its scopes: without read, it sees nothing, so it cannot act on anything either.
        var held = keyActions is not null && !keyActions.Contains("read") ? Permission.None
            : principal.Name.StartsWith("owner", StringComparison.Ordinal) ? Access.All
            : principal.Role is { } role ? Access.Roles[role] : Permission.None;
        var general = keyActions is not null && !keyActions.Contains(tool.KeyAction) ? "insufficient_scope"
            : tool.Needs == Permission.None ? null
            : !held.HasFlag(Permission.Read) ? "not_found"
            : !Access.Covers(held, tool.Needs) ? "permission_denied"
            : null;
        var expected = tool.Expect is { } expect ? expect(new McpCaller(principalName, held, keyActions), general) : general;
        var before = await Fixture.EventCountAsync();

        var result = await client.CallAsync(tool.Tool, tool.Arguments(world));

        if (expected is null) result.Ok();
        else
        {
            result.Refused(expected);
            (await Fixture.EventCountAsync()).ShouldBe(before, $"{principalName} → {toolName} was refused but appended events");
        }
        if (!held.HasFlag(Permission.Read))
        {
            result.Text().ShouldNotContain(McpWorld.SecretTitle, Case.Insensitive);
            result.Text().ShouldNotContain(McpWorld.SecretContent, Case.Insensitive);
        }
    }

    /// <summary>The bearer a principal calls with (Ada's token, a new user's with their grant, or a key of Ada's) and its key actions.</summary>
    private async Task<(string Bearer, string[]? KeyActions)> CallerAsync(string name, McpWorld world)
    {
        var principal = Principals.Single(p => p.Name == name);
        if (name == "owner") return (world.Owner.AccessToken, null);
        if (principal.KeyActions is { } actions)
        {
            return ((await world.Owner.KeyAsync(actions.Select(a => $"resource:*/*:{a}").ToArray())).Secret, actions);
        }
        var user = await Fixture.NewUserAsync();
        if (principal.Role is { } role) (await world.Owner.GrantAsync(world.Workspace, user.Id, role: role)).EnsureSuccessStatusCode();
        return (user.AccessToken, null);
    }
}
