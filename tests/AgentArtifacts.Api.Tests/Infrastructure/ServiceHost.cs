using System.Collections.Concurrent;
using JasperFx.CommandLine;
using Marten;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Wolverine;

namespace AgentArtifacts.Api.Tests.Infrastructure;

/// <summary>The real service, on Kestrel at a free loopback port, against the test run's PostgreSQL database.</summary>
public sealed class ServiceHost : WebApplicationFactory<Program>
{
    private readonly IReadOnlyDictionary<string, string?> _settings;
    private readonly Action<IServiceCollection>? _services;
    public CapturedLogs Logs { get; } = new();

    static ServiceHost() => JasperFxEnvironment.AutoStartHost = true;

    /// <summary>The secrets encryption key of every test host (32 bytes, base64); tests only.</summary>
    public const string TestSecretsKey = "dGVzdC1vbmx5LXNlY3JldHMta2V5LTMyLWJ5dGVzISE=";

    private ServiceHost(IReadOnlyDictionary<string, string?> settings, Action<IServiceCollection>? services) =>
        (_settings, _services) = (settings, services);

    /// <param name="services">Service overrides, e.g. a <see cref="ManualClock"/> as the TimeProvider.</param>
    public static ServiceHost Start(string connectionString, IReadOnlyDictionary<string, string?>? overrides = null,
        Action<IServiceCollection>? services = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["ConnectionStrings:Postgres"] = connectionString,
            ["Marten:DaemonMode"] = "Solo",
            ["Wolverine:DurabilityMode"] = "Solo",
            ["RateLimiting:PermitLimit"] = "1000000",
            ["RateLimiting:TokenPermitLimit"] = "1000000",
            // A fixed key, so a host started again on the same database still decrypts the secrets stored before.
            ["Secrets:EncryptionKey"] = TestSecretsKey,
            // The invoke tests' peers listen on loopback.
            ["Egress:AllowPrivateNetworks"] = "true",
            // Retries of transient run failures after 50, 100 and 200 ms instead of seconds; heartbeats on quiet event streams every second.
            ["Runs:RetryDelaysMs:0"] = "50",
            ["Runs:RetryDelaysMs:1"] = "100",
            ["Runs:RetryDelaysMs:2"] = "200",
            ["Runs:HeartbeatSeconds"] = "1",
            ["Events:HeartbeatSeconds"] = "1",
            // Webhook retries after about 100, 200 and 400 ms instead of seconds to hours; idle deliverers look for work every 100 ms.
            ["Webhooks:RetryDelaysMs:0"] = "100",
            ["Webhooks:RetryDelaysMs:1"] = "200",
            ["Webhooks:RetryDelaysMs:2"] = "400",
            ["Webhooks:PollMilliseconds"] = "100",
        };
        foreach (var (key, value) in overrides ?? new Dictionary<string, string?>()) settings[key] = value;
        var host = new ServiceHost(settings, services);
        host.UseKestrel(0);
        host.StartServer();
        return host;
    }

    public Uri BaseAddress => new(Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());

    /// <summary>A client of this host; every response it receives is checked against the host's OpenAPI document.</summary>
    /// <param name="inner">The handler under the contract check (e.g. one that does not follow redirects).</param>
    public HttpClient NewClient(string? bearer = null, HttpMessageHandler? inner = null)
    {
        var client = new HttpClient(Contract.Handler(inner)) { BaseAddress = BaseAddress };
        if (bearer is not null) client.DefaultRequestHeaders.Authorization = new("Bearer", bearer);
        return client;
    }

    private LiveContract? _contract;
    private LiveContract Contract => _contract ??= new LiveContract(BaseAddress);

    public IDocumentStore Store => Services.GetRequiredService<IDocumentStore>();

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        foreach (var (key, value) in _settings) builder.UseSetting(key, value);
        builder.ConfigureServices(services =>
        {
            services.DisableAllExternalWolverineTransports();
            services.AddSingleton<ILoggerProvider>(Logs);
            _services?.Invoke(services);
        });
    }
}

/// <summary>Every log line the host writes, formatted, so tests can assert what never appears in logs.</summary>
public sealed class CapturedLogs : ILoggerProvider
{
    private readonly ConcurrentQueue<string> _lines = new();
    public IEnumerable<string> Lines => _lines;
    public ILogger CreateLogger(string categoryName) => new Logger(categoryName, _lines);
    public void Dispose() { }

    private sealed class Logger(string category, ConcurrentQueue<string> lines) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            lines.Enqueue($"{category}: {formatter(state, exception)} {exception}");
    }
}
