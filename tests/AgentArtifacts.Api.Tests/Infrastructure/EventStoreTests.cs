using AgentArtifacts.Api.Infrastructure;
using Npgsql;
using Shouldly;
using Xunit;

namespace AgentArtifacts.Api.Tests.Infrastructure;

/// <summary>The startup options every connection carries so PostgreSQL notices a dead node (the node test measures the effect).</summary>
public sealed class EventStoreTests
{
    [Fact]
    public void every_connection_asks_the_server_to_check_its_client_and_keep_tcp_alive()
    {
        var options = new NpgsqlConnectionStringBuilder(EventStore.WithDeadClientDetection(new NpgsqlConnectionStringBuilder("Host=db"))).Options;

        options.ShouldBe("-c client_connection_check_interval=500 -c tcp_keepalives_idle=5 -c tcp_keepalives_interval=2 -c tcp_keepalives_count=3");
    }

    [Fact]
    public void settings_already_in_the_connection_string_win()
    {
        var given = new NpgsqlConnectionStringBuilder("Host=db") { Options = "-c client_connection_check_interval=250 -c search_path=x" };

        var options = new NpgsqlConnectionStringBuilder(EventStore.WithDeadClientDetection(given)).Options!;

        options.ShouldStartWith("-c client_connection_check_interval=250 -c search_path=x");
        options.Split("client_connection_check_interval").Length.ShouldBe(2);
        options.ShouldContain("-c tcp_keepalives_idle=5");
    }
}
