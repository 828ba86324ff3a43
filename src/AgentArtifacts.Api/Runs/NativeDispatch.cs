using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.HttpResults;
using Marten;
using Wolverine;
using AgentArtifacts.Api.Commits;

namespace AgentArtifacts.Api.Runs;

/// <summary>
/// Dispatch kind <c>native</c>: operations implemented in the service, named by the declaration's <c>dispatch.handler</c>.
/// Each runs the same code its own route runs, so there is one implementation: the workspace's <c>commit</c> op sends
/// <see cref="CommitDrafts"/> as <c>POST /workspaces/{id}/commit</c> does; <c>commit_preview</c> and <c>revert</c> call the
/// preview and revert of their routes. Input is validated with the routes' own validators.
/// </summary>
[DispatchKind("native")]
public sealed record NativeDispatch(RunContext Run) : IDispatch;

public static class NativeDispatchHandler
{
    public static async Task<RunResult> Handle(NativeDispatch message, IMessageBus bus, IDocumentSession session, CommitTokens tokens,
        TimeProvider clock, CancellationToken ct)
    {
        var run = message.Run;
        session.LastModifiedBy = run.Caller.Id.ToString();  // the events it appends are the caller's, as through the routes
        switch (run.Declaration["dispatch"]?["handler"]?.GetValue<string>())
        {
            case "commit":
                if (Read(run.Input, new CommitWorkspace.Validator()) is not { } commit)
                {
                    return RunResult.Failed("validation_failed", "The input is {message, artifactIds?, commitToken?} with a non-blank message.", 400);
                }
                var outcome = await bus.InvokeAsync<CommitOutcome>(new CommitDrafts(run.Artifact.Id, run.Caller, commit), ct);
                return outcome.Problem is { } problem ? FromResult(problem) : new RunResult(JsonSerializer.SerializeToNode(outcome.Commit, WolverineHttpSetup.Json), null);
            case "commit_preview":
                var preview = run.Input is null ? new PreviewCommit() : Read(run.Input, new PreviewCommit.Validator());
                return preview is null
                    ? RunResult.Failed("validation_failed", "The input is {artifactIds?}.", 400)
                    : FromResult(await PreviewCommitEndpoint.PreviewAsync(run.Artifact.Id, preview, run.Caller, session, tokens, clock, ct));
            case "revert":
                return Read(run.Input, new RevertWorkspace.Validator()) is { } revert
                    ? FromResult(await RevertWorkspaceEndpoint.RevertAsync(run.Artifact.Id, revert, run.Caller, session, ct))
                    : RunResult.Failed("validation_failed", "The input is {artifactIds} naming 1 or more drafts.", 400);
            default:
                return RunResult.Failed("dispatch_handler_unavailable", $"The native operation '{run.Operation}' is not available in this version.", 501);
        }
    }

    /// <summary>The input as the route's request, when it is one and its validator accepts it.</summary>
    private static T? Read<T>(JsonNode? input, FluentValidation.IValidator<T> validator) where T : class
    {
        try
        {
            return input?.Deserialize<T>(WolverineHttpSetup.Json) is { } request && validator.Validate(request).IsValid ? request : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>What the route would have answered, as the run's output (a value) or error (a problem).</summary>
    internal static RunResult FromResult(IResult result) => result switch
    {
        ProblemHttpResult { ProblemDetails: var details } => new RunResult(null, JsonSerializer.SerializeToNode(details, WolverineHttpSetup.Json)!.AsObject()),
        IValueHttpResult { Value: var value } => new RunResult(JsonSerializer.SerializeToNode(value, WolverineHttpSetup.Json), null),
        _ => RunResult.Failed("operation_failed", "The operation failed."),
    };
}
