using System.Net;
using System.Text.Json;
using AgentArtifacts.Api.Infrastructure;
using AgentArtifacts.Api.Tests.Infrastructure;
using AgentArtifacts.Api.Tests.Mcp;
using Shouldly;
using Xunit;

namespace AgentArtifacts.Api.Tests.Audit;

/// <summary>The README's MCP example: a prompt created through REST is listed by prompts/list sent with the creation's token, no sleep.</summary>
public sealed class McpConsistencyTokenTests() : IsolatedHostTest(new Dictionary<string, string?>
{
    // No daemon until the test starts one: without the wait the list could only be empty.
    ["Marten:DaemonMode"] = "Disabled",
    ["Consistency:MaxWaitMs"] = "10000",
})
{
    [Fact]
    public async Task prompts_list_with_the_token_of_the_prompts_creation_waits_for_the_search_index_and_lists_it()
    {
        var token = await RegisterAdaAsync(Host);
        using var ada = Host.NewClient(token);
        var workspace = (await (await ada.PostJson("/workspaces", new { title = "Prompts" })).Json())["id"]!.GetValue<Guid>();
        var created = await ada.PostJson("/artifacts", new
        {
            containerId = workspace, contentType = "application/vnd.agience.prompt+json", title = "Summarize", content = "Summarize {{topic}}.",
            context = new { arguments = new[] { new { name = "topic", required = true } } },
        });
        created.StatusCode.ShouldBe(HttpStatusCode.Created);
        using var http = new HttpClient();
        var request = Host.Post("""{"jsonrpc":"2.0","id":1,"method":"prompts/list"}""", token);
        request.Headers.TryAddWithoutValidation(ConsistencyToken.Header, created.Headers.GetValues(ConsistencyToken.Header).Single());

        var listing = http.SendAsync(request);
        await Task.Delay(500);
        listing.IsCompleted.ShouldBeFalse("the search index has not seen the prompt, so the request must wait");
        using var daemon = await Host.Store.BuildProjectionDaemonAsync();
        await daemon.StartAllAsync();
        var response = await listing;

        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        var data = (await response.Content.ReadAsStringAsync()).Split('\n').Single(l => l.StartsWith("data: ", StringComparison.Ordinal))["data: ".Length..];
        JsonDocument.Parse(data).RootElement.GetProperty("result").GetProperty("prompts").EnumerateArray()
            .Select(p => p.GetProperty("title").GetString()).ShouldBe(["Summarize"]);
    }
}
