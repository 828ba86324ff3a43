using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Marten;
using NJsonSchema;
using NJsonSchema.References;
using Wolverine;
using AgentArtifacts.Api.Approvals;
using AgentArtifacts.Api.Artifacts;
using AgentArtifacts.Api.Types;

namespace AgentArtifacts.Api.Runs;

public static class RunModes
{
    public const string Sync = "sync";
    public const string Async = "async";
    public const string Stream = "stream";
}

/// <summary>
/// What to run: an operation of an artifact, with its input, in a mode; a tool call of an agent names its parent run.
/// <c>Revision</c> pins a committed revision to run instead of the head.
/// </summary>
public sealed record RunRequest(Guid ArtifactId, string Operation, JsonNode? Input, string Mode, Guid? ParentRunId = null, int? Revision = null);

/// <summary>The run as recorded (a sync run: as it ended), or the problem that refused it (nothing recorded then).</summary>
public sealed record RunLaunch(Run? Run, IResult? Problem);

/// <summary>
/// The one way a run begins, for <c>invoke</c>, <c>op/{op}</c> and an agent's tool calls: the grant check, the declared
/// operation, the input against its schema, then <see cref="RunRequested"/>, and either an approval, a durable
/// <see cref="ExecuteRun"/> (async and streaming modes, in the same transaction: the outbox), or the execution itself
/// (sync mode, inline through the same handler).
/// </summary>
public sealed class RunLauncher(TypeRegistry types, IConfiguration configuration, TimeProvider clock)
{
    private static readonly ConcurrentDictionary<string, JsonSchema> Schemas = new();

    public async Task<RunLaunch> LaunchAsync(RunRequest request, Caller caller, IDocumentSession session, IMessageBus bus, CancellationToken ct)
    {
        JsonObject? declaration = null;
        Permission Needed(Artifact a)
        {
            declaration = types.Resolve(a.ContentType).Operations[request.Operation] as JsonObject;
            return declaration is null ? Permission.Read : RequiredPermission(declaration);
        }
        var (artifact, denied) = request.Revision is { } revision
            ? await RevisionRuns.AuthorizeAsync(session, request.ArtifactId, revision, caller, Needed, ct)
            : await session.AuthorizeAsync(request.ArtifactId, caller, Needed, ct);
        if (denied is not null) return Refused(denied);
        if (declaration is null)
        {
            return Refused(Problems.Result(404, "operation_not_declared", $"The artifact's content type declares no '{request.Operation}' operation."));
        }
        var kind = declaration["dispatch"]?["kind"]?.GetValue<string>() ?? "";
        if (!DispatchKinds.IsKnown(kind))
        {
            return Refused(Problems.Result(501, "dispatch_kind_unavailable", $"Dispatch kind '{kind}' is not available in this version."));
        }
        if (InputErrors(artifact!, declaration, request.Input) is { Count: > 0 } errors)
        {
            return Refused(Problems.Validation(errors, "The input does not match the operation's inputSchema.", "invalid_input"));
        }

        var runId = Guid.CreateVersion7();
        var awaitsApproval = RequiresApproval(artifact!, declaration);
        var runsNow = request.Mode == RunModes.Sync && !awaitsApproval;
        // The run's snapshot stays in the session's identity map: the answer is read from there, and a sync run's executor
        // reads it from there and appends through this session too (InlineRun).
        session.UseIdentityMapFor<Run>();
        var requested = new RunRequested(runId, artifact!.Id, artifact.Version, request.Operation, kind, request.Input, request.Mode, caller,
            request.ParentRunId, request.Revision);
        // A sync run starts in the transaction that records it; the others start when their message is handled.
        if (runsNow) session.Events.StartStream<Run>(runId, requested, new RunStarted(runId, 1));
        else session.Events.StartStream<Run>(runId, requested);
        if (awaitsApproval)
        {
            var approvalId = Guid.CreateVersion7();
            var expiresAt = clock.GetUtcNow().AddMinutes(configuration.GetValue("Approvals:ExpiryMinutes", 15.0));
            session.Events.Append(runId, new RunApprovalRequested(runId, approvalId, expiresAt));
            await bus.ScheduleAsync(new ExpireApproval(runId, approvalId), expiresAt);
        }
        else if (request.Mode != RunModes.Sync)
        {
            await bus.PublishAsync(new ExecuteRun(runId));
        }
        await session.SaveChangesAsync(ct);

        if (!runsNow) return new RunLaunch(await session.LoadAsync<Run>(runId, ct), null);
        // Not under the caller's token: a sync run was accepted when it was recorded, and runs to its end even if the
        // caller goes away (its result stays at /runs/{id}). A stopping host still interrupts it (RunSignals).
        var inline = new InlineRun(session);
        await bus.InvokeAsync(new ExecuteRun(runId) { Artifact = artifact, Inline = inline, FirstAttemptStarted = true }, CancellationToken.None);
        return new RunLaunch(await inline.LoadAsync(runId, ct), null);
    }

    /// <summary>The permission an operation needs: its <c>requiresGrant</c>, by default <c>invoke</c>.</summary>
    public static Permission RequiredPermission(JsonObject declaration) =>
        declaration["requiresGrant"]?.GetValue<string>() is { } name && PermissionNames.TryParse(name, out var permission) ? permission : Permission.Invoke;

    /// <summary>The operation's type says <c>requiresApproval</c>, or the artifact's owner set <c>context.requiresApproval</c> on it.</summary>
    public static bool RequiresApproval(Artifact artifact, JsonObject declaration) =>
        declaration["requiresApproval"]?.GetValue<bool>() == true || artifact.Context["requiresApproval"]?.GetValue<bool>() == true;

    /// <summary>
    /// The input against the operation's <c>inputSchema</c>, else the artifact's <c>context.inputSchema</c> (a tool's own): the
    /// failing paths under <c>input</c>, empty when it matches or nothing declares a schema.
    /// </summary>
    public static Dictionary<string, string[]> InputErrors(Artifact artifact, JsonObject declaration, JsonNode? input)
    {
        var schema = declaration["inputSchema"] as JsonObject ?? artifact.Context["inputSchema"] as JsonObject;
        if (schema is null) return [];
        var text = schema.ToJsonString();
        // Some faults surface only when the schema is applied (a pattern that is no regular expression): caught here too.
        try
        {
            if (!Schemas.TryGetValue(text, out var compiled))
            {
                CheckTypes(schema);
                compiled = JsonSchema.FromJsonAsync(text, null, LocalReferencesOnly.Factory).GetAwaiter().GetResult();
                if (Schemas.Count >= 1000) Schemas.Clear();  // artifacts' own schemas: bounded, recompiled when needed
                Schemas[text] = compiled;
            }
            return compiled.Validate(input?.ToJsonString() ?? "null")
                .GroupBy(e => string.IsNullOrEmpty(e.Path) ? "input" : "input" + e.Path.TrimStart('#').Replace('/', '.'))
                .ToDictionary(g => g.Key, g => g.Select(e => $"{e.Kind}{(e.Property is null ? "" : $" ({e.Property})")}").ToArray());
        }
        catch (Exception e) when (e is Newtonsoft.Json.JsonException or InvalidOperationException or ArgumentException or NotSupportedException)
        {
            return new() { ["inputSchema"] = ["The operation's inputSchema is not a JSON Schema this service can apply."] };
        }
    }

    private static readonly HashSet<string> TypeNames = ["array", "boolean", "integer", "null", "number", "object", "string"];
    private static readonly string[] SubschemaMaps = ["properties", "patternProperties", "definitions", "$defs", "dependentSchemas"];
    private static readonly string[] Subschemas = ["items", "additionalItems", "additionalProperties", "contains", "propertyNames", "not", "if",
        "then", "else", "unevaluatedItems", "unevaluatedProperties", "allOf", "anyOf", "oneOf", "prefixItems"];

    /// <summary>
    /// Throws when a <c>type</c> is not a JSON Schema type name (or a list of them), wherever a subschema can be. NJsonSchema
    /// reads an unknown type as "any type", so <c>{"type":"nonsense"}</c> would let every input through. Values that are
    /// data, not schemas (<c>enum</c>, <c>const</c>, <c>default</c>, <c>examples</c>), are not looked into.
    /// </summary>
    private static void CheckTypes(JsonNode? schema)
    {
        if (schema is not JsonObject node) return;
        var type = node["type"];
        var names = type is JsonArray many ? many.ToArray() : type is null ? [] : new[] { type };
        if (names.Any(n => n is not JsonValue v || !v.TryGetValue<string>(out var name) || !TypeNames.Contains(name)))
        {
            throw new ArgumentException($"{type!.ToJsonString()} is not a JSON Schema type.");
        }
        foreach (var key in SubschemaMaps)
        {
            if (node[key] is JsonObject map) foreach (var (_, sub) in map) CheckTypes(sub);
        }
        foreach (var key in Subschemas)
        {
            if (node[key] is JsonArray list) foreach (var sub in list) CheckTypes(sub);
            else CheckTypes(node[key]);
        }
    }

    private static RunLaunch Refused(IResult problem) => new(null, problem);

    /// <summary>
    /// Resolves a schema's <c>$ref</c>s inside the schema only. A schema is an artifact owner's text: fetching a URL or reading
    /// a file it names would let anyone who can invoke reach past the egress policy, or into the server's disk.
    /// </summary>
    private sealed class LocalReferencesOnly(JsonSchemaAppender appender) : JsonReferenceResolver(appender)
    {
        public static JsonReferenceResolver Factory(JsonSchema schema) => new LocalReferencesOnly(new JsonSchemaAppender(schema, new DefaultTypeNameGenerator()));

        public override Task<IJsonReference> ResolveFileReferenceAsync(string filePath, CancellationToken cancellationToken = default) =>
            throw new InvalidOperationException("A schema may not reference a file.");

        public override Task<IJsonReference> ResolveUrlReferenceAsync(string url, CancellationToken cancellationToken = default) =>
            throw new InvalidOperationException("A schema may not reference a URL.");
    }
}
