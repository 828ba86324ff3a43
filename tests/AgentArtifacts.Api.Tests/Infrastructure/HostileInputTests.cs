using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Npgsql;
using Shouldly;
using Xunit;
using Xunit.Abstractions;

namespace AgentArtifacts.Api.Tests.Infrastructure;

/// <summary>
/// The class test for hostile input: every operation of the service's own OpenAPI document (so a new route is covered
/// without anyone listing it) gets malformed JSON, wrong types per field of its request schema, nulls, NUL and other
/// control characters, invalid Unicode and invalid UTF-8 bytes, huge bodies, deep nesting, duplicate members, bad ids,
/// bad cursors and wrong media types, as a user who owns real resources of every kind. Each answer must be below 500,
/// each refusal a problem+json with a <c>code</c> and no internals, and nothing may change: the event store after every
/// request, every table of the schema after every operation. Values are fixed, not random, so a failure reproduces.
/// </summary>
public sealed partial class HostileInputTests(ApiFixture fixture, ITestOutputHelper output) : ApiTest(fixture)
{
    /// <summary>
    /// Tables left out of the before/after comparison. Wolverine's node, agent and envelope tables change on the nodes'
    /// own timers (heartbeats, leader election, durability polling), not because of a request. The async daemon's
    /// progression moves by itself while it catches up with events appended before; a new event shows in mt_events.
    /// </summary>
    private static bool ComparedTable(string table) =>
        !table.StartsWith("wolverine_", StringComparison.Ordinal) && table != "mt_event_progression";

    [Fact]
    public async Task every_documented_operation_refuses_hostile_input_without_a_5xx_and_changes_nothing()
    {
        var world = await World.ArrangeAsync(Fixture);
        using var anonymous = Fixture.Anonymous();
        var document = JsonNode.Parse(await anonymous.GetStringAsync("/openapi.json"))!.AsObject();
        var operations = Operations(document).ToList();
        operations.Count.ShouldBeGreaterThan(50, "the OpenAPI document lists the service's routes");

        var failures = new List<string>();
        using var client = Fixture.Host.NewClient(world.Ada.AccessToken);
        client.Timeout = TimeSpan.FromSeconds(30);
        var requests = 0;
        foreach (var operation in operations)
        {
            await Fixture.WaitForProjectionsAsync();
            var before = await TablesAsync();
            foreach (var hostile in HostileRequests(operation, document, world))
            {
                requests++;
                var key = $"{operation.Method} {operation.Path} :: {hostile.Case}";
                var eventsBefore = await EventsAsync();
                var problem = await SendAsync(client, operation, hostile);
                if (problem is null && await EventsAsync() != eventsBefore) problem = "appended events";
                if (problem is not null) failures.Add($"{key}: {problem}");
            }
            await Fixture.WaitForProjectionsAsync();
            var after = await TablesAsync();
            // Marten creates a document table on its first use: a table that appears empty is no change.
            var changed = after.Where(t => before.GetValueOrDefault(t.Key, "") != t.Value).Select(t => t.Key).ToList();
            if (changed.Count > 0) failures.Add($"{operation.Method} {operation.Path}: hostile requests changed {string.Join(", ", changed)}");
        }

        output.WriteLine($"{requests} hostile requests over {operations.Count} operations");
        foreach (var failure in failures) output.WriteLine(failure);
        failures.ShouldBeEmpty();
    }

    private sealed record Operation(string Method, string Path, JsonObject Spec)
    {
        public bool Safe => Method is "GET" or "HEAD";
        public bool IsTokenEndpoint => Path == "/auth/token";
    }

    /// <summary>One hostile request: its name, its path (ids filled in), an optional body, and whether it must be refused.</summary>
    private sealed record Hostile(string Case, string Url, byte[]? Body = null, string? MediaType = null, bool MustRefuse = true);

    private static IEnumerable<Operation> Operations(JsonObject document)
    {
        foreach (var (path, item) in document["paths"]!.AsObject())
        {
            foreach (var (method, spec) in item!.AsObject())
            {
                if (method is "get" or "post" or "put" or "patch" or "delete") yield return new(method.ToUpperInvariant(), path, spec!.AsObject());
            }
        }
    }

    // ---- generating the hostile requests ----

    private static readonly string[] BadIds =
    [
        "not-an-id", "00000000-0000-0000-0000-000000000000", "%01", "%C3%28", "%ED%A0%80", "%E2%80%AE", new string('9', 3000),
        "..%2F..%2Fhealth%2Flive", "'%20or%201=1--",
    ];

    private static readonly (string Name, string Value, bool Refuse)[] BadQueryValues =
    [
        ("nul", "%00", true), ("control", "a%01b", true), ("del", "a%7Fb", true), ("c1", "a%C2%85b", true),
        ("invalid-utf8", "%FF%FE", false), ("lone-surrogate-utf8", "%ED%A0%80", false), ("huge", new string('x', 6000), false),
        ("negative", "-1", false), ("zero", "0", false), ("overflow", "99999999999999999999", false), ("fraction", "1.5", false),
        ("word", "abc", false), ("empty", "", false), ("bad-cursor", "bm90LWEtY3Vyc29y", false), ("json-cursor", "eyJhIjoxfQ", false),
        ("sql", "'%20or%201=1--", false),
    ];

    private IEnumerable<Hostile> HostileRequests(Operation operation, JsonObject document, World world)
    {
        var url = world.Fill(operation.Path);
        var body = RequestBody(operation, document);

        // Bad ids in each path parameter, with a plain body where the operation takes one.
        foreach (var parameter in Parameters(operation, "path"))
        {
            foreach (var bad in BadIds)
            {
                var badUrl = world.Fill(operation.Path.Replace("{" + parameter + "}", bad));
                yield return body is null
                    ? new Hostile($"path {parameter}={Short(bad)}", badUrl, MustRefuse: !operation.Safe)
                    : new Hostile($"path {parameter}={Short(bad)}", badUrl, Json(body.Value.Base), body.Value.MediaType, MustRefuse: true);
            }
        }

        // Bad values of each documented query parameter (on reads; a refusal must be a problem, and control characters must be refused).
        if (operation.Safe)
        {
            foreach (var parameter in Parameters(operation, "query"))
            {
                var schema = Resolve(document, QuerySchema(operation, parameter));
                foreach (var (name, value, refuse) in BadQueryValues)
                {
                    yield return new Hostile($"query {parameter}={name}", $"{url}?{parameter}={value}", MustRefuse: refuse);
                }
                if (schema?["enum"] is JsonArray)
                {
                    // Enum values are names: a number is refused, as in JSON bodies.
                    yield return new Hostile($"query {parameter}=number", $"{url}?{parameter}=1", MustRefuse: true);
                    yield return new Hostile($"query {parameter}=unknown", $"{url}?{parameter}=no_such_value", MustRefuse: true);
                }
            }
            yield return new Hostile("query name with control", $"{url}?a%01b=1", MustRefuse: true);
        }

        if (body is null) yield break;
        var (baseBody, mediaType, properties) = body.Value;
        if (operation.IsTokenEndpoint)
        {
            foreach (var hostile in FormCases(url)) yield return hostile;
            yield break;
        }

        // The whole body.
        var first = properties.Keys.FirstOrDefault() ?? "title";
        foreach (var (name, text) in new[]
                 {
                     ("unterminated", "{"), ("trailing comma", "{\"a\":1,}"), ("single quotes", "{'a':1}"), ("unterminated array", "[1,2"),
                     ("bare word", "nul"), ("null", "null"), ("number", "5"), ("string", "\"s\""), ("true", "true"), ("empty array", "[]"),
                     ("array of null", "[null]"), ("two documents", "{} {}"), ("comment", "/* c */ {}"),
                     ("deep arrays", new string('[', 5000) + new string(']', 5000)),
                     ("deep objects", string.Concat(Enumerable.Repeat("{\"a\":", 2000)) + "1" + new string('}', 2000)),
                     ("NUL member name", "{\"\\u0000\":1}"), ("control member name", "{\"a\\nb\":1}"),
                     ("unknown member", "{\"noSuchField\":1}"),
                 })
        {
            yield return new Hostile($"body {name}", url, Encoding.UTF8.GetBytes(text), mediaType);
        }
        yield return new Hostile("body duplicate member", url, Encoding.UTF8.GetBytes($"{{\"{first}\":\"x\",\"{first}\":\"y\"}}"), mediaType);
        yield return new Hostile("body huge", url, Encoding.UTF8.GetBytes($"{{\"{first}\":\"{new string('x', 1_200_000)}\"}}"), mediaType);
        yield return new Hostile("body empty", url, [], mediaType);

        // Wrong media types for a body that is otherwise plain.
        foreach (var wrong in new[] { "text/plain", "application/xml", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "" })
        {
            yield return new Hostile($"media type '{wrong}'", url, Json(baseBody), wrong);
        }

        // Each field of the request schema, replaced by values of the wrong type and by hostile strings.
        foreach (var (property, schema) in properties)
        {
            foreach (var (name, raw) in WrongValues(document, schema))
            {
                // In a merge-patch (RFC 7396) null removes a member: it is a valid value of every field.
                if (name == "null" && mediaType == "application/merge-patch+json") continue;
                yield return new Hostile($"field {property}={name}", url, WithRaw(baseBody, property, raw), mediaType);
            }
            // Paging fields in a body (a search) get what a client might make up.
            var made = property.ToLowerInvariant() switch
            {
                "cursor" => new[] { "\"bm90LWEtY3Vyc29y\"", "\"eyJhIjoxfQ\"", "\"!!\"" },
                "limit" => ["-1", "0", "100000"],
                _ => [],
            };
            foreach (var value in made) yield return new Hostile($"field {property}={value}", url, WithRaw(baseBody, property, Encoding.UTF8.GetBytes(value)), mediaType);
        }
    }

    private static IEnumerable<Hostile> FormCases(string url)
    {
        static byte[] Form(string text) => Encoding.ASCII.GetBytes(text);
        const string form = "application/x-www-form-urlencoded";
        yield return new Hostile("form NUL in username", url, Form("grant_type=password&username=a%00b%40example.com&password=x"), form);
        yield return new Hostile("form control in password", url, Form("grant_type=password&username=a%40example.com&password=a%01b"), form);
        yield return new Hostile("form NUL in field name", url, Form("grant_type=password&user%00name=a&password=x"), form);
        yield return new Hostile("form invalid utf8", url, Form("grant_type=password&username=%FF%FE&password=x"), form);
        yield return new Hostile("form repeated field", url, Form("grant_type=password&grant_type=refresh_token&username=a&password=x"), form);
        yield return new Hostile("form unknown grant", url, Form("grant_type=%E2%80%AE&username=a&password=x"), form);
        yield return new Hostile("form refresh token garbage", url, Form("grant_type=refresh_token&refresh_token=" + new string('A', 5000)), form);
        yield return new Hostile("form huge", url, Form("grant_type=password&username=" + new string('a', 1_200_000)), form);
        yield return new Hostile("form as JSON", url, Encoding.UTF8.GetBytes("{\"grant_type\":\"password\"}"), "application/json");
        yield return new Hostile("form no media type", url, Form("grant_type=password&username=a&password=x"), "");
    }

    /// <summary>Raw JSON texts (or bytes) that are not valid for the schema, named.</summary>
    private static IEnumerable<(string Name, byte[] Raw)> WrongValues(JsonObject document, JsonNode? schema)
    {
        static byte[] T(string text) => Encoding.UTF8.GetBytes(text);
        var resolved = Resolve(document, schema);
        var types = Types(resolved);
        // A schema that constrains nothing (at most a description): any JSON value.
        if (resolved is JsonObject anyJson && anyJson.All(member => member.Key == "description"))
        {
            // Any JSON value is valid here (a tool's input): only text no value may hold is hostile.
            foreach (var hostile in HostileStrings()) yield return hostile;
            yield return ("object with NUL value", T("{\"k\":\"\\u0000\"}"));
            yield return ("object with NUL name", T("{\"k\\u0000\":\"v\"}"));
            yield break;
        }
        var nullable = types.Contains("null") || resolved?["oneOf"] is JsonArray;
        if (!nullable && schema is not null) yield return ("null", T("null"));
        if (!types.Contains("string"))
        {
            yield return ("string", T("\"x\""));
        }
        if (!types.Overlaps(["integer", "number"]))
        {
            yield return ("number", T("5"));
        }
        if (types.Overlaps(["integer", "number"]))
        {
            yield return ("fraction", T("1.5"));
            yield return ("huge number", T("1e400"));
            yield return ("number as word", T("\"abc\""));
        }
        if (!types.Contains("boolean")) yield return ("boolean", T("true"));
        if (!types.Contains("array")) yield return ("array", T("[]"));
        if (!types.Contains("object") && resolved?["properties"] is null && resolved?["oneOf"] is null) yield return ("object", T("{}"));
        if (resolved?["enum"] is JsonArray)
        {
            yield return ("enum number", T("99"));
            yield return ("enum number as string", T("\"1\""));
            yield return ("enum unknown", T("\"no_such_value\""));
        }
        if (resolved?["format"]?.GetValue<string>() == "uuid") yield return ("not a uuid", T("\"not-a-uuid\""));
        if (resolved?["format"]?.GetValue<string>() == "date-time") yield return ("not a date", T("\"yesterday\""));
        if (types.Contains("array") && Resolve(document, resolved?["items"]) is { } items)
        {
            yield return ("array of null", T("[null]"));
            var itemTypes = Types(items);
            yield return ("array of wrong type", T(itemTypes.Contains("string") ? "[{}]" : "[\"x\"]"));
            if (itemTypes.Contains("string")) yield return ("array with NUL", T("[\"a\\u0000\"]"));
        }
        if (types.Contains("string") || resolved?["enum"] is JsonArray)
        {
            foreach (var hostile in HostileStrings()) yield return hostile;
        }
        if (types.Contains("object") || resolved?["properties"] is not null || resolved?["oneOf"] is not null)
        {
            yield return ("object with NUL value", T("{\"k\":\"\\u0000\"}"));
            yield return ("object with NUL name", T("{\"k\\u0000\":\"v\"}"));
            yield return ("object with lone surrogate", T("{\"k\":\"\\ud800\"}"));
            yield return ("object nested deep", T(string.Concat(Enumerable.Repeat("{\"k\":", 200)) + "1" + new string('}', 200)));
        }
    }

    /// <summary>Strings no field may hold: control characters, unpaired surrogates, and bytes that are not UTF-8.</summary>
    private static IEnumerable<(string Name, byte[] Raw)> HostileStrings()
    {
        static byte[] T(string text) => Encoding.UTF8.GetBytes(text);
        yield return ("NUL", T("\"a\\u0000b\""));
        yield return ("control", T("\"a\\u0001b\""));
        yield return ("DEL", T("\"a\\u007fb\""));
        yield return ("C1", T("\"a\u0085b\""));
        yield return ("lone high surrogate", T("\"a\\ud800b\""));
        yield return ("lone low surrogate", T("\"\\udc00\""));
        yield return ("invalid utf8", [(byte)'"', 0xFF, 0xFE, (byte)'"']);
        yield return ("overlong utf8", [(byte)'"', 0xC0, 0xAF, (byte)'"']);
        yield return ("utf8 surrogate", [(byte)'"', 0xED, 0xA0, 0x80, (byte)'"']);
        yield return ("truncated utf8", [(byte)'"', 0xE2, 0x82, (byte)'"']);
    }

    private static HashSet<string> Types(JsonNode? schema) => schema?["type"] switch
    {
        JsonArray array => array.Select(t => t!.GetValue<string>()).ToHashSet(),
        JsonValue value => [value.GetValue<string>()],
        _ => schema?["enum"] is JsonArray ? ["string"] : [],
    };

    private static JsonNode? Resolve(JsonObject document, JsonNode? schema)
    {
        if (schema?["$ref"]?.GetValue<string>() is { } reference)
        {
            return document["components"]!["schemas"]![reference.Split('/').Last()];
        }
        if (schema?["oneOf"] is JsonArray oneOf && oneOf.FirstOrDefault(s => s?["$ref"] is not null) is { } referenced) return Resolve(document, referenced);
        return schema;
    }

    private static (JsonObject Base, string MediaType, Dictionary<string, JsonNode?> Properties)? RequestBody(Operation operation, JsonObject document)
    {
        if (operation.Spec["requestBody"]?["content"] is not JsonObject content || content.Count == 0) return null;
        var (mediaType, media) = content.First();
        var schema = Resolve(document, media?["schema"])?.AsObject();
        var properties = (schema?["properties"] as JsonObject)?.ToDictionary(p => p.Key, p => p.Value) ?? [];
        var required = (schema?["required"] as JsonArray)?.Select(r => r!.GetValue<string>()).ToHashSet() ?? [];
        // The plain body holds the required fields that cannot be null, with values of the right type.
        var @base = new JsonObject();
        foreach (var (name, property) in properties)
        {
            var resolved = Resolve(document, property);
            var types = Types(resolved);
            if (required.Contains(name) && !types.Contains("null") && resolved?["oneOf"] is null) @base[name] = Plain(document, resolved);
        }
        return (@base, mediaType, properties);
    }

    private static JsonNode? Plain(JsonObject document, JsonNode? schema)
    {
        var types = Types(schema);
        if (schema?["enum"] is JsonArray values) return values[0]!.DeepClone();
        if (schema?["format"]?.GetValue<string>() == "uuid") return Guid.NewGuid().ToString();
        if (schema?["format"]?.GetValue<string>() == "date-time") return "2030-01-01T00:00:00Z";
        if (types.Contains("integer") || types.Contains("number")) return 1;
        if (types.Contains("boolean")) return true;
        if (types.Contains("string")) return "x";
        if (types.Contains("array")) return new JsonArray();
        var properties = schema?["properties"] as JsonObject;
        var required = (schema?["required"] as JsonArray)?.Select(r => r!.GetValue<string>()).ToHashSet() ?? [];
        var result = new JsonObject();
        foreach (var (name, property) in properties ?? [])
        {
            if (required.Contains(name)) result[name] = Plain(document, Resolve(document, property));
        }
        return result;
    }

    // Shared header parameters ($ref: Idempotency-Key, If-Match, If-None-Match) are not path or query parameters.
    private static IEnumerable<string> Parameters(Operation operation, string where) =>
        (operation.Spec["parameters"] as JsonArray ?? []).Where(p => p!["in"]?.GetValue<string>() == where).Select(p => p!["name"]!.GetValue<string>());

    private static JsonNode? QuerySchema(Operation operation, string name) =>
        (operation.Spec["parameters"] as JsonArray ?? []).First(p => p!["name"]?.GetValue<string>() == name)!["schema"];

    private static byte[] Json(JsonObject body) => Encoding.UTF8.GetBytes(body.ToJsonString());

    /// <summary>The plain body with one member's value replaced by raw JSON text or bytes.</summary>
    private static byte[] WithRaw(JsonObject @base, string property, byte[] raw)
    {
        var body = @base.DeepClone().AsObject();
        body[property] = Placeholder;
        var parts = body.ToJsonString().Split($"\"{Placeholder}\"");
        return [.. Encoding.UTF8.GetBytes(parts[0]), .. raw, .. Encoding.UTF8.GetBytes(parts[1])];
    }

    private const string Placeholder = "__hostile_value__";

    private static string Short(string text) => text.Length <= 24 ? text : text[..12] + $"…({text.Length})";

    // ---- sending and judging ----

    private static async Task<string?> SendAsync(HttpClient client, Operation operation, Hostile hostile)
    {
        using var request = new HttpRequestMessage(new HttpMethod(operation.Method), hostile.Url);
        if (hostile.Body is not null)
        {
            request.Content = new ByteArrayContent(hostile.Body);
            if (hostile.MediaType is { Length: > 0 } mediaType) request.Content.Headers.TryAddWithoutValidation("Content-Type", mediaType);
        }
        HttpResponseMessage response;
        try
        {
            response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return $"no answer ({e.GetType().Name}: {e.Message})";
        }
        using (response)
        {
            var status = (int)response.StatusCode;
            // A 429 would hide what the request itself does: the test's limits must not be reached (or lowered by a request).
            if (status == 429) return "rate limited: the answer says nothing about the input";
            if (status >= 500) return $"{status}: {await Text(response)}";
            if (status < 400) return hostile.MustRefuse ? $"accepted with {status}, expected a refusal" : null;

            var body = await Text(response);
            var contentType = response.Content.Headers.ContentType?.MediaType;
            JsonObject? json;
            try { json = JsonNode.Parse(body) as JsonObject; }
            catch (JsonException) { json = null; }
            if (operation.IsTokenEndpoint && contentType == "application/json")
            {
                // RFC 6749 §5.2: the token endpoint's errors are {error, error_description}.
                if (json?["error"] is null) return $"{status} without an OAuth error: {Short(body)}";
            }
            else
            {
                if (contentType != "application/problem+json") return $"{status} as '{contentType}', not problem+json: {Short(body)}";
                if (json?["code"]?.GetValueKind() != JsonValueKind.String) return $"{status} problem without a code: {Short(body)}";
            }
            if (Internals().Match(body) is { Success: true } leak) return $"{status} names internals ('{leak.Value}'): {Short(body)}";
            return null;
        }
    }

    private static async Task<string> Text(HttpResponseMessage response)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try { return await response.Content.ReadAsStringAsync(cts.Token); }
        catch (OperationCanceledException) { return "(body did not end)"; }
    }

    [GeneratedRegex(@"\b(System|Microsoft|AgentArtifacts|Npgsql|Marten|Wolverine|JasperFx|Weasel|NJsonSchema)\.[A-Z]\w*|\w+Exception\b|\bat \w+\.\w+\(|\.cs:line \d+")]
    private static partial Regex Internals();

    private async Task<(long Count, long Max)> EventsAsync()
    {
        await using var connection = new NpgsqlConnection(Fixture.Database.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("select count(*), coalesce(max(seq_id), 0) from agentartifacts.mt_events", connection);
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return (reader.GetInt64(0), reader.GetInt64(1));
    }

    /// <summary>A hash of every row of every compared table of the schema, by table.</summary>
    private async Task<Dictionary<string, string>> TablesAsync()
    {
        await using var connection = new NpgsqlConnection(Fixture.Database.ConnectionString);
        await connection.OpenAsync();
        var tables = new List<string>();
        await using (var list = new NpgsqlCommand("select table_name from information_schema.tables where table_schema = 'agentartifacts' and table_type = 'BASE TABLE'", connection))
        await using (var reader = await list.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync()) tables.Add(reader.GetString(0));
        }
        var sql = string.Join(" union all ", tables.Where(ComparedTable).Select(t =>
            $"select '{t}', coalesce(md5(string_agg(md5(r::text), '' order by md5(r::text))), '') from agentartifacts.\"{t}\" r"));
        var hashes = new Dictionary<string, string>();
        await using var command = new NpgsqlCommand(sql, connection);
        await using var rows = await command.ExecuteReaderAsync();
        while (await rows.ReadAsync()) hashes[rows.GetString(0)] = rows.GetString(1);
        return hashes;
    }

    /// <summary>Real resources of every kind, owned by Ada (the platform admin), to put in the paths.</summary>
    private sealed record World(TestUser Ada, TestUser Bob, Dictionary<string, string> Ids)
    {
        public static async Task<World> ArrangeAsync(ApiFixture fixture)
        {
            var ada = await fixture.NewUserAsync("Ada");
            var bob = await fixture.NewUserAsync("Bob");
            var collection = await ada.CollectionAsync();
            var workspace = await ada.WorkspaceAsync(targets: [collection]);
            var artifact = (await ada.ArtifactAsync(workspace))["id"]!.GetValue<Guid>();
            var committed = await ada.CommitAsync(workspace, "First");
            committed.StatusCode.ShouldBe(HttpStatusCode.Created, await committed.Content.ReadAsStringAsync());
            var commit = (await committed.Json())["id"]!.ToString();
            (await ada.Client.MergePatch($"/artifacts/{artifact}", new { title = "Edited" })).EnsureSuccessStatusCode();

            // A tool whose runs wait for approval: a run and an approval that stay pending, and nothing is ever called.
            var tool = (await ada.ArtifactAsync(workspace, "Tool", "application/vnd.agience.http-tool+json", content: null,
                context: new { endpoint = new { url = "http://127.0.0.1:9/never" }, requiresApproval = true }))["id"]!.GetValue<Guid>();
            var invoked = await ada.Client.PostJson($"/artifacts/{tool}/invoke", new { input = new { a = 1 } });
            invoked.StatusCode.ShouldBe(HttpStatusCode.Accepted, await invoked.Content.ReadAsStringAsync());
            var run = await invoked.Json();

            var grant = await Created(await ada.GrantAsync(workspace, bob.Id, role: "viewer"), "id");
            var apiKey = await Created(await ada.Client.PostJson("/api-keys", new { name = "Key", scopes = new[] { "resource:*/*:read" } }), "id");
            var secret = await Created(await ada.Client.PostJson("/secrets", new { name = "TOKEN", value = "s3cret-value" }), "id");
            var credential = await Created(await ada.Client.PostJson("/server-credentials", new { name = "Indexer", scopes = new[] { "resource:*/*:read" } }), "clientId");
            return new World(ada, bob, new Dictionary<string, string>
            {
                ["artifacts"] = artifact.ToString(), ["invoke"] = tool.ToString(), ["op"] = tool.ToString(), ["workspaces"] = workspace.ToString(),
                ["collections"] = collection.ToString(), ["commits"] = commit, ["runs"] = run["id"]!.ToString(),
                ["approvals"] = run["approvalId"]!.ToString(), ["grants"] = grant, ["api-keys"] = apiKey, ["secrets"] = secret,
                ["server-credentials"] = credential, ["users"] = bob.Id.ToString(),
            });
        }

        private static async Task<string> Created(HttpResponseMessage response, string field)
        {
            response.StatusCode.ShouldBe(HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
            return (await response.Json())[field]!.ToString();
        }

        /// <summary>
        /// The path with each parameter replaced by a real id of the kind its path names (the segment before it; an
        /// invoke or op route gets the tool); a kind not known here gets the artifact, so a new route still runs.
        /// </summary>
        public string Fill(string template)
        {
            var segments = template.Split('/');
            for (var i = 0; i < segments.Length; i++)
            {
                if (!segments[i].StartsWith('{')) continue;
                var kind = segments[i] == "{op}" ? "op-name"
                    : template.EndsWith("/invoke", StringComparison.Ordinal) || template.Contains("/op/", StringComparison.Ordinal) ? "invoke"
                    : i > 0 ? segments[i - 1] : "";
                segments[i] = kind == "op-name" ? "list_tools" : Ids.GetValueOrDefault(kind, Ids["artifacts"]);
            }
            return string.Join('/', segments);
        }
    }
}
