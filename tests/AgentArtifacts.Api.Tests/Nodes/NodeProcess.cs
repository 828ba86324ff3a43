using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using AgentArtifacts.Api.Tests.Infrastructure;

namespace AgentArtifacts.Api.Tests.Nodes;

/// <summary>
/// The built service (<c>dotnet AgentArtifacts.Api.dll</c>) as a process of its own, as it runs in production: its own
/// memory, thread pool and connection pool, killed with SIGKILL when a test says so.
/// </summary>
public sealed class NodeProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();
    public string Name { get; }
    public Uri BaseAddress { get; }

    private readonly LiveContract _contract;

    private NodeProcess(string name, Process process, Uri baseAddress) =>
        (Name, _process, BaseAddress, _contract) = (name, process, baseAddress, new LiveContract(baseAddress));

    /// <summary>Starts a node in HotCold/Balanced mode; <paramref name="connectionString"/> names it as its application_name.</summary>
    public static NodeProcess Start(string name, string connectionString, IReadOnlyDictionary<string, string>? settings = null)
    {
        var dll = ApiDll();
        var port = FreePort();
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            WorkingDirectory = Path.GetDirectoryName(dll)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(dll);
        var environment = new Dictionary<string, string>
        {
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}",
            ["ConnectionStrings__Postgres"] = new Npgsql.NpgsqlConnectionStringBuilder(connectionString) { ApplicationName = name }.ConnectionString,
            ["Marten__DaemonMode"] = "HotCold",
            ["Wolverine__DurabilityMode"] = "Balanced",
            ["RateLimiting__PermitLimit"] = "1000000",
            ["RateLimiting__TokenPermitLimit"] = "1000000",
            ["Secrets__EncryptionKey"] = ServiceHost.TestSecretsKey,
            ["Egress__AllowPrivateNetworks"] = "true",
            ["Logging__LogLevel__Default"] = "Warning",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string>()) environment[key] = value;
        foreach (var (key, value) in environment) start.Environment[key] = value;

        var process = new Process { StartInfo = start };
        var node = new NodeProcess(name, process, new Uri($"http://127.0.0.1:{port}"));
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) node._output.Enqueue(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) node._output.Enqueue(e.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return node;
    }

    /// <summary>What the node wrote to stdout and stderr, for a failing assertion's message.</summary>
    public string Output => string.Join('\n', _output.TakeLast(60));

    public HttpClient Client(string? bearer = null)
    {
        var client = new HttpClient(_contract.Handler()) { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        if (bearer is not null) client.DefaultRequestHeaders.Authorization = new("Bearer", bearer);
        return client;
    }

    public async Task WaitUntilLiveAsync(TimeSpan within)
    {
        using var client = Client();
        client.Timeout = TimeSpan.FromSeconds(2);
        var deadline = DateTime.UtcNow + within;
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited) throw new InvalidOperationException($"{Name} exited with {_process.ExitCode}:\n{Output}");
            try
            {
                if ((await client.GetAsync("/health/live")).StatusCode == HttpStatusCode.OK) return;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { }
            await Task.Delay(200);
        }
        throw new TimeoutException($"{Name} did not answer /health/live within {within}:\n{Output}");
    }

    /// <summary>SIGKILL: no shutdown hooks, no graceful close of anything — as a crash or an OOM kill.</summary>
    public void Kill()
    {
        _process.Kill(entireProcessTree: false);
        _process.WaitForExit(5000);
    }

    public ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited) Kill();
        }
        catch (InvalidOperationException) { }
        _process.Dispose();
        return ValueTask.CompletedTask;
    }

    /// <summary>The service as built next to this test assembly's configuration (Release or Debug).</summary>
    private static string ApiDll()
    {
        var here = new DirectoryInfo(AppContext.BaseDirectory);
        var configuration = here.Parent?.Name ?? "Release";  // …/bin/<configuration>/<framework>/
        var framework = here.Name;
        var dll = Repository.PathOf("src", "AgentArtifacts.Api", "bin", configuration, framework, "AgentArtifacts.Api.dll");
        return File.Exists(dll) ? dll : throw new FileNotFoundException($"Build the solution ({configuration}) first: {dll} is missing.");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
