using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace AgentArtifacts.Api.Tests.Infrastructure;

/// <summary>
/// A test class with a database and a host of its own, for settings the shared fixture's host must not have (a stricter
/// egress policy, no secrets key, …) or services (a <see cref="ManualClock"/>).
/// </summary>
public abstract class IsolatedHostTest(IReadOnlyDictionary<string, string?> settings, Action<IServiceCollection>? services = null) : IAsyncLifetime
{
    protected TestDatabase Database { get; private set; } = null!;
    protected ServiceHost Host { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Database = await TestDatabase.StartAsync();
        Host = ServiceHost.Start(Database.ConnectionString, settings, services);
    }

    public async Task DisposeAsync()
    {
        await Host.DisposeAsync();
        await Database.DisposeAsync();
    }

    /// <summary>A client of the host's first user, Ada (who is therefore its platform admin).</summary>
    protected async Task<HttpClient> AdaAsync() => Host.NewClient(await RegisterAdaAsync(Host));

    /// <summary>Registers Ada on the host and returns her access token.</summary>
    public static async Task<string> RegisterAdaAsync(ServiceHost host)
    {
        using var anonymous = host.NewClient();
        (await anonymous.PostJson("/auth/register", new { email = "ada@example.com", password = "correct horse battery", name = "Ada" })).EnsureSuccessStatusCode();
        var token = await (await anonymous.PostAsync("/auth/token", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "password", ["username"] = "ada@example.com", ["password"] = "correct horse battery",
        }))).Json();
        return token["access_token"]!.GetValue<string>();
    }
}
