using System.Text.Json.Nodes;
using Shouldly;
using Xunit;

namespace AgentArtifacts.Api.Tests.Infrastructure;

/// <summary>
/// The served document linted by two linters no one here wrote, with their standard rule sets (tests/peers/redocly.yaml,
/// tests/peers/.spectral.yaml): no errors and no warnings.
/// </summary>
public sealed class OpenApiLintTests(ApiFixture fixture) : ApiTest(fixture), IDisposable
{
    private readonly string _document = Path.Combine(Path.GetTempPath(), $"openapi-{Guid.NewGuid():N}.json");
    private static readonly string Peers = Repository.PathOf("tests", "peers");

    [Fact]
    public async Task redocly_recommended_finds_no_problem()
    {
        var output = await LintAsync("redocly", "lint", _document, "--config", Path.Combine(Peers, "redocly.yaml"), "--format=json");

        var report = JsonNode.Parse(output)!;
        var problems = report["problems"]!.AsArray().Select(p => $"{p!["ruleId"]}: {p["message"]} at {p["location"]?[0]?["pointer"]}").ToList();
        problems.ShouldBeEmpty(string.Join("\n", problems));
        report["totals"]!["errors"]!.GetValue<int>().ShouldBe(0);
    }

    [Fact]
    public async Task spectral_oas_finds_no_problem()
    {
        var output = await LintAsync("spectral", "lint", _document, "--ruleset", Path.Combine(Peers, ".spectral.yaml"), "--format", "json", "--quiet");

        var problems = (JsonNode.Parse(output) as JsonArray ?? []).Select(p => $"{p!["code"]}: {p["message"]} at {string.Join('.', p["path"]!.AsArray())}").ToList();
        problems.ShouldBeEmpty(string.Join("\n", problems));
    }

    private async Task<string> LintAsync(string tool, params string[] arguments)
    {
        await File.WriteAllTextAsync(_document, await Fixture.Anonymous().GetStringAsync("/openapi.json"));
        var executable = Path.Combine(Peers, "node_modules", ".bin", tool);
        File.Exists(executable).ShouldBeTrue($"{executable} is missing: run `npm ci --prefix tests/peers` (build/test.sh does).");
        var run = await Command.RunAsync(Peers, executable, arguments, new Dictionary<string, string>
        {
            ["NO_COLOR"] = "1", ["REDOCLY_TELEMETRY"] = "off", ["REDOCLY_SUPPRESS_UPDATE_NOTICE"] = "true",
        });
        var report = run.StandardOutput;
        report.TrimStart().Length.ShouldBeGreaterThan(0, $"{tool} printed no report: {run.Output}");
        return report[report.IndexOfAny(['{', '['])..];
    }

    public void Dispose() => File.Delete(_document);
}
