using AgentArtifacts.Api.Commits;
using AgentArtifacts.Api.Tests.Infrastructure;
using Shouldly;
using Xunit;

namespace AgentArtifacts.Api.Tests.Commits;

/// <summary>Commit tokens against the real key store: two instances stand for two nodes, or one node before and after a restart.</summary>
public sealed class CommitTokensTests(ApiFixture fixture) : ApiTest(fixture)
{
    private static readonly Guid Workspace = Guid.CreateVersion7();
    private static readonly Guid Caller = Guid.CreateVersion7();
    private static readonly (Guid, long)[] Drafts = [(Guid.CreateVersion7(), 3), (Guid.CreateVersion7(), 1)];

    [Fact]
    public async Task a_token_issued_by_one_node_is_accepted_by_another_with_the_versions_it_pinned()
    {
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        var token = await new CommitTokens(Fixture.Host.Store, clock).IssueAsync(Workspace, Caller, Drafts, default);

        var pinned = await new CommitTokens(Fixture.Host.Store, clock).ReadAsync(token, Workspace, Caller, default);

        pinned.ShouldNotBeNull();
        pinned.ShouldBe(Drafts.ToDictionary(d => d.Item1, d => d.Item2), ignoreOrder: true);
    }

    [Fact]
    public async Task a_token_is_refused_after_its_lifetime_for_another_caller_or_workspace_and_when_altered()
    {
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        var tokens = new CommitTokens(Fixture.Host.Store, clock);
        var token = await tokens.IssueAsync(Workspace, Caller, Drafts, default);
        var payload = token.Split('.')[0];
        var altered = (payload[0] == 'A' ? "B" : "A") + token[1..];

        (await tokens.ReadAsync(token, Workspace, Guid.CreateVersion7(), default)).ShouldBeNull();
        (await tokens.ReadAsync(token, Guid.CreateVersion7(), Caller, default)).ShouldBeNull();
        (await tokens.ReadAsync(altered, Workspace, Caller, default)).ShouldBeNull();
        (await tokens.ReadAsync("a.b.c", Workspace, Caller, default)).ShouldBeNull();
        clock.Advance(CommitTokens.Lifetime + TimeSpan.FromSeconds(1));
        (await tokens.ReadAsync(token, Workspace, Caller, default)).ShouldBeNull();
    }
}
