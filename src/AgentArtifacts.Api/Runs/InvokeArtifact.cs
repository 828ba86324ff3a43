using System.Security.Claims;
using System.Text.Json.Nodes;
using FluentValidation;
using Marten;
using Wolverine;

namespace AgentArtifacts.Api.Runs;

/// <summary>The body of an invoke: the <c>input</c> (or, as MCP clients name it, <c>arguments</c>; not both) and the mode.</summary>
/// <param name="Input">What the artifact runs with, any JSON, checked against the operation's (or the artifact's <c>context.inputSchema</c>) input schema when there is one: an HTTP tool's request body, an MCP tool's arguments (an object), an agent's message (a string, or JSON). None when left out.</param>
/// <param name="Mode"><c>sync</c> waits for the run's end and answers 200 with it; <c>async</c> queues it and answers 202 with its location. For a stream of its events, send <c>Accept: text/event-stream</c> instead.</param>
/// <param name="Arguments">The same as <c>input</c>, under the name MCP clients use; send one of the two, not both.</param>
/// <param name="Revision">Run this committed revision (1 or more) instead of the head: its content type, context and content. Whoever may invoke the artifact, or a collection the revision was published into, may run it. The head when left out.</param>
public sealed record InvokeArtifact(JsonNode? Input = null,
    [property: System.ComponentModel.DataAnnotations.AllowedValues(RunModes.Sync, RunModes.Async)] string Mode = RunModes.Sync,
    JsonNode? Arguments = null, int? Revision = null)
{
    public sealed class Validator : AbstractValidator<InvokeArtifact>
    {
        public Validator()
        {
            RuleFor(x => x.Mode).Must(m => m is RunModes.Sync or RunModes.Async)
                .WithMessage("mode is sync or async; for a stream of the run's events, send Accept: text/event-stream.");
            RuleFor(x => x.Arguments).Null().When(x => x.Input is not null).WithMessage("Send input or arguments, not both.");
            RuleFor(x => x.Revision).GreaterThanOrEqualTo(1).WithMessage("revision is a committed revision number, 1 or more.");
        }
    }
}

public static class InvokeArtifactEndpoint
{
    private static readonly HashSet<string> Reserved = ["create", "read", "update", "delete", "invoke", "add", "search"];

    /// <summary>
    /// Run the artifact's <c>invoke</c> operation, as its content type declares it. Every execution goes through here (or
    /// <c>op/{op}</c>). <c>mode: sync</c> answers 200 with the finished run (a target that failed gives <c>status: failed</c> and
    /// an <c>error</c>); <c>mode: async</c> answers 202 with <c>Location: /runs/{id}</c>, the run queued durably;
    /// <c>Accept: text/event-stream</c> queues it the same way and streams its events. An operation that requires approval
    /// answers 202 with the run <c>awaiting_approval</c> whatever the mode.
    /// </summary>
    [WolverinePost("/artifacts/{id}/invoke", OperationId = "invokeArtifact"), Tags("Runs")]
    [KeyScope("invoke")]
    [ProducesResponseType<RunResponse>(200), ProducesResponseType(typeof(string), 200, RunEventStream.ContentType),
     ProducesResponseType<RunResponse>(202), ProducesResponseType(400), ProducesResponseType(403), ProducesResponseType(404)]
    public static Task<IResult> Invoke(Guid id, InvokeArtifact request, ClaimsPrincipal principal, HttpContext http, IDocumentSession session,
        RunLauncher launcher, IMessageBus bus, CancellationToken ct) =>
        RunAsync(id, "invoke", request, principal, http, session, launcher, bus, ct);

    /// <summary>Run another operation the artifact's type declares, in the same modes. The names of the built-in verbs are reserved (400).</summary>
    /// <param name="op">The operation's name, as the artifact's content type declares it (GET /types/resolve lists them); not one of the built-in verbs <c>create</c>, <c>read</c>, <c>update</c>, <c>delete</c>, <c>invoke</c>, <c>add</c>, <c>search</c>.</param>
    [WolverinePost("/artifacts/{id}/op/{op}", OperationId = "runOperation"), Tags("Runs")]
    [KeyScope("invoke")]
    [ProducesResponseType<RunResponse>(200), ProducesResponseType(typeof(string), 200, RunEventStream.ContentType),
     ProducesResponseType<RunResponse>(202), ProducesResponseType(400), ProducesResponseType(403), ProducesResponseType(404)]
    public static Task<IResult> Op(Guid id, string op, InvokeArtifact request, ClaimsPrincipal principal, HttpContext http, IDocumentSession session,
        RunLauncher launcher, IMessageBus bus, CancellationToken ct) =>
        Reserved.Contains(op)
            ? Task.FromResult(Problems.Invalid("op", $"'{op}' is a reserved name; use its own route.", "reserved_operation"))
            : RunAsync(id, op, request, principal, http, session, launcher, bus, ct);

    private static async Task<IResult> RunAsync(Guid id, string op, InvokeArtifact request, ClaimsPrincipal principal, HttpContext http,
        IDocumentSession session, RunLauncher launcher, IMessageBus bus, CancellationToken ct)
    {
        var streaming = http.Request.Headers.Accept.ToString().Contains(RunEventStream.ContentType, StringComparison.OrdinalIgnoreCase);
        var mode = streaming ? RunModes.Stream : request.Mode;
        var launch = await launcher.LaunchAsync(new RunRequest(id, op, request.Input ?? request.Arguments, mode, Revision: request.Revision), Caller.From(principal), session, bus, ct);
        if (launch.Problem is not null) return launch.Problem;

        var run = launch.Run!;
        var location = $"/runs/{run.Id}";
        if (streaming) return new RunEventStream(run.Id, 0, location);
        var response = RunResponse.From(run);
        return run.Mode == RunModes.Sync && run.Status != RunStatus.AwaitingApproval ? Results.Ok(response) : Results.Accepted(location, response);
    }
}
