extern alias JsonEverything;

using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using JsonEverything::Json.Schema;

namespace AgentArtifacts.Api.Tests.Infrastructure;

/// <summary>What the contract check does with a violation: fail the calling test, write it to a file, or nothing.</summary>
public enum ContractMode { Fail, Report, Off }

/// <summary>One way a response differs from what the OpenAPI document declares for its operation.</summary>
/// <param name="Kind">A short stable name of the kind of violation (for grouping a report).</param>
/// <param name="Operation">The method and the document's path template, e.g. <c>POST /artifacts/{id}/invoke</c>.</param>
public sealed record ContractViolation(string Kind, string Operation, int Status, string Detail)
{
    public override string ToString() => $"{Operation} answered {Status}: {Kind}: {Detail}";
}

public sealed class ContractViolationException(string message) : Exception(message);

/// <summary>
/// The service's OpenAPI 3.1 document, parsed once, checking real responses against it: the status is declared for the
/// operation, the body's media type is a declared one (or there is no body when none is declared), a JSON body validates
/// against the declared schema (JSON Schema 2020-12, <c>#/components/schemas</c> refs resolving), and the service's own
/// headers the response carries are declared on that response.
/// </summary>
public sealed partial class ContractDocument
{
    /// <summary>
    /// The headers whose presence must be declared on the response: every non-standard header the service sets, and the
    /// standard ones whose meaning here is part of the contract. (<c>X-Accel-Buffering</c> is set only on event streams,
    /// whose headers are not checked.)
    /// </summary>
    public static readonly IReadOnlyList<string> CheckedHeaders =
    [
        "ETag", "Location", "Idempotent-Replayed", "Retry-After",
        "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "X-RateLimit-Scope",
    ];

    private const string ComponentsId = "https://contract.agentartifacts.test/components";
    private static readonly ConcurrentDictionary<string, ContractDocument> ByText = new();
    private static int _documents;

    private readonly JsonObject _root;
    private readonly List<PathTemplate> _paths;
    private readonly BuildOptions _build;
    private readonly string _idPrefix;
    private readonly ConcurrentDictionary<string, JsonSchema> _schemas = new();
    private readonly Lock _building = new();
    private int _built;

    /// <summary>The parsed document for this text; hosts serving the same document share one (parsed and compiled once).</summary>
    public static ContractDocument Parse(string json) =>
        ByText.GetOrAdd(Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(json))), _ => new ContractDocument(json));

    private ContractDocument(string json)
    {
        _root = JsonNode.Parse(json)!.AsObject();
        _paths = (_root["paths"] as JsonObject ?? []).Select(p => new PathTemplate(p.Key, p.Value!.AsObject())).ToList();
        _idPrefix = $"https://contract.agentartifacts.test/{Interlocked.Increment(ref _documents)}/";
        _build = new BuildOptions { SchemaRegistry = new SchemaRegistry(), Dialect = Dialect.Draft202012 };
        var components = new JsonObject
        {
            ["$id"] = _idPrefix + "components",
            ["$defs"] = Rewrite(_root["components"]?["schemas"]?.DeepClone() ?? new JsonObject()),
        };
        JsonSchema.Build(JsonSerializer.SerializeToElement(components), _build);
    }

    /// <summary>The violations of one exchange; an empty list when the response keeps the contract.</summary>
    /// <param name="body">The response body; null for an event stream, whose body is not read.</param>
    public IReadOnlyList<ContractViolation> Check(string method, string path, HttpResponseMessage response, byte[]? body)
    {
        var status = (int)response.StatusCode;
        var (template, operation) = Find(method, path);
        if (operation is null)
        {
            // Unknown routes and methods are answered by the framework, and a request line Kestrel refuses (a NUL in the
            // path) by its bare 400 before any route is chosen: answers the document cannot declare.
            return status is 404 or 405 || (status == 400 && body is { Length: 0 }) ? [] : [new("undocumented-operation", $"{method.ToUpperInvariant()} {path}", status, "no operation in the document matches this request")];
        }

        var name = $"{method.ToUpperInvariant()} {template}";
        var responses = operation["responses"] as JsonObject ?? [];
        var declared = Resolve(responses[status.ToString(CultureInfo.InvariantCulture)])
            ?? Resolve(responses[$"{status / 100}XX"]) ?? Resolve(responses[$"{status / 100}xx"]) ?? Resolve(responses["default"]);
        if (declared is null)
            return [new("undeclared-status", name, status, $"declared: {string.Join(", ", responses.Select(r => r.Key))}")];

        var violations = new List<ContractViolation>();
        var mediaType = response.Content?.Headers.ContentType?.MediaType;
        var content = declared["content"] as JsonObject ?? [];
        var isEventStream = body is null;
        var hasBody = isEventStream || body!.Length > 0;

        var entry = MediaTypeEntry(content, mediaType);
        if (hasBody && content.Count == 0)
            violations.Add(new("undeclared-body", name, status, $"a {mediaType ?? "(no content type)"} body, but the response declares none"));
        else if (!hasBody && content.Count > 0 && !method.Equals("HEAD", StringComparison.OrdinalIgnoreCase))
            violations.Add(new("missing-body", name, status, $"no body, but the response declares {string.Join(", ", content.Select(c => c.Key))}"));
        else if (hasBody && entry is null)
            violations.Add(new("undeclared-content-type", name, status, $"{mediaType ?? "(no content type)"} is not among {string.Join(", ", content.Select(c => c.Key))}"));
        else if (hasBody && !isEventStream && IsJson(mediaType) && entry is { } json)
        {
            if (json.Node["schema"] is not { } schema)
                violations.Add(new("no-schema", name, status, $"{json.Key} declares no schema"));
            else
                violations.AddRange(ValidateBody(name, status, $"{name} {StatusKey(responses, status)} {json.Key}", schema, body!));
        }

        if (isEventStream) return violations;

        var declaredHeaders = (Resolve(declared["headers"]) ?? [])
            .ToDictionary(h => h.Key, h => Resolve(h.Value) ?? [], StringComparer.OrdinalIgnoreCase);
        foreach (var header in CheckedHeaders)
        {
            var values = HeaderValues(response, header);
            if (values is null)
            {
                if (declaredHeaders.TryGetValue(header, out var required) && required["required"]?.GetValue<bool>() == true)
                    violations.Add(new("missing-header", name, status, $"{header} is declared required but absent"));
                continue;
            }
            if (!declaredHeaders.TryGetValue(header, out var declaredHeader))
            {
                violations.Add(new("undeclared-header", name, status, $"{header} is not declared on the response"));
                continue;
            }
            if (declaredHeader["schema"] is { } schema && !HeaderValueFits(header, schema, values))
                violations.Add(new("header-value", name, status, $"{header}: '{values}' does not fit its declared schema {schema.ToJsonString()}"));
        }
        return violations;
    }

    /// <summary>The operation a request is for, as <c>METHOD /template</c>; null when the document has none.</summary>
    public string? OperationOf(string method, string path) =>
        Find(method, path).Template is { } template ? $"{method.ToUpperInvariant()} {template}" : null;

    /// <summary>The operation for a request path: the template with the most literal segments first, as routing picks it.</summary>
    private (string? Template, JsonObject? Operation) Find(string method, string path)
    {
        var segments = path.TrimEnd('/').Split('/').Select(Uri.UnescapeDataString).ToArray();
        var candidates = _paths.Select(t => (Template: t, Score: t.Score(segments))).Where(c => c.Score >= 0).OrderByDescending(c => c.Score);
        foreach (var (template, _) in candidates)
            if (template.Item[method.ToLowerInvariant()] is JsonObject operation) return (template.Text, operation);
        return (null, null);
    }

    private IEnumerable<ContractViolation> ValidateBody(string name, int status, string pointer, JsonNode schemaNode, byte[] body)
    {
        JsonElement instance;
        try { instance = JsonDocument.Parse(body).RootElement; }
        catch (JsonException e) { return [new("schema", name, status, $"the body is not JSON: {e.Message}")]; }

        var schema = _schemas.GetOrAdd(pointer, _ => Compile(schemaNode));
        var results = schema.Evaluate(instance, new EvaluationOptions { OutputFormat = OutputFormat.Hierarchical });
        if (results.IsValid) return [];
        var errors = Failures(results).Distinct().Take(6).ToList();
        return [new("schema", name, status, errors.Count == 0 ? "the body does not validate" : string.Join("; ", errors))];
    }

    /// <summary>
    /// The errors that made a result fail: a failing node's own errors, then its failing children's. Children of a node
    /// that passed (the branches an anyOf did not need) are not the cause and are left out. A node that fails with no error
    /// of its own and no failing child failed by its combinator (a oneOf that more than one branch matched).
    /// </summary>
    private IEnumerable<string> Failures(EvaluationResults node)
    {
        if (node.IsValid) yield break;
        var at = Indexless(node.InstanceLocation.ToString()) is { Length: > 0 } location ? location : "(root)";
        foreach (var (keyword, message) in node.Errors ?? new Dictionary<string, string>())
            yield return $"{at} {keyword}: {message}";
        var children = node.Details ?? [];
        if (node.Errors is not { Count: > 0 } && children.All(c => c.IsValid))
        {
            var oneOf = children.Where(c => c.EvaluationPath.ToString().Contains("/oneOf/", StringComparison.Ordinal)).ToList();
            yield return oneOf.Count > 0
                ? $"{at} oneOf: {oneOf.Count(c => c.IsValid)} of its {oneOf.Count} branches match, exactly one must ({Where(node.SchemaLocation)})"
                : $"{at} fails {Where(node.SchemaLocation)}";
        }
        foreach (var child in children)
            foreach (var failure in Failures(child)) yield return failure;
    }

    /// <summary>A schema location as the document names it.</summary>
    private string Where(Uri location) =>
        Regex.Replace(location.ToString().Replace(_idPrefix + "components#/$defs/", "#/components/schemas/", StringComparison.Ordinal),
            Regex.Escape(_idPrefix) + "response/[0-9]+#", "(the response's schema) #");

    private JsonSchema Compile(JsonNode schemaNode)
    {
        lock (_building)
        {
            // A base URI of its own rather than an $id written into the schema: with "$id" last, JsonSchema.Net 8.0.5 refuses
            // two equal subschemas under two properties ("Overwriting registered schemas is not permitted").
            return JsonSchema.Build(JsonSerializer.SerializeToElement(Rewrite(schemaNode.DeepClone())), _build, new Uri(_idPrefix + "response/" + ++_built));
        }
    }

    /// <summary>Points the document's <c>#/components/schemas/X</c> refs at the compiled components schema's <c>$defs</c>.</summary>
    private JsonNode Rewrite(JsonNode node)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var (key, value) in o.ToList())
                {
                    if (key == "$ref" && value?.GetValueKind() == JsonValueKind.String && value.GetValue<string>().StartsWith("#/components/schemas/", StringComparison.Ordinal))
                        o[key] = _idPrefix + "components#/$defs/" + value.GetValue<string>()["#/components/schemas/".Length..];
                    else if (value is not null) Rewrite(value);
                }
                break;
            case JsonArray a:
                foreach (var item in a) if (item is not null) Rewrite(item);
                break;
        }
        return node;
    }

    /// <summary>A response, header or other object, following a local <c>$ref</c> to the components.</summary>
    private JsonObject? Resolve(JsonNode? node)
    {
        for (var hops = 0; node is JsonObject o && o["$ref"]?.GetValue<string>() is { } reference && hops < 8; hops++)
            node = reference.StartsWith("#/", StringComparison.Ordinal)
                ? reference[2..].Split('/').Aggregate<string, JsonNode?>(_root, (n, s) => n?[s.Replace("~1", "/").Replace("~0", "~")])
                : null;
        return node as JsonObject;
    }

    private static (string Key, JsonObject Node)? MediaTypeEntry(JsonObject content, string? mediaType)
    {
        if (mediaType is null) return null;
        foreach (var (key, value) in content)
        {
            var declared = key.Split(';')[0].Trim();
            var matches = declared.Equals(mediaType, StringComparison.OrdinalIgnoreCase) || declared == "*/*"
                || (declared.EndsWith("/*", StringComparison.Ordinal) && mediaType.StartsWith(declared[..^1], StringComparison.OrdinalIgnoreCase));
            if (matches) return (key, value as JsonObject ?? []);
        }
        return null;
    }

    private static string StatusKey(JsonObject responses, int status)
    {
        var exact = status.ToString(CultureInfo.InvariantCulture);
        if (responses.ContainsKey(exact)) return exact;
        return responses.ContainsKey($"{status / 100}XX") ? $"{status / 100}XX" : responses.ContainsKey($"{status / 100}xx") ? $"{status / 100}xx" : "default";
    }

    private static bool IsJson(string? mediaType) =>
        mediaType is not null && (mediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase) || mediaType.EndsWith("+json", StringComparison.OrdinalIgnoreCase));

    private static string? HeaderValues(HttpResponseMessage response, string header) =>
        response.Headers.TryGetValues(header, out var values) || (response.Content?.Headers.TryGetValues(header, out values) ?? false)
            ? string.Join(", ", values!) : null;

    /// <summary>A header value is text; it fits an integer or number schema when it reads as one, else it is checked as a string.</summary>
    private bool HeaderValueFits(string header, JsonNode schemaNode, string value)
    {
        var schema = _schemas.GetOrAdd("header:" + header + ":" + schemaNode.ToJsonString(), _ => Compile(schemaNode));
        var typed = schemaNode.ToJsonString().Contains("\"integer\"") || schemaNode.ToJsonString().Contains("\"number\"");
        var instance = typed && decimal.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var number)
            ? JsonSerializer.SerializeToElement(number)
            : JsonSerializer.SerializeToElement(value);
        return schema.Evaluate(instance).IsValid;
    }

    /// <summary>Array indexes in an instance location, replaced so the same fault in two items reads the same.</summary>
    private static string Indexless(string location) => ArrayIndex().Replace(location, "/*");

    [GeneratedRegex("/[0-9]+(?=/|$)")]
    private static partial Regex ArrayIndex();

    private sealed class PathTemplate(string text, JsonObject item)
    {
        private readonly string[] _segments = text.TrimEnd('/').Split('/');
        public string Text { get; } = text;
        public JsonObject Item { get; } = item;

        /// <summary>-1 when the path does not match; otherwise higher for literal segments, earlier ones weighing more.</summary>
        public long Score(string[] path)
        {
            if (path.Length != _segments.Length) return -1;
            long score = 0;
            for (var i = 0; i < path.Length; i++)
            {
                var segment = _segments[i];
                if (segment.StartsWith('{') && segment.EndsWith('}')) { if (path[i].Length == 0) return -1; }
                else if (segment.Equals(path[i], StringComparison.OrdinalIgnoreCase)) score += 1L << Math.Max(0, 40 - i);
                else return -1;
            }
            return score;
        }
    }
}

/// <summary>
/// What the test run does with violations, from <c>AA_CONTRACT</c>: <c>fail</c> makes the calling test fail,
/// <c>report</c> writes each distinct violation once to <c>AA_CONTRACT_REPORT</c> (default /tmp/contract-violations.txt),
/// <c>off</c> skips the check. Unset: <see cref="DefaultMode"/>.
/// </summary>
public static class ContractCheck
{
    /// <summary>A response that breaks the document fails the test that received it.</summary>
    public const ContractMode DefaultMode = ContractMode.Fail;

    public static ContractMode Mode { get; } = Environment.GetEnvironmentVariable("AA_CONTRACT")?.Trim().ToLowerInvariant() switch
    {
        "fail" => ContractMode.Fail,
        "report" => ContractMode.Report,
        "off" => ContractMode.Off,
        _ => DefaultMode,
    };

    public static string ReportPath { get; } = Environment.GetEnvironmentVariable("AA_CONTRACT_REPORT") is { Length: > 0 } path ? path : "/tmp/contract-violations.txt";

    private static readonly ConcurrentDictionary<string, bool> Seen = new();
    private static readonly ConcurrentDictionary<string, bool> Covered = new();
    private static readonly Lock Writing = new();
    private static bool _started;

    /// <summary>The exception that fails the calling test, naming the request, operation, status and each violation.</summary>
    public static ContractViolationException Failure(IReadOnlyList<ContractViolation> violations, string method, string path) =>
        new($"The response breaks the OpenAPI contract ({method} {path}):\n  " + string.Join("\n  ", violations));

    /// <summary>Appends each violation not seen before in this test run to the report, tab-separated, with the request that showed it.</summary>
    public static void Report(IReadOnlyList<ContractViolation> violations, string method, string path)
    {
        foreach (var v in violations)
            if (Seen.TryAdd($"{v.Kind}\t{v.Operation}\t{v.Status}\t{v.Detail}", true))
                Append(ReportPath, $"{v.Kind}\t{v.Operation}\t{v.Status}\t{v.Detail}\t{method} {path}");
    }

    /// <summary>In report mode, notes each operation and status seen (checked), so a report also says what it covered.</summary>
    public static void Checked(string operation, int status)
    {
        if (Mode == ContractMode.Report && Covered.TryAdd($"{operation}\t{status}", true)) Append(ReportPath + ".covered", $"{operation}\t{status}");
    }

    private static void Append(string file, string line)
    {
        lock (Writing)
        {
            if (!_started)
            {
                // One report per test run: the first write empties what an earlier run left.
                File.WriteAllText(ReportPath, "");
                File.WriteAllText(ReportPath + ".covered", "");
                _started = true;
            }
            File.AppendAllText(file, line.ReplaceLineEndings(" ") + "\n");
        }
    }
}

/// <summary>
/// Checks every response of the service an <see cref="HttpClient"/> receives against the service's live OpenAPI document
/// (fetched from <c>/openapi.json</c> once), and fails or reports per <see cref="ContractCheck.Mode"/>.
/// </summary>
public sealed class ContractCheckingHandler(Uri service, Func<CancellationToken, Task<ContractDocument?>> document, ContractMode? mode = null)
    : DelegatingHandler
{
    private readonly ContractMode _mode = mode ?? ContractCheck.Mode;

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var response = await base.SendAsync(request, cancellationToken);
        if (_mode == ContractMode.Off) return response;
        var sent = response.RequestMessage ?? request;  // after a followed redirect: the request that got this answer
        if (sent.RequestUri is not { } uri || Uri.Compare(uri, service, UriComponents.SchemeAndServer, UriFormat.Unescaped, StringComparison.OrdinalIgnoreCase) != 0)
            return response;
        var path = uri.AbsolutePath;
        if (IsDocumentation(path) || await document(cancellationToken) is not { } contract) return response;

        var isEventStream = string.Equals(response.Content?.Headers.ContentType?.MediaType, "text/event-stream", StringComparison.OrdinalIgnoreCase);
        var body = isEventStream ? null : response.Content is null ? [] : await response.Content.ReadAsByteArrayAsync(cancellationToken);
        var violations = contract.Check(sent.Method.Method, path, response, body);
        if (_mode == ContractMode.Report) ContractCheck.Checked(contract.OperationOf(sent.Method.Method, path) ?? $"{sent.Method.Method} {path}", (int)response.StatusCode);
        if (violations.Count == 0) return response;
        if (_mode == ContractMode.Fail)
        {
            response.Dispose();
            throw ContractCheck.Failure(violations, sent.Method.Method, path);
        }
        ContractCheck.Report(violations, sent.Method.Method, path);
        return response;
    }

    /// <summary>The document itself and the API reference (with its assets) are not API operations.</summary>
    public static bool IsDocumentation(string path) =>
        path == "/openapi.json" || path == "/docs" || path.StartsWith("/docs/", StringComparison.Ordinal);
}

/// <summary>The OpenAPI document a running service serves, fetched on first use and kept.</summary>
public sealed class LiveContract(Uri service)
{
    private readonly SemaphoreSlim _fetching = new(1, 1);
    private ContractDocument? _document;

    public async Task<ContractDocument?> GetAsync(CancellationToken cancellationToken)
    {
        if (_document is not null) return _document;
        await _fetching.WaitAsync(cancellationToken);
        try
        {
            if (_document is not null) return _document;
            using var client = new HttpClient { BaseAddress = service, Timeout = TimeSpan.FromSeconds(30) };
            return _document = ContractDocument.Parse(await client.GetStringAsync("/openapi.json", cancellationToken));
        }
        finally { _fetching.Release(); }
    }

    /// <summary>A handler chain for a client of this service: the contract check over <paramref name="inner"/>.</summary>
    public HttpMessageHandler Handler(HttpMessageHandler? inner = null) =>
        new ContractCheckingHandler(service, GetAsync) { InnerHandler = inner ?? new HttpClientHandler() };
}
