using System.Diagnostics;
using System.Text;

namespace AgentArtifacts.Api.Tests.Infrastructure;

/// <summary>Runs a program the tests need (Node, npm, a linter) to its end, at most three minutes.</summary>
public static class Command
{
    /// <param name="Output">Its standard output and error as one text, in the order written (for messages).</param>
    /// <param name="StandardOutput">Its standard output alone (for a machine-readable report).</param>
    public sealed record Outcome(int ExitCode, string Output, string StandardOutput);

    public static async Task<Outcome> RunAsync(string directory, string command, IEnumerable<string> arguments,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(command)
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        foreach (var (name, value) in environment ?? new Dictionary<string, string>()) start.Environment[name] = value;
        var output = new StringBuilder();
        var standardOutput = new StringBuilder();
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{command} did not start");
        process.OutputDataReceived += (_, e) => Append(output, e.Data, standardOutput);
        process.ErrorDataReceived += (_, e) => Append(output, e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            Append(output, $"{command} {string.Join(' ', arguments)}: killed after three minutes");
        }
        lock (output) return new Outcome(process.ExitCode, output.ToString(), standardOutput.ToString());
    }

    private static void Append(StringBuilder output, string? line, StringBuilder? stream = null)
    {
        if (line is null) return;
        lock (output)
        {
            output.AppendLine(line);
            stream?.AppendLine(line);
        }
    }
}
