using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using AgentArtifacts.Api.Identity;
using Marten;
using Marten.Events;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Xunit;

namespace AgentArtifacts.Api.Tests.Infrastructure;

/// <summary>One PostgreSQL database and one running service for all API tests (they run one at a time).</summary>
public sealed class ApiFixture : IAsyncLifetime
{
    private int _users;
    public TestDatabase Database { get; private set; } = null!;
    public ServiceHost Host { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Database = await TestDatabase.StartAsync();
        Host = ServiceHost.Start(Database.ConnectionString);
    }

    public async Task DisposeAsync()
    {
        await Host.DisposeAsync();
        await Database.DisposeAsync();
    }

    /// <summary>Empties every table, so each test starts from nothing (the first user to register is the admin again).</summary>
    public async Task ResetAsync()
    {
        // Pauses the async daemon, empties the tables and restarts it, so projections start again from the first event.
        await Host.Services.ResetAllMartenDataAsync();
        await using var connection = new NpgsqlConnection(Database.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("truncate agentartifacts.idempotency_keys, agentartifacts.search_artifacts", connection);
        await command.ExecuteNonQueryAsync();
        await using (var webhooks = new NpgsqlCommand("truncate agentartifacts.webhook_endpoints, agentartifacts.webhook_deliveries, agentartifacts.webhook_attempts", connection))
        {
            await webhooks.ExecuteNonQueryAsync();
        }
        // The reset deleted the signing keys too: the host must not go on signing with a cached key that other nodes cannot find.
        Host.Services.GetRequiredService<SigningKeys>().Invalidate();
        // Likewise the platform settings this node cached (the reset deleted them).
        Host.Services.GetRequiredService<Api.Platform.PlatformSettingsCache>().Invalidate();
    }

    public HttpClient Anonymous() => Host.NewClient();

    public async Task<TestUser> NewUserAsync(string? name = null)
    {
        var n = Interlocked.Increment(ref _users);
        var email = $"user{n}-{Guid.NewGuid():N}@example.com";
        const string password = "correct horse battery staple";
        using var anonymous = Anonymous();
        var registered = await anonymous.PostAsJsonAsync("/auth/register", new { email, password, name = name ?? $"User {n}" });
        registered.EnsureSuccessStatusCode();
        var id = (await registered.Json())["id"]!.GetValue<Guid>();
        var token = await TokenAsync(email, password);
        return new TestUser(id, email, password, token["access_token"]!.GetValue<string>(), token["refresh_token"]!.GetValue<string>(), Host.NewClient(token["access_token"]!.GetValue<string>()));
    }

    public async Task<JsonObject> TokenAsync(string email, string password)
    {
        using var anonymous = Anonymous();
        var response = await anonymous.PostAsync("/auth/token", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "password", ["username"] = email, ["password"] = password,
        }));
        response.EnsureSuccessStatusCode();
        return await response.Json();
    }

    public Task WaitForProjectionsAsync() => Host.Store.WaitForNonStaleProjectionDataAsync(TimeSpan.FromSeconds(30));

    public async Task SqlAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(Database.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    public async Task<T> SqlScalarAsync<T>(string sql)
    {
        await using var connection = new NpgsqlConnection(Database.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return (T)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>Many drafts at once, straight through the event store (as the API would write them), for volume tests.</summary>
    public async Task<IReadOnlyList<Guid>> DraftsAsync(Guid author, Guid workspace, int count)
    {
        await using var session = Host.Store.LightweightSession();
        session.LastModifiedBy = author.ToString();
        var ids = Enumerable.Range(0, count).Select(_ => Guid.CreateVersion7()).ToList();
        foreach (var id in ids)
        {
            session.Events.StartStream<Api.Artifacts.Artifact>(id, new Api.Artifacts.ArtifactCreated(id, workspace, "text/markdown",
                $"Draft {id}", null, [], [], "line\n"));
        }
        await session.SaveChangesAsync();
        return ids;
    }

    /// <summary>How many events the store holds: sad-path tests assert it does not move.</summary>
    public async Task<long> EventCountAsync() => (await Host.Store.Advanced.FetchEventStoreStatistics()).EventCount;
}

public sealed record TestUser(Guid Id, string Email, string Password, string AccessToken, string RefreshToken, HttpClient Client);

[CollectionDefinition("api")]
public sealed class ApiCollection : ICollectionFixture<ApiFixture>;

/// <summary>Base of API tests: resets the data before each test, never after.</summary>
[Collection("api")]
public abstract class ApiTest(ApiFixture fixture) : IAsyncLifetime
{
    protected ApiFixture Fixture { get; } = fixture;
    public Task InitializeAsync() => Fixture.ResetAsync();
    public Task DisposeAsync() => Task.CompletedTask;
}

public static class HttpExtensions
{
    public static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);

    public static async Task<JsonObject> Json(this HttpResponseMessage response) =>
        (await response.Content.ReadFromJsonAsync<JsonNode>(Web))!.AsObject();

    public static async Task<JsonArray> GetFromJson(this HttpClient client, string url) =>
        (await (await client.GetAsync(url)).Content.ReadFromJsonAsync<JsonNode>(Web))!.AsArray();

    public static async Task<string> ProblemCode(this HttpResponseMessage response)
    {
        Xunit.Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        return (await response.Json())["code"]!.GetValue<string>();
    }

    public static Task<HttpResponseMessage> PostJson(this HttpClient client, string url, object body, Action<HttpRequestMessage>? configure = null) =>
        client.SendJson(HttpMethod.Post, url, body, configure);

    public static Task<HttpResponseMessage> SendJson(this HttpClient client, HttpMethod method, string url, object body,
        Action<HttpRequestMessage>? configure = null, string mediaType = "application/json")
    {
        var content = body is string raw ? new StringContent(raw) : new StringContent(JsonSerializer.Serialize(body, Web));
        content.Headers.ContentType = new(mediaType);
        var request = new HttpRequestMessage(method, url) { Content = content };
        configure?.Invoke(request);
        return client.SendAsync(request);
    }

    public static Task<HttpResponseMessage> MergePatch(this HttpClient client, string url, object body, string? ifMatch = null) =>
        client.SendJson(HttpMethod.Patch, url, body, r => { if (ifMatch is not null) r.Headers.TryAddWithoutValidation("If-Match", ifMatch); },
            "application/merge-patch+json");
}
