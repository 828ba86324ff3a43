using System.Net;
using AgentArtifacts.Api.Identity;
using AgentArtifacts.Api.Tests.Infrastructure;
using Marten;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Npgsql;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Shouldly;
using Xunit;

namespace AgentArtifacts.Api.Tests.Identity;

/// <summary>The rotation rules of <see cref="KeyRing"/>: pure decisions over stored keys and a time, no database.</summary>
public sealed class KeyRingTests
{
    private static readonly DateTimeOffset Now = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Lifetime = TimeSpan.FromDays(90);
    private static readonly TimeSpan TokenLifetime = TimeSpan.FromMinutes(60);

    private static SigningKey Key(string id, DateTimeOffset activatesAt) => new() { Id = id, CreatedAt = activatesAt, ActivatesAt = activatesAt };

    [Fact]
    public void active_is_the_newest_key_already_active()
    {
        SigningKey[] keys = [Key("old", Now.AddDays(-100)), Key("current", Now.AddDays(-10)), Key("older", Now.AddDays(-200))];

        KeyRing.Active(keys, Now)!.Id.ShouldBe("current");
    }

    [Fact]
    public void active_ignores_a_successor_that_activates_in_the_future()
    {
        SigningKey[] keys = [Key("current", Now.AddDays(-89)), Key("successor", Now.AddMinutes(3))];

        KeyRing.Active(keys, Now)!.Id.ShouldBe("current");
        KeyRing.Active(keys, Now.AddMinutes(3))!.Id.ShouldBe("successor");
    }

    [Fact]
    public void active_of_no_keys_is_none()
    {
        KeyRing.Active([], Now).ShouldBeNull();
    }

    [Fact]
    public void an_empty_ring_needs_a_successor()
    {
        KeyRing.NeedsSuccessor([], Now, Lifetime).ShouldBeTrue();
    }

    [Fact]
    public void a_fresh_key_needs_no_successor()
    {
        KeyRing.NeedsSuccessor([Key("fresh", Now.AddDays(-1))], Now, Lifetime).ShouldBeFalse();
    }

    [Fact]
    public void a_key_near_the_end_of_its_lifetime_needs_a_successor_early_enough_for_every_node_to_learn_it()
    {
        var margin = KeyRing.RefreshInterval * 2;

        KeyRing.NeedsSuccessor([Key("ageing", Now - Lifetime + margin + TimeSpan.FromSeconds(1))], Now, Lifetime).ShouldBeFalse();
        KeyRing.NeedsSuccessor([Key("ageing", Now - Lifetime + margin)], Now, Lifetime).ShouldBeTrue();
        KeyRing.NeedsSuccessor([Key("expired", Now - Lifetime - TimeSpan.FromDays(1))], Now, Lifetime).ShouldBeTrue();
    }

    [Fact]
    public void a_pending_successor_means_no_further_successor_is_needed()
    {
        SigningKey[] keys = [Key("ageing", Now - Lifetime + TimeSpan.FromMinutes(5)), Key("successor", Now.AddMinutes(2))];

        KeyRing.NeedsSuccessor(keys, Now, Lifetime).ShouldBeFalse();
    }

    [Fact]
    public void published_always_keeps_the_newest_key()
    {
        KeyRing.Published([Key("only", Now.AddDays(-400))], Now, TokenLifetime).Select(k => k.Id).ShouldBe(["only"]);
    }

    [Fact]
    public void published_includes_a_successor_before_it_activates_and_its_predecessor()
    {
        SigningKey[] keys = [Key("successor", Now.AddMinutes(4)), Key("current", Now.AddDays(-90))];

        KeyRing.Published(keys, Now, TokenLifetime).Select(k => k.Id).ShouldBe(["current", "successor"]);
    }

    [Fact]
    public void a_retired_key_stays_published_until_the_tokens_it_signed_have_expired()
    {
        var successorActivated = Now.AddMinutes(-30);
        SigningKey[] keys = [Key("retired", Now.AddDays(-90)), Key("current", successorActivated)];

        KeyRing.Published(keys, Now, TokenLifetime).Select(k => k.Id).ShouldBe(["retired", "current"]);
        KeyRing.Published(keys, successorActivated + TokenLifetime - TimeSpan.FromSeconds(1), TokenLifetime).Select(k => k.Id)
            .ShouldBe(["retired", "current"]);
        KeyRing.Published(keys, successorActivated + TokenLifetime, TokenLifetime).Select(k => k.Id).ShouldBe(["current"]);
    }

    [Fact]
    public void only_keys_retired_longer_than_a_token_lifetime_ago_are_dropped()
    {
        SigningKey[] keys = [Key("ancient", Now.AddDays(-180)), Key("retired", Now.AddDays(-90)), Key("current", Now.AddMinutes(-10))];

        KeyRing.Published(keys, Now, TokenLifetime).Select(k => k.Id).ShouldBe(["retired", "current"]);
    }
}

/// <summary>The key ring kept in PostgreSQL: shared by every node, and rotated without invalidating live tokens.</summary>
public sealed class SigningKeysTests(ApiFixture fixture) : ApiTest(fixture)
{
    [Fact]
    public async Task a_token_validates_on_another_node_and_both_publish_its_key()
    {
        var ada = await Fixture.NewUserAsync();
        var kid = new JsonWebToken(ada.AccessToken).Kid;

        await using var otherNode = ServiceHost.Start(Fixture.Database.ConnectionString);
        var me = await otherNode.NewClient(ada.AccessToken).GetAsync("/auth/me");

        me.StatusCode.ShouldBe(HttpStatusCode.OK, await me.Content.ReadAsStringAsync());
        (await me.Json())["id"]!.GetValue<Guid>().ShouldBe(ada.Id);
        var here = await PublishedKeyIdsAsync(Fixture.Host.NewClient());
        var there = await PublishedKeyIdsAsync(otherNode.NewClient());
        here.ShouldContain(kid);
        there.ShouldBe(here, ignoreOrder: true);

        // And the other way round: a token the second node issues works on the first.
        var fromOtherNode = await otherNode.NewClient().PasswordGrant(ada.Email, ada.Password);
        fromOtherNode.StatusCode.ShouldBe(HttpStatusCode.OK);
        var token = (await fromOtherNode.Json())["access_token"]!.GetValue<string>();
        new JsonWebToken(token).Kid.ShouldBe(kid);
        (await Fixture.Host.NewClient(token).GetAsync("/auth/me")).StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public async Task keys_rotate_without_invalidating_tokens_signed_by_the_previous_key()
    {
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        var options = Options.Create(new SigningKeyOptions { KeyLifetimeDays = 90, AccessTokenMinutes = 60, MaxAccessTokenMinutes = 60 });
        var node = new SigningKeys(Fixture.Host.Store, Fixture.Host.Services.GetRequiredService<NpgsqlDataSource>(), clock, options);

        var first = (await node.SigningCredentialsAsync(default)).Key.KeyId;
        (await PublishedAsync(node)).ShouldBe([first]);

        // Near the end of the first key's lifetime a successor is published, but does not sign yet.
        clock.Advance(TimeSpan.FromDays(90) - TimeSpan.FromMinutes(9));
        (await node.SigningCredentialsAsync(default)).Key.KeyId.ShouldBe(first);
        var published = await PublishedAsync(node);
        published.Count.ShouldBe(2);
        var successor = published.Single(k => k != first);

        // Another node that loads now learns the successor too, and adds no key of its own.
        var otherNode = new SigningKeys(Fixture.Host.Store, Fixture.Host.Services.GetRequiredService<NpgsqlDataSource>(), clock, options);
        (await otherNode.SigningCredentialsAsync(default)).Key.KeyId.ShouldBe(first);
        (await PublishedAsync(otherNode)).ShouldBe(published, ignoreOrder: true);
        await using (var session = Fixture.Host.Store.QuerySession()) (await session.Query<SigningKey>().CountAsync()).ShouldBe(2);

        // Once every node has refreshed, the successor signs; the first key still validates the tokens it signed.
        clock.Advance(KeyRing.RefreshInterval + TimeSpan.FromSeconds(1));
        (await node.SigningCredentialsAsync(default)).Key.KeyId.ShouldBe(successor);
        (await PublishedAsync(node)).ShouldBe([first, successor], ignoreOrder: true);

        // After the longest-lived token of the first key has expired, the first key is withdrawn.
        clock.Advance(TimeSpan.FromMinutes(61));
        (await PublishedAsync(node)).ShouldBe([successor]);
    }

    private static async Task<List<string>> PublishedAsync(SigningKeys keys) =>
        (await keys.PublishedKeysAsync(default)).Select(k => k.KeyId).ToList();

    private static async Task<List<string>> PublishedKeyIdsAsync(HttpClient client)
    {
        var response = await client.GetAsync("/.well-known/jwks.json");
        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        return (await response.Json())["keys"]!.AsArray().Select(k => k!["kid"]!.GetValue<string>()).ToList();
    }
}

/// <summary>Nodes that meet an empty key table, or a key they have not loaded yet: on a database of their own.</summary>
public sealed class SigningKeysAcrossNodesTests() : IsolatedHostTest(new Dictionary<string, string?>())
{
    [Fact]
    public async Task nodes_finding_no_key_at_once_store_one_and_all_sign_with_it()
    {
        var options = Options.Create(new SigningKeyOptions());
        var db = Host.Services.GetRequiredService<NpgsqlDataSource>();
        var nodes = Enumerable.Range(0, 6).Select(_ => new SigningKeys(Host.Store, db, TimeProvider.System, options)).ToList();

        var signingKeyIds = await Task.WhenAll(nodes.Select(async n => (await n.SigningCredentialsAsync(default)).Key.KeyId));

        signingKeyIds.Distinct().Count().ShouldBe(1);
        await using var session = Host.Store.QuerySession();
        (await session.Query<SigningKey>().CountAsync()).ShouldBe(1);
    }

    [Fact]
    public async Task a_token_signed_with_a_key_this_node_has_not_loaded_is_accepted_on_its_first_request()
    {
        var adaToken = await RegisterAdaAsync(Host);
        await using var otherNode = ServiceHost.Start(Database.ConnectionString);
        (await otherNode.NewClient(adaToken).GetAsync("/auth/me")).StatusCode.ShouldBe(HttpStatusCode.OK);

        // A newer key appears (as another node stores one) and the first node signs with it; the other node's ring is loaded.
        await using (var session = Host.Store.LightweightSession())
        {
            // Active from now: newer than the first key, which registration created moments ago (a second back could precede it).
            var now = DateTimeOffset.UtcNow;
            session.Insert(SigningKey.Generate(now, now));
            await session.SaveChangesAsync();
        }
        Host.Services.GetRequiredService<SigningKeys>().Invalidate();
        var grant = await Host.NewClient().PasswordGrant("ada@example.com", "correct horse battery");
        var newToken = (await grant.Json())["access_token"]!.GetValue<string>();
        new JsonWebToken(newToken).Kid.ShouldNotBe(new JsonWebToken(adaToken).Kid);

        var me = await otherNode.NewClient(newToken).GetAsync("/auth/me");

        me.StatusCode.ShouldBe(HttpStatusCode.OK);
        // A made-up key id costs at most one reload and is refused.
        var forged = newToken.Split('.');
        forged[0] = Base64UrlEncoder.Encode("""{"alg":"RS256","kid":"made-up","typ":"JWT"}""");
        (await otherNode.NewClient(string.Join('.', forged)).GetAsync("/auth/me")).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
    }
}
