using AgentArtifacts.Api.Tests.Infrastructure;
using Shouldly;
using Xunit;

namespace AgentArtifacts.Api.Tests.Audit;

/// <summary>
/// The README's five-minute tour, run as written (bash, curl, jq) against a fresh host: it reads listings and search right after
/// the writes they show, with the writes' Consistency-Tokens instead of waiting, so every read must already include its write.
/// </summary>
public sealed class ReadmeTourTests() : IsolatedHostTest(new Dictionary<string, string?>())
{
    private static string Tour()
    {
        var readme = File.ReadAllText(Repository.PathOf("README.md"));
        var section = readme.IndexOf("## A five-minute tour", StringComparison.Ordinal);
        section.ShouldBeGreaterThan(0, "the README has no tour");
        var start = readme.IndexOf("```bash\n", section, StringComparison.Ordinal) + "```bash\n".Length;
        return readme[start..readme.IndexOf("```", start, StringComparison.Ordinal)];
    }

    [Fact]
    public void the_tour_never_asks_to_wait_or_to_ask_again()
    {
        var tour = Tour();
        tour.ShouldNotContain("moment later");
        tour.ShouldNotContain("sleep ");
        tour.ShouldContain("Consistency-Token: $CT");
    }

    [Fact]
    public async Task the_tour_runs_and_each_listing_and_search_includes_the_write_before_it()
    {
        var script = "set -eu\n" + Tour().Replace("B=http://127.0.0.1:8080", $"B={Host.BaseAddress.ToString().TrimEnd('/')}", StringComparison.Ordinal);

        var run = await Command.RunAsync(Path.GetTempPath(), "bash", ["-c", script]);

        run.ExitCode.ShouldBe(0, run.Output);
        var output = run.StandardOutput;
        // 5. the workspace's listing, right after the edit.
        output.ShouldContain("\"title\": \"Notes, revised\",\n  \"state\": \"draft\"", Case.Sensitive, run.Output);
        // 8. the collection's artifacts and commits, right after the second commit.
        output.ShouldContain("\"title\": \"Notes, revised\",\n  \"state\": \"committed\",\n  \"revision\": 2", Case.Sensitive, run.Output);
        output.ShouldContain("\"message\": \"First notes\",\n  \"committedAt\"", Case.Sensitive, run.Output);
        output.ShouldContain("\"message\": \"Second thoughts\",\n  \"committedAt\"", Case.Sensitive, run.Output);
        // 10. search, right after the commit that published the words.
        output.ShouldContain("\"hits\": [\n    {\n      \"title\": \"Notes, revised\"", Case.Sensitive, run.Output);
    }
}
