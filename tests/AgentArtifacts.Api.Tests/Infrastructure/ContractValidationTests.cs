using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Shouldly;
using Xunit;

namespace AgentArtifacts.Api.Tests.Infrastructure;

/// <summary>The contract check itself, against a small hand-written document: it must catch each kind of violation.</summary>
public sealed class ContractValidationTests
{
    private const string Document = """
        {
          "openapi": "3.1.1",
          "info": { "title": "t", "version": "1" },
          "paths": {
            "/things": {
              "post": {
                "operationId": "createThing",
                "responses": {
                  "201": {
                    "description": "Created",
                    "headers": {
                      "ETag": { "schema": { "type": "string" } },
                      "Location": { "$ref": "#/components/headers/Location" },
                      "X-RateLimit-Remaining": { "schema": { "type": "integer" } }
                    },
                    "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Thing" } } }
                  },
                  "204": { "description": "Nothing" },
                  "4XX": { "$ref": "#/components/responses/Problem" },
                  "default": { "$ref": "#/components/responses/Problem" }
                }
              }
            },
            "/things/{id}": {
              "get": { "responses": { "200": { "description": "OK", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Thing" } } } } } }
            },
            "/things/batch": {
              "get": { "responses": { "200": { "description": "OK", "content": { "application/json": { "schema": { "type": "array", "items": { "$ref": "#/components/schemas/Thing" } } } } } } }
            },
            "/things/{id}/events": {
              "get": { "responses": { "200": { "description": "Events", "content": { "text/event-stream": { "schema": { "type": "string" } } } } } }
            },
            "/maybe": {
              "get": { "responses": { "200": { "description": "OK", "content": { "application/json": { "schema": {
                "type": "object",
                "properties": { "input": { "oneOf": [{ "type": "null" }, {}] }, "n": { "anyOf": [{ "type": "string" }, { "type": "integer" }] } }
              } } } } } }
            },
            "/untyped": {
              "get": { "responses": { "200": { "description": "OK", "content": { "application/json": { } } } } }
            }
          },
          "components": {
            "schemas": {
              "Thing": {
                "type": "object",
                "required": ["id", "size", "owner"],
                "properties": {
                  "id": { "type": "string" },
                  "size": { "type": "integer" },
                  "owner": { "$ref": "#/components/schemas/Owner" }
                }
              },
              "Owner": { "type": "object", "required": ["name"], "properties": { "name": { "type": "string" } } },
              "Problem": { "type": "object", "required": ["code"], "properties": { "code": { "type": "string" } } }
            },
            "responses": {
              "Problem": { "description": "A problem", "content": { "application/problem+json": { "schema": { "$ref": "#/components/schemas/Problem" } } } }
            },
            "headers": { "Location": { "schema": { "type": "string" } } }
          }
        }
        """;

    private const string Thing = """{ "id": "t1", "size": 3, "owner": { "name": "Ada" } }""";

    private static readonly ContractDocument Contract = ContractDocument.Parse(Document);

    [Fact]
    public void a_response_as_declared_with_its_declared_headers_has_no_violation()
    {
        var response = Response(201, "application/json", Thing, ("ETag", "\"3\""), ("Location", "/things/t1"), ("X-RateLimit-Remaining", "99"));

        Check("POST", "/things", response, Thing).ShouldBeEmpty();
    }

    [Fact]
    public void an_undeclared_status_is_a_violation_naming_the_operation_and_what_is_declared()
    {
        var violation = Check("GET", "/things/t1", Response(409, "application/problem+json", """{"code":"x"}"""), """{"code":"x"}""").ShouldHaveSingleItem();

        violation.Kind.ShouldBe("undeclared-status");
        violation.Operation.ShouldBe("GET /things/{id}");
        violation.Status.ShouldBe(409);
        violation.Detail.ShouldContain("200");
    }

    [Fact]
    public void a_status_range_and_default_declare_the_statuses_they_cover()
    {
        const string problem = """{"code":"too_late"}""";
        Check("POST", "/things", Response(418, "application/problem+json", problem), problem).ShouldBeEmpty();
        Check("POST", "/things", Response(503, "application/problem+json", problem), problem).ShouldBeEmpty();
    }

    [Fact]
    public void a_wrong_type_in_the_body_is_a_schema_violation_at_its_location()
    {
        const string body = """{ "id": "t1", "size": "three", "owner": { "name": "Ada" } }""";

        var violation = Check("GET", "/things/t1", Response(200, "application/json", body), body).ShouldHaveSingleItem();

        violation.Kind.ShouldBe("schema");
        violation.Detail.ShouldContain("/size");
    }

    [Fact]
    public void a_missing_required_field_through_a_nested_ref_is_a_schema_violation()
    {
        const string body = """[{ "id": "t1", "size": 3, "owner": { } }]""";

        var violation = Check("GET", "/things/batch", Response(200, "application/json", body), body).ShouldHaveSingleItem();

        violation.Kind.ShouldBe("schema");
        violation.Detail.ShouldContain("/*/owner");  // the array index is folded, so one fault in many items reads once
        violation.Detail.ShouldContain("name");
    }

    [Fact]
    public void only_the_failures_that_decide_are_reported_not_the_branches_an_anyof_did_not_need()
    {
        Check("GET", "/maybe", Response(200, "application/json", """{ "input": { "a": 1 }, "n": 1 }"""), """{ "input": { "a": 1 }, "n": 1 }""").ShouldBeEmpty();

        // null matches both branches of the oneOf, so it fails; that is the cause, not the anyOf's unused string branch.
        const string body = """{ "input": null, "n": 1 }""";
        var violation = Check("GET", "/maybe", Response(200, "application/json", body), body).ShouldHaveSingleItem();

        violation.Detail.ShouldStartWith("/input oneOf:");
        violation.Detail.ShouldNotContain("/n");
    }

    [Fact]
    public void a_literal_path_segment_wins_over_a_parameter()
    {
        // As an item of /things/{id} this array would be a schema violation; as /things/batch it is right.
        Check("GET", "/things/batch", Response(200, "application/json", $"[{Thing}]"), $"[{Thing}]").ShouldBeEmpty();
    }

    [Fact]
    public void a_header_of_the_service_that_the_response_does_not_declare_is_a_violation()
    {
        const string problem = """{"code":"rate_limited"}""";
        var response = Response(429, "application/problem+json", problem, ("Retry-After", "5"), ("X-RateLimit-Scope", "node"), ("Cache-Control", "no-store"));

        var violations = Check("POST", "/things", response, problem);

        violations.Select(v => (v.Kind, v.Detail.Split(' ')[0])).ShouldBe([("undeclared-header", "Retry-After"), ("undeclared-header", "X-RateLimit-Scope")], ignoreOrder: true);
    }

    [Fact]
    public void a_header_value_that_does_not_fit_its_declared_schema_is_a_violation()
    {
        var response = Response(201, "application/json", Thing, ("X-RateLimit-Remaining", "many"));

        Check("POST", "/things", response, Thing).ShouldHaveSingleItem().Kind.ShouldBe("header-value");
    }

    [Fact]
    public void a_body_of_an_undeclared_media_type_is_a_violation()
    {
        const string problem = """{"code":"x"}""";

        Check("POST", "/things", Response(400, "application/json", problem), problem)
            .ShouldHaveSingleItem().Kind.ShouldBe("undeclared-content-type");
    }

    [Fact]
    public void a_body_where_none_is_declared_and_no_body_where_one_is_are_violations()
    {
        Check("POST", "/things", Response(204, "application/json", Thing), Thing).ShouldHaveSingleItem().Kind.ShouldBe("undeclared-body");
        Check("POST", "/things", Response(201, null, ""), "").ShouldHaveSingleItem().Kind.ShouldBe("missing-body");
        Check("POST", "/things", Response(204, null, ""), "").ShouldBeEmpty();
    }

    [Fact]
    public void a_json_body_whose_media_type_declares_no_schema_is_a_violation()
    {
        Check("GET", "/untyped", Response(200, "application/json", "{}"), "{}").ShouldHaveSingleItem().Kind.ShouldBe("no-schema");
    }

    [Fact]
    public void an_event_stream_is_checked_for_status_and_content_type_only()
    {
        Contract.Check("GET", "/things/t1/events", Response(200, "text/event-stream", "", ("X-RateLimit-Scope", "node")), body: null).ShouldBeEmpty();
        Contract.Check("GET", "/things/t1/events", Response(200, "application/json", ""), body: null)
            .ShouldHaveSingleItem().Kind.ShouldBe("undeclared-content-type");
    }

    [Fact]
    public void unknown_routes_answered_404_405_or_a_bare_400_are_the_framework_s_but_any_other_answer_is_undocumented()
    {
        Check("GET", "/nowhere", Response(404, null, ""), "").ShouldBeEmpty();
        Check("DELETE", "/things", Response(405, null, ""), "").ShouldBeEmpty();
        Check("POST", "/things\0", Response(400, null, ""), "").ShouldBeEmpty();  // the web server's bare 400, before routing
        Check("GET", "/nowhere", Response(200, "application/json", "{}"), "{}").ShouldHaveSingleItem().Kind.ShouldBe("undocumented-operation");
        Check("GET", "/nowhere", Response(400, "application/problem+json", """{"code":"x"}"""), """{"code":"x"}""")
            .ShouldHaveSingleItem().Kind.ShouldBe("undocumented-operation");
    }

    [Fact]
    public async Task in_fail_mode_the_handler_fails_the_call_naming_operation_status_and_violation()
    {
        var service = new Uri("http://127.0.0.1:5999/");
        const string body = """{ "id": "t1", "size": 3 }""";
        using var client = new HttpClient(new ContractCheckingHandler(service, _ => Task.FromResult<ContractDocument?>(Contract), ContractMode.Fail)
        {
            InnerHandler = new Answer(() => Response(200, "application/json", body)),
        }) { BaseAddress = service };

        var failure = await Should.ThrowAsync<ContractViolationException>(() => client.GetAsync("/things/t1"));

        failure.Message.ShouldContain("GET /things/{id} answered 200: schema:");
        failure.Message.ShouldContain("owner");
    }

    [Fact]
    public async Task the_handler_checks_only_the_service_and_not_its_documentation_or_other_hosts()
    {
        var service = new Uri("http://127.0.0.1:5999/");
        using var client = new HttpClient(new ContractCheckingHandler(service, _ => Task.FromResult<ContractDocument?>(Contract), ContractMode.Fail)
        {
            InnerHandler = new Answer(() => Response(200, "text/html", "<html/>")),
        }) { BaseAddress = service };

        (await client.GetAsync("/docs")).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await client.GetAsync("http://127.0.0.1:6001/things/t1")).StatusCode.ShouldBe(HttpStatusCode.OK);
        await Should.ThrowAsync<ContractViolationException>(() => client.GetAsync("/things/t1"));
    }

    private static IReadOnlyList<ContractViolation> Check(string method, string path, HttpResponseMessage response, string body) =>
        Contract.Check(method, path, response, Encoding.UTF8.GetBytes(body));

    private static HttpResponseMessage Response(int status, string? mediaType, string body, params (string Name, string Value)[] headers)
    {
        var response = new HttpResponseMessage((HttpStatusCode)status) { Content = new StringContent(body) };
        response.Content.Headers.ContentType = mediaType is null ? null : new MediaTypeHeaderValue(mediaType);
        foreach (var (name, value) in headers) response.Headers.TryAddWithoutValidation(name, value);
        return response;
    }

    private sealed class Answer(Func<HttpResponseMessage> answer) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var response = answer();
            response.RequestMessage = request;
            return Task.FromResult(response);
        }
    }
}
