using System.Security.Claims;
using System.Text.Json.Nodes;
using FluentValidation;
using Marten;
using Wolverine;
using AgentArtifacts.Api.Artifacts;
using AgentArtifacts.Api.Types;

namespace AgentArtifacts.Api.Runs;

public sealed record InvokeArtifact(JsonNode? Input = null, string Mode = "sync")
{
    public sealed class Validator : AbstractValidator<InvokeArtifact>
    {
        public Validator() => RuleFor(x => x.Mode).Equal("sync").WithMessage("mode is sync; async and streaming runs are not available yet.");
    }
}

public static class InvokeArtifactEndpoint
{
    private static readonly HashSet<string> Reserved = ["create", "read", "update", "delete", "invoke", "add", "search"];

    /// <summary>
    /// Run the artifact's <c>invoke</c> operation, as its content type declares it. Every execution goes through here (or
    /// <c>op/{op}</c>). 200 with the finished run; a target that failed gives a run with <c>status: failed</c> and an <c>error</c>.
    /// </summary>
    [WolverinePost("/artifacts/{id}/invoke", OperationId = "invokeArtifact"), Tags("Runs")]
    [KeyScope("invoke")]
    [ProducesResponseType<RunResponse>(200), ProducesResponseType(400), ProducesResponseType(403), ProducesResponseType(404)]
    public static Task<IResult> Invoke(Guid id, InvokeArtifact request, ClaimsPrincipal principal, IDocumentSession session, TypeRegistry types,
        IMessageBus bus, CancellationToken ct) =>
        RunAsync(id, "invoke", request, Caller.From(principal), session, types, bus, ct);

    /// <summary>Run another operation the artifact's type declares. The names of the built-in verbs are reserved (400).</summary>
    [WolverinePost("/artifacts/{id}/op/{op}", OperationId = "runOperation"), Tags("Runs")]
    [KeyScope("invoke")]
    [ProducesResponseType<RunResponse>(200), ProducesResponseType(400), ProducesResponseType(403), ProducesResponseType(404)]
    public static Task<IResult> Op(Guid id, string op, InvokeArtifact request, ClaimsPrincipal principal, IDocumentSession session, TypeRegistry types,
        IMessageBus bus, CancellationToken ct) =>
        Reserved.Contains(op)
            ? Task.FromResult(Problems.Invalid("op", $"'{op}' is a reserved name; use its own route.", "reserved_operation"))
            : RunAsync(id, op, request, Caller.From(principal), session, types, bus, ct);

    private static async Task<IResult> RunAsync(Guid id, string op, InvokeArtifact request, Caller caller, IDocumentSession session,
        TypeRegistry types, IMessageBus bus, CancellationToken ct)
    {
        JsonObject? declaration = null;
        var (artifact, denied) = await session.AuthorizeAsync(id, caller, a =>
        {
            declaration = types.Resolve(a.ContentType).Operations[op] as JsonObject;
            return declaration is null ? Permission.Read : RequiredPermission(declaration);
        }, ct);
        if (denied is not null) return denied;
        if (declaration is null) return Problems.Result(404, "operation_not_declared", $"The artifact's content type declares no '{op}' operation.");

        var runId = Guid.CreateVersion7();
        var kind = declaration["dispatch"]?["kind"]?.GetValue<string>() ?? "";
        var message = DispatchKinds.MessageFor(kind, new RunContext(runId, artifact!, op, declaration, request.Input, caller));
        if (message is null)
        {
            return Problems.Result(501, "dispatch_kind_unavailable", $"Dispatch kind '{kind}' is not available in this version.");
        }

        session.Events.StartStream<Run>(runId, new RunRequested(runId, artifact!.Id, artifact.Version, op, kind, request.Input, request.Mode),
            new RunStarted(runId, 1));
        await session.SaveChangesAsync(ct);
        var result = await bus.InvokeAsync<RunResult>(message, ct);
        session.Events.Append(runId, result.Error is null ? new RunCompleted(runId, result.Output) : new RunFailed(runId, result.Error));
        await session.SaveChangesAsync(ct);
        return Results.Ok(RunResponse.From((await session.LoadAsync<Run>(runId, ct))!));
    }

    /// <summary>The permission an operation needs: its <c>requiresGrant</c>, by default <c>invoke</c>.</summary>
    public static Permission RequiredPermission(JsonObject declaration) =>
        declaration["requiresGrant"]?.GetValue<string>() is { } name && PermissionNames.TryParse(name, out var permission) ? permission : Permission.Invoke;
}

public static class GetRunEndpoint
{
    /// <summary>One run; visible to the principal that requested it.</summary>
    [WolverineGet("/runs/{id}", OperationId = "getRun"), Tags("Runs")]
    [KeyScope("read")]
    [ProducesResponseType<RunResponse>(200), ProducesResponseType(404)]
    public static async Task<IResult> Get(Guid id, ClaimsPrincipal principal, IQuerySession session, CancellationToken ct) =>
        await session.LoadAsync<Run>(id, ct) is { } run && run.CallerId == Caller.From(principal).Id
            ? Results.Ok(RunResponse.From(run)) : Problems.NotFound("run");
}
