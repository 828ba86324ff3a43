using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.HttpResults;
using Wolverine;
using AgentArtifacts.Api.Commits;

namespace AgentArtifacts.Api.Runs;

/// <summary>
/// Dispatch kind <c>native</c>: operations implemented in the service, named by the declaration's <c>dispatch.handler</c>.
/// Each sends the same command its own route sends, so there is one implementation (the workspace's <c>commit</c> op is
/// <see cref="CommitDrafts"/>, exactly as <c>POST /workspaces/{id}/commit</c>).
/// </summary>
[DispatchKind("native")]
public sealed record NativeDispatch(RunContext Run) : IDispatch;

public static class NativeDispatchHandler
{
    public static async Task<RunResult> Handle(NativeDispatch message, IMessageBus bus, CancellationToken ct)
    {
        var run = message.Run;
        switch (run.Declaration["dispatch"]?["handler"]?.GetValue<string>())
        {
            case "commit":
                var request = Read<CommitWorkspace>(run.Input);
                if (request is null || new CommitWorkspace.Validator().Validate(request) is { IsValid: false })
                {
                    return RunResult.Failed("validation_failed", "The input is {message, artifactIds?, commitToken?} with a non-blank message.", 400);
                }
                var outcome = await bus.InvokeAsync<CommitOutcome>(new CommitDrafts(run.Artifact.Id, run.Caller, request), ct);
                return outcome.Problem is { } problem ? FromProblem(problem) : new RunResult(JsonSerializer.SerializeToNode(outcome.Commit, WolverineHttpSetup.Json), null);
            default:
                return RunResult.Failed("dispatch_handler_unavailable", $"The native operation '{run.Operation}' is not available in this version.", 501);
        }
    }

    private static T? Read<T>(JsonNode? input) where T : class
    {
        try
        {
            return input?.Deserialize<T>(WolverineHttpSetup.Json);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>The problem the command answered, as the run's error.</summary>
    private static RunResult FromProblem(IResult problem) =>
        problem is ProblemHttpResult { ProblemDetails: var details }
            ? new RunResult(null, JsonSerializer.SerializeToNode(details, WolverineHttpSetup.Json)!.AsObject())
            : RunResult.Failed("operation_failed", "The operation failed.");
}
