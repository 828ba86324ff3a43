using Shouldly;
using Xunit;

namespace AgentArtifacts.Api.Tests.Infrastructure;

/// <summary>The contract check on the document the real host serves: it compiles, and it tells a right answer from a wrong one.</summary>
public sealed class ContractLiveTests(ApiFixture fixture) : ApiTest(fixture)
{
    [Fact]
    public async Task the_served_document_accepts_a_real_answer_and_refuses_it_as_another_operations_answer()
    {
        var ada = await Fixture.NewUserAsync();
        using var anonymous = Fixture.Anonymous();
        var contract = ContractDocument.Parse(await anonymous.GetStringAsync("/openapi.json"));

        using var me = await ada.Client.GetAsync("/auth/me");
        var body = await me.Content.ReadAsByteArrayAsync();

        contract.Check("GET", "/auth/me", me, body).ShouldBeEmpty();
        var asWorkspace = contract.Check("GET", $"/workspaces/{Guid.NewGuid()}", me, body);
        asWorkspace.ShouldContain(v => v.Kind == "schema" && v.Operation == "GET /workspaces/{id}" && v.Detail.Contains("required"));
    }

    [Fact]
    public async Task every_client_the_host_hands_out_checks_the_contract()
    {
        var ada = await Fixture.NewUserAsync();
        var anonymous = Fixture.Anonymous();

        foreach (var client in new[] { ada.Client, anonymous, Fixture.Host.NewClient(ada.AccessToken, new HttpClientHandler()) })
            Handlers(client).ShouldContain(h => h is ContractCheckingHandler);
    }

    /// <summary>The handler chain of a client (HttpMessageInvoker keeps it in a private field).</summary>
    private static IEnumerable<HttpMessageHandler> Handlers(HttpClient client)
    {
        var handler = typeof(HttpMessageInvoker).GetField("_handler", System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.NonPublic)!
            .GetValue(client) as HttpMessageHandler;
        for (; handler is not null; handler = (handler as DelegatingHandler)?.InnerHandler) yield return handler;
    }
}
