using System.Net;
using System.Text.Json.Nodes;
using AgentArtifacts.Api.Tests.Infrastructure;
using Shouldly;
using Xunit;

namespace AgentArtifacts.Api.Tests.Mcp;

/// <summary>
/// Requests to the MCP endpoint a well-behaved client never sends: a foreign web page's, malformed or oversized JSON-RPC, the
/// wrong method or media type. Each gets the protocol's answer (JSON-RPC errors where the transport defines them) and stores nothing.
/// </summary>
public sealed class McpRequestTests(ApiFixture fixture) : ApiTest(fixture)
{
    private const string Ping = """{"jsonrpc":"2.0","id":1,"method":"ping"}""";

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task a_foreign_origin_is_403_with_a_json_rpc_error_credential_or_not(bool withCredential)
    {
        var ada = await Fixture.NewUserAsync();

        var response = await SendAsync(Fixture.Host.Post(Ping, withCredential ? ada.AccessToken : null), r => r.Headers.Add("Origin", "https://evil.example.com"));

        response.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        response.Content.Headers.ContentType!.MediaType.ShouldBe("application/json");
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        body["jsonrpc"]!.GetValue<string>().ShouldBe("2.0");
        body["error"]!["code"]!.GetValue<int>().ShouldBe(-32600);
        body["error"]!["message"]!.GetValue<string>().ShouldContain("Origin");
        body.AsObject().ContainsKey("id").ShouldBeTrue();
        body["id"].ShouldBeNull();
    }

    [Theory]
    [InlineData("null")]
    [InlineData("http://127.0.0.1")]
    [InlineData("https://127.0.0.1:{port}")]
    [InlineData("http://127.0.0.1:{port}/path")]
    public async Task an_origin_that_is_not_exactly_the_services_own_is_403(string origin)
    {
        var ada = await Fixture.NewUserAsync();

        var response = await SendAsync(Fixture.Host.Post(Ping, ada.AccessToken),
            r => r.Headers.TryAddWithoutValidation("Origin", origin.Replace("{port}", Fixture.Host.BaseAddress.Port.ToString())));

        response.StatusCode.ShouldBe(HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task the_services_own_origin_and_no_origin_pass()
    {
        var ada = await Fixture.NewUserAsync();
        var own = Fixture.Host.BaseAddress.GetLeftPart(UriPartial.Authority).ToUpperInvariant().Replace("HTTP://", "http://");

        var same = await SendAsync(Fixture.Host.Post(Ping, ada.AccessToken), r => r.Headers.Add("Origin", own));
        var none = await SendAsync(Fixture.Host.Post(Ping, ada.AccessToken));

        same.StatusCode.ShouldBe(HttpStatusCode.OK, await same.Content.ReadAsStringAsync());
        none.StatusCode.ShouldBe(HttpStatusCode.OK, await none.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task the_origin_rule_is_the_mcp_endpoints_alone()
    {
        var ada = await Fixture.NewUserAsync();
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(Fixture.Host.BaseAddress, "/auth/me"));
        request.Headers.Authorization = new("Bearer", ada.AccessToken);
        request.Headers.Add("Origin", "https://evil.example.com");

        var response = await http.SendAsync(request);

        response.StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public async Task configured_origins_replace_the_default()
    {
        var ada = await Fixture.NewUserAsync();
        await using var host = ServiceHost.Start(Fixture.Database.ConnectionString,
            new Dictionary<string, string?> { ["Mcp:AllowedOrigins:0"] = "https://app.example.com", ["Mcp:AllowedOrigins:1"] = "http://localhost:3000" });
        using var http = new HttpClient();

        async Task<HttpStatusCode> StatusFor(string origin)
        {
            using var request = host.Post(Ping, ada.AccessToken);
            request.Headers.Add("Origin", origin);
            return (await http.SendAsync(request)).StatusCode;
        }

        (await StatusFor("https://app.example.com")).ShouldBe(HttpStatusCode.OK);
        (await StatusFor("http://LOCALHOST:3000")).ShouldBe(HttpStatusCode.OK);
        (await StatusFor("https://evil.example.com")).ShouldBe(HttpStatusCode.Forbidden);
        (await StatusFor(host.BaseAddress.GetLeftPart(UriPartial.Authority))).ShouldBe(HttpStatusCode.Forbidden);
    }

    [Theory]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":""")]
    [InlineData("not json at all")]
    [InlineData("""{"id":1,"method":"ping"}""")]
    public async Task malformed_json_rpc_is_the_transports_json_rpc_400_not_a_problem(string json)
    {
        var ada = await Fixture.NewUserAsync();

        var response = await SendAsync(Fixture.Host.Post(json, ada.AccessToken));

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        response.Content.Headers.ContentType?.MediaType.ShouldNotBe("application/problem+json");
        // Parse error or invalid request: the SDK answers -32600 for both today.
        (await JsonRpcAsync(response))["error"]!["code"]!.GetValue<int>().ShouldBeOneOf(-32700, -32600);
    }

    [Fact]
    public async Task a_body_over_the_limit_is_413()
    {
        var ada = await Fixture.NewUserAsync();
        var huge = """{"jsonrpc":"2.0","id":1,"method":"ping","params":{"_meta":{"pad":"PAD"}}}""".Replace("PAD", new string('x', 1_100_000));

        var response = await SendAsync(Fixture.Host.Post(huge, ada.AccessToken));

        response.StatusCode.ShouldBe(HttpStatusCode.RequestEntityTooLarge);
        (await response.ProblemCode()).ShouldBe("payload_too_large");
    }

    [Fact]
    public async Task without_accepting_both_json_and_an_event_stream_it_is_406()
    {
        var ada = await Fixture.NewUserAsync();

        var response = await SendAsync(Fixture.Host.Post(Ping, ada.AccessToken), r => r.Headers.Accept.Clear());

        response.StatusCode.ShouldBe(HttpStatusCode.NotAcceptable);
        (await JsonRpcAsync(response))["error"]!["code"]!.GetValue<int>().ShouldBe(-32000);
    }

    [Theory]
    [InlineData("GET")]
    [InlineData("DELETE")]
    public async Task get_and_delete_are_405_because_no_session_or_stream_is_kept(string method)
    {
        var ada = await Fixture.NewUserAsync();
        var request = new HttpRequestMessage(new HttpMethod(method), new Uri(Fixture.Host.BaseAddress, "/mcp"));
        request.Headers.Accept.ParseAdd("text/event-stream");
        request.Headers.Authorization = new("Bearer", ada.AccessToken);

        var response = await SendAsync(request);

        response.StatusCode.ShouldBe(HttpStatusCode.MethodNotAllowed);
        response.Content.Headers.Allow.ShouldContain("POST");
    }

    [Fact]
    public async Task an_unknown_method_is_json_rpc_method_not_found()
    {
        var ada = await Fixture.NewUserAsync();

        var response = await SendAsync(Fixture.Host.Post("""{"jsonrpc":"2.0","id":7,"method":"tools/frobnicate","params":{}}""", ada.AccessToken));

        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        var body = await JsonRpcAsync(response);
        body["id"]!.GetValue<int>().ShouldBe(7);
        body["error"]!["code"]!.GetValue<int>().ShouldBe(-32601);
    }

    /// <summary>Sends one request with a plain client and asserts it stored nothing.</summary>
    private async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, Action<HttpRequestMessage>? configure = null)
    {
        configure?.Invoke(request);
        var before = await Fixture.EventCountAsync();
        using var http = new HttpClient();
        var response = await http.SendAsync(request);
        await response.Content.LoadIntoBufferAsync();
        (await Fixture.EventCountAsync()).ShouldBe(before);
        return response;
    }

    /// <summary>The JSON-RPC message of a response, whether sent as JSON or as the one event of an event stream.</summary>
    private static async Task<JsonNode> JsonRpcAsync(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        if (response.Content.Headers.ContentType?.MediaType == "text/event-stream")
        {
            text = text.Split('\n').Last(line => line.StartsWith("data:", StringComparison.Ordinal))["data:".Length..];
        }
        return JsonNode.Parse(text)!;
    }
}
