using Npgsql;
using Testcontainers.PostgreSql;

namespace AgentArtifacts.Api.Tests.Infrastructure;

/// <summary>
/// A real PostgreSQL for the test run: <c>ConnectionStrings__Postgres</c> when set (build/test.sh sets it when no Docker
/// engine runs), else a Testcontainers PostgreSQL. Each run works in a database of its own, dropped at the end.
/// </summary>
public sealed class TestDatabase : IAsyncDisposable
{
    private readonly PostgreSqlContainer? _container;
    private readonly string _serverConnectionString;
    public string ConnectionString { get; }
    private readonly string _name;

    private TestDatabase(PostgreSqlContainer? container, string serverConnectionString)
    {
        _container = container;
        _serverConnectionString = serverConnectionString;
        _name = $"aa_test_{Guid.NewGuid():N}"[..24];
        ConnectionString = new NpgsqlConnectionStringBuilder(serverConnectionString) { Database = _name }.ConnectionString;
    }

    public static async Task<TestDatabase> StartAsync()
    {
        var configured = Environment.GetEnvironmentVariable("ConnectionStrings__Postgres");
        PostgreSqlContainer? container = null;
        if (string.IsNullOrEmpty(configured))
        {
            try
            {
                container = new PostgreSqlBuilder("postgres:17").Build();
                await container.StartAsync();
                configured = container.GetConnectionString();
            }
            catch (Exception e) when (e.GetType().Name.Contains("Docker", StringComparison.Ordinal))
            {
                throw new InvalidOperationException(
                    "No PostgreSQL for the tests: no Docker engine answers and ConnectionStrings__Postgres is not set. Run build/test.sh.", e);
            }
        }

        var database = new TestDatabase(container, configured);
        await database.ExecuteOnServerAsync($"create database {database._name}");
        return database;
    }

    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        await ExecuteOnServerAsync($"drop database if exists {_name} with (force)");
        if (_container is not null) await _container.DisposeAsync();
    }

    private async Task ExecuteOnServerAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(_serverConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
