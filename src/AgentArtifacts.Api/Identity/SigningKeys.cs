using System.Security.Cryptography;
using Marten;
using Npgsql;
using Microsoft.IdentityModel.Protocols;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Microsoft.IdentityModel.Tokens;

namespace AgentArtifacts.Api.Identity;

/// <summary>An RS256 signing key of the local issuer, kept in PostgreSQL so every node signs and validates alike.</summary>
public sealed class SigningKey
{
    public string Id { get; set; } = "";
    public string PrivateKeyPem { get; set; } = "";
    public DateTimeOffset CreatedAt { get; set; }
    /// <summary>Nodes refresh their key ring every few minutes; a new key signs only after all of them know it.</summary>
    public DateTimeOffset ActivatesAt { get; set; }

    public static SigningKey Generate(DateTimeOffset now, DateTimeOffset activatesAt)
    {
        using var rsa = RSA.Create(2048);
        return new SigningKey
        {
            Id = $"k{now:yyyyMMddHHmmss}{Convert.ToHexString(RandomNumberGenerator.GetBytes(4)).ToLowerInvariant()}",
            PrivateKeyPem = rsa.ExportPkcs8PrivateKeyPem(),
            CreatedAt = now,
            ActivatesAt = activatesAt,
        };
    }

    public RsaSecurityKey ToSecurityKey()
    {
        var rsa = RSA.Create();
        rsa.ImportFromPem(PrivateKeyPem);
        return new RsaSecurityKey(rsa) { KeyId = Id };
    }
}

public sealed class SigningKeyOptions
{
    /// <summary>A key signs for this long, then the next one takes over (rotation without downtime).</summary>
    public int KeyLifetimeDays { get; set; } = 90;
    public int AccessTokenMinutes { get; set; } = 60;
    /// <summary>The longest access-token lifetime platform settings may choose; retired keys stay published at least this long.</summary>
    public int MaxAccessTokenMinutes { get; set; } = 1440;
    public int RefreshTokenDays { get; set; } = 30;
    public string Issuer { get; set; } = "http://127.0.0.1:8080";
    public string Audience { get; set; } = "agentartifacts";
}

/// <summary>The rotation rules, as a pure function of the stored keys and the time.</summary>
public static class KeyRing
{
    public static readonly TimeSpan RefreshInterval = TimeSpan.FromMinutes(5);

    /// <summary>The key to sign with now: the newest one already active.</summary>
    public static SigningKey? Active(IEnumerable<SigningKey> keys, DateTimeOffset now) =>
        keys.Where(k => k.ActivatesAt <= now).MaxBy(k => k.ActivatesAt);

    /// <summary>Whether a successor must be published now, so that it is known everywhere before the active key ages out.</summary>
    public static bool NeedsSuccessor(IReadOnlyCollection<SigningKey> keys, DateTimeOffset now, TimeSpan lifetime)
    {
        var newest = keys.MaxBy(k => k.ActivatesAt);
        return newest is null || newest.ActivatesAt + lifetime - RefreshInterval * 2 <= now;
    }

    /// <summary>Keys that still validate tokens: all but those retired longer ago than the longest-lived token.</summary>
    public static IReadOnlyList<SigningKey> Published(IReadOnlyCollection<SigningKey> keys, DateTimeOffset now, TimeSpan tokenLifetime)
    {
        var ordered = keys.OrderBy(k => k.ActivatesAt).ToList();
        return ordered.Where((k, i) => i == ordered.Count - 1 || ordered[i + 1].ActivatesAt + tokenLifetime > now).ToList();
    }
}

/// <summary>
/// Loads the key ring from PostgreSQL, creates the first key or the next one when due, and serves it to the token
/// issuer and, as an OpenID configuration, to JwtBearer validation. Cached for <see cref="KeyRing.RefreshInterval"/>.
/// </summary>
public sealed class SigningKeys(IDocumentStore store, NpgsqlDataSource db, TimeProvider clock,
    Microsoft.Extensions.Options.IOptions<SigningKeyOptions> options) : IConfigurationManager<OpenIdConnectConfiguration>
{
    // Key creation is serialised across nodes, so two nodes starting on an empty database store one key, not two.
    private const long KeyCreationLock = 7300003;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private Snapshot? _current;
    private long _lastUnknownKeyReload;

    private sealed record Snapshot(IReadOnlyList<SigningKey> Keys, IReadOnlyList<SecurityKey> Published, SigningCredentials Active, DateTimeOffset LoadedAt);

    public async Task<SigningCredentials> SigningCredentialsAsync(CancellationToken ct) => (await LoadAsync(ct)).Active;

    /// <summary>An access token of the local issuer: signed with the active key, valid from now for the lifetime, with a fresh jti.</summary>
    public async Task<string> CreateAccessTokenAsync(IEnumerable<System.Security.Claims.Claim> claims, DateTimeOffset now, TimeSpan lifetime,
        CancellationToken ct) =>
        new Microsoft.IdentityModel.JsonWebTokens.JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = options.Value.Issuer,
            Audience = options.Value.Audience,
            IssuedAt = now.UtcDateTime,
            NotBefore = now.UtcDateTime,
            Expires = (now + lifetime).UtcDateTime,
            SigningCredentials = await SigningCredentialsAsync(ct),
            Subject = new System.Security.Claims.ClaimsIdentity([.. claims, new System.Security.Claims.Claim("jti", Guid.CreateVersion7().ToString())]),
        });

    public async Task<IReadOnlyList<SecurityKey>> PublishedKeysAsync(CancellationToken ct) => (await LoadAsync(ct)).Published;

    public async Task<OpenIdConnectConfiguration> GetConfigurationAsync(CancellationToken cancel)
    {
        var snapshot = await LoadAsync(cancel);
        var configuration = new OpenIdConnectConfiguration { Issuer = options.Value.Issuer };
        foreach (var key in snapshot.Published) configuration.SigningKeys.Add(key);
        return configuration;
    }

    /// <summary>
    /// JwtBearer asks for this after refusing a token whose key id the ring does not hold. Nothing to do: a key id is
    /// looked up before validation (<see cref="KnowKeyOfAsync"/>), which reloads the ring when it is worth it.
    /// </summary>
    public void RequestRefresh() { }

    /// <summary>
    /// Before a local token is validated: if it names a key id this node's ring does not hold (a key another node has just
    /// stored), reload the ring once, so the token is accepted on its first request instead of being refused until the
    /// next periodic refresh. At most one such reload per <see cref="MinRefreshSpacing"/> on a node: forged tokens with
    /// made-up key ids must not turn into database load.
    /// </summary>
    public async Task KnowKeyOfAsync(string token, CancellationToken ct)
    {
        var handler = new Microsoft.IdentityModel.JsonWebTokens.JsonWebTokenHandler();
        if (!handler.CanReadToken(token)) return;
        string kid;
        try { kid = handler.ReadJsonWebToken(token).Kid; }
        catch (Exception e) when (e is ArgumentException or SecurityTokenException) { return; }  // JwtBearer answers it
        if (string.IsNullOrEmpty(kid) || (await LoadAsync(ct)).Keys.Any(k => k.Id == kid)) return;

        var now = clock.GetUtcNow().UtcTicks;
        var last = Interlocked.Read(ref _lastUnknownKeyReload);
        if (now - last < MinRefreshSpacing.Ticks || Interlocked.CompareExchange(ref _lastUnknownKeyReload, now, last) != last) return;
        _current = null;
        await LoadAsync(ct);
    }

    /// <summary>Forget the cached ring; the next use reloads it from the database.</summary>
    public void Invalidate() => _current = null;

    private static readonly TimeSpan MinRefreshSpacing = TimeSpan.FromSeconds(10);

    private async Task<Snapshot> LoadAsync(CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        if (_current is { } fresh && now - fresh.LoadedAt < KeyRing.RefreshInterval) return fresh;

        await _gate.WaitAsync(ct);
        try
        {
            if (_current is { } loaded && now - loaded.LoadedAt < KeyRing.RefreshInterval) return loaded;

            IReadOnlyList<SigningKey> keys;
            await using (var session = store.QuerySession()) keys = await session.Query<SigningKey>().ToListAsync(ct);
            var lifetime = TimeSpan.FromDays(options.Value.KeyLifetimeDays);
            if (KeyRing.NeedsSuccessor(keys, now, lifetime)) keys = await CreateKeyUnlessAnotherNodeDidAsync(lifetime, ct);
            // A key may be another node's, stored while this one waited for the gate or the lock: judge the ring at the
            // time after reading it, or a first key created a moment ago would not be active yet.
            now = clock.GetUtcNow();

            // Admins may lengthen access tokens up to the maximum (platform settings): keep keys for the longest possible token.
            var tokenLifetime = TimeSpan.FromMinutes(Math.Max(options.Value.AccessTokenMinutes, options.Value.MaxAccessTokenMinutes));
            var active = KeyRing.Active(keys, now)!;
            var published = KeyRing.Published(keys, now, tokenLifetime).Select(k => (SecurityKey)k.ToSecurityKey()).ToList();
            return _current = new Snapshot(keys, published,
                new SigningCredentials(active.ToSecurityKey(), SecurityAlgorithms.RsaSha256), now);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Under a transaction-scoped advisory lock, reads the keys again and stores a new one only if they still need it: of
    /// nodes that find the ring empty (or due) at once, one stores the key and the others read it.
    /// </summary>
    private async Task<IReadOnlyList<SigningKey>> CreateKeyUnlessAnotherNodeDidAsync(TimeSpan lifetime, CancellationToken ct)
    {
        await using var connection = await db.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        await using (var lockCommand = new NpgsqlCommand($"select pg_advisory_xact_lock({KeyCreationLock})", connection, transaction))
        {
            await lockCommand.ExecuteNonQueryAsync(ct);
        }
        await using var session = store.LightweightSession(Marten.Services.SessionOptions.ForTransaction(transaction));
        var keys = await session.Query<SigningKey>().ToListAsync(ct);
        var now = clock.GetUtcNow();
        if (KeyRing.NeedsSuccessor(keys, now, lifetime))
        {
            // The very first key signs at once; successors wait until every node has refreshed its ring.
            var key = SigningKey.Generate(now, keys.Count == 0 ? now : now + KeyRing.RefreshInterval);
            session.Insert(key);
            await session.SaveChangesAsync(ct);
            keys = [.. keys, key];
        }
        await transaction.CommitAsync(ct);
        return keys;
    }
}
