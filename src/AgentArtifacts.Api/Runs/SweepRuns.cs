using Marten;

namespace AgentArtifacts.Api.Runs;

/// <summary>
/// Ends the sync runs that a host left unfinished when it died without stopping (killed, out of memory, lost power). A sync
/// run executes inline in its request, not from the durable queue, so nothing else would ever end it; queued runs (async,
/// streaming, approved) are recovered by Wolverine and are left alone. Every <c>Runs:SweepSeconds</c> (60) each node fails,
/// with <c>run_interrupted</c>, the sync runs started more than <c>Runs:SweepAfterSeconds</c> (900) ago that have not finished.
/// </summary>
public sealed class RunSweeper(IDocumentStore store, IConfiguration configuration, TimeProvider clock, ILogger<RunSweeper> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var every = TimeSpan.FromSeconds(configuration.GetValue("Runs:SweepSeconds", 60.0));
        var after = TimeSpan.FromSeconds(configuration.GetValue("Runs:SweepAfterSeconds", 900.0));
        using var timer = new PeriodicTimer(every);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                var swept = await SweepAsync(clock.GetUtcNow() - after, after, stoppingToken);
                if (swept > 0) logger.LogWarning("Failed {Count} sync runs left running by a host that stopped", swept);
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                logger.LogWarning(e, "Sweeping interrupted sync runs failed; trying again in {Seconds} s", every.TotalSeconds);
            }
        }
    }

    /// <summary>
    /// Fails the unfinished sync runs started before <paramref name="startedBefore"/>; how many it failed. Each end is the
    /// optimistic append that loses to any other end, so a run that finishes meanwhile keeps its end, and nodes sweeping at
    /// once record it once. The append's NOTIFY wakes the run's event streams.
    /// </summary>
    private async Task<int> SweepAsync(DateTimeOffset startedBefore, TimeSpan after, CancellationToken ct)
    {
        IReadOnlyList<Run> stuck;
        await using (var query = store.QuerySession())
        {
            // Pending too: a sync run between two attempts waits out its retry pause in the same process.
            stuck = await query.Query<Run>()
                .Where(r => (r.Status == RunStatus.Running || r.Status == RunStatus.Pending) && r.Mode == RunModes.Sync
                    && r.ApprovalId == null && r.StartedAt < startedBefore)
                .Take(1000).ToListAsync(ct);
        }

        var swept = 0;
        foreach (var run in stuck)
        {
            var error = RunResult.Failed("run_interrupted",
                $"The host running this sync run stopped before it finished: the run was still unfinished {after.TotalSeconds:0} s after it started.",
                503).Error!;
            if (!await RunJournal.AppendUnlessFinishedAsync(store, run.Id, run.CallerId, new RunFailed(run.Id, error), ct)) continue;
            swept++;
            // Should a node still be executing it after all (a run longer than the limit), its call is stopped as a cancel stops it.
            await using var signal = store.LightweightSession();
            RunJournal.NotifyCancel(signal, run.Id);
            await signal.SaveChangesAsync(ct);
        }
        return swept;
    }
}
