using System.Security.Claims;
using Marten;
using AgentArtifacts.Api.Infrastructure;

namespace AgentArtifacts.Api.Runs;

public static class CancelRunEndpoint
{
    /// <summary>
    /// Cancel a run that has not finished: it ends <c>cancelled</c> at once, a pending or awaiting run never executes, and a
    /// running call is stopped through its cancellation token on whichever node runs it. A finished run → 409 <c>run_finished</c>.
    /// An API key needs <c>invoke</c> on the artifact that runs (one that may only read it: 403 <c>insufficient_scope</c>).
    /// </summary>
    [WolverinePost("/runs/{id}/cancel", OperationId = "cancelRun"), Tags("Runs")]
    [KeyScope("invoke")]
    [ProducesResponseType<RunResponse>(200), ProducesResponseType(403), ProducesResponseType(404), ProducesResponseType(409)]
    public static async Task<IResult> Cancel(Guid id, ClaimsPrincipal principal, IDocumentStore store, CancellationToken ct)
    {
        var caller = Caller.From(principal);
        await using (var query = store.QuerySession())
        {
            // Who may cancel is decided before the stream is fetched for writing: a run that is absent or hidden is 404.
            if ((await query.AuthorizeRunAsync(id, caller, Permission.Invoke, ct)).Problem is { } refused) return refused;
        }
        for (var tries = 0; ; tries++)
        {
            await using var session = store.LightweightSession();
            session.LastModifiedBy = caller.Id.ToString();
            var stream = await session.Events.FetchForWriting<Run>(id, ct);
            var run = stream.Aggregate!;
            if (run.IsFinished)
            {
                return Problems.Result(409, "run_finished", $"The run has already finished ({run.Status.ToString().ToLowerInvariant()}).");
            }
            stream.AppendOne(new RunCancelled(id, RunResult.Failed("run_cancelled", "The run was cancelled by its caller.").Error!));
            RunJournal.Notify(session, id);
            RunJournal.NotifyCancel(session, id);
            try
            {
                await session.SaveChangesAsync(ct);
                return Results.Ok(RunResponse.From((await session.LoadAsync<Run>(id, ct))!));
            }
            catch (Exception e) when (Concurrency.IsConflict(e) && tries < 5)
            {
                // the run moved on meanwhile (started, finished): decide again on its new state
            }
        }
    }
}
