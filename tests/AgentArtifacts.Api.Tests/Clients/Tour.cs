using Shouldly;
using Xunit.Abstractions;

namespace AgentArtifacts.Api.Tests.Clients;

/// <summary>
/// The README tour as a generated client runs it: numbered steps in order, each asserting its result. A failing step does
/// not stop the tour (later steps that need its result report that they are blocked), so one run names every step that
/// fails; the test fails at the end if any did.
/// </summary>
/// <param name="describe">How the client under test shows an error answer (its problem's status, code and detail).</param>
public sealed class Tour(ITestOutputHelper output, Func<Exception, string?> describe)
{
    private readonly List<string> _failures = [];

    public async Task Step(int number, string what, Func<Task> run)
    {
        try
        {
            await run();
            output.WriteLine($"step {number} passed: {what}");
        }
        catch (Exception e)
        {
            var failure = e is Blocked ? $"step {number} blocked: {what}: {e.Message}"
                : $"step {number} failed: {what}: {describe(e) ?? $"{e.GetType().Name}: {e.Message}"}";
            _failures.Add(failure);
            output.WriteLine(failure);
        }
    }

    public void ShouldHaveRunEveryStep() =>
        _failures.ShouldBeEmpty($"the tour broke at:\n{string.Join("\n", _failures)}\n");

    /// <summary>A result an earlier step should have produced; blocks the step when that step failed.</summary>
    public static T Need<T>(T? value, string what) where T : class => value ?? throw new Blocked(what);

    public static Guid NeedId(Guid? value, string what) => value ?? throw new Blocked(what);

    /// <summary>Reads until the result satisfies <paramref name="done"/>: for the read models the async projections fill.</summary>
    public static async Task<T> EventuallyAsync<T>(Func<Task<T>> read, Func<T, bool> done, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var result = await read();
            if (done(result)) return result;
            DateTime.UtcNow.ShouldBeLessThan(deadline, $"still not {what} after 30 s");
            await Task.Delay(100);
        }
    }

    private sealed class Blocked(string what) : Exception($"needs {what}, which an earlier step did not produce");
}
