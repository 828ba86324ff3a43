using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Marten;

namespace AgentArtifacts.Api.Commits;

/// <summary>The HMAC key commit tokens are signed with: made once, kept in PostgreSQL, so every node and every restart shares it.</summary>
public sealed class CommitTokenKey
{
    public const string SingletonId = "commit-tokens";
    public string Id { get; set; } = SingletonId;
    public string Secret { get; set; } = "";
}

/// <summary>
/// A commit token binds a preview to a commit: the workspace, the caller and each draft's exact stream version, signed, with
/// an expiry. Format: <c>base64url(payload JSON) "." base64url(HMAC-SHA256(payload))</c>; opaque to clients.
/// </summary>
public sealed class CommitTokens(IDocumentStore store, TimeProvider clock)
{
    public static readonly TimeSpan Lifetime = TimeSpan.FromHours(1);
    private Task<byte[]>? key;

    private sealed record Payload(Guid W, Guid U, long Exp, Dictionary<Guid, long> D);

    public async Task<string> IssueAsync(Guid workspaceId, Guid callerId, IEnumerable<(Guid Id, long Version)> drafts, CancellationToken ct)
    {
        var payload = JsonSerializer.SerializeToUtf8Bytes(new Payload(workspaceId, callerId,
            clock.GetUtcNow().Add(Lifetime).ToUnixTimeSeconds(), drafts.ToDictionary(d => d.Id, d => d.Version)));
        var signature = HMACSHA256.HashData(await KeyAsync(ct), payload);
        return $"{Base64Url.EncodeToString(payload)}.{Base64Url.EncodeToString(signature)}";
    }

    /// <summary>The drafts and versions the token covers, when it is genuine, current, and this caller's for this workspace.</summary>
    public async Task<IReadOnlyDictionary<Guid, long>?> ReadAsync(string token, Guid workspaceId, Guid callerId, CancellationToken ct)
    {
        var parts = token.Split('.');
        if (parts.Length != 2) return null;
        try
        {
            var payload = Base64Url.DecodeFromChars(parts[0]);
            var signature = Base64Url.DecodeFromChars(parts[1]);
            if (!CryptographicOperations.FixedTimeEquals(HMACSHA256.HashData(await KeyAsync(ct), payload), signature)) return null;
            var read = JsonSerializer.Deserialize<Payload>(payload);
            return read is not null && read.W == workspaceId && read.U == callerId && read.Exp > clock.GetUtcNow().ToUnixTimeSeconds() ? read.D : null;
        }
        catch (Exception e) when (e is FormatException or JsonException)
        {
            return null;
        }
    }

    private async Task<byte[]> KeyAsync(CancellationToken ct)
    {
        // Shared by all requests, so no single request's cancellation may fault it; a failed load is retried by the next caller.
        var loading = key ??= LoadOrCreateAsync(CancellationToken.None);
        try
        {
            return await loading.WaitAsync(ct);
        }
        catch when (loading.IsFaulted)
        {
            key = null;
            throw;
        }
    }

    private async Task<byte[]> LoadOrCreateAsync(CancellationToken ct)
    {
        if (await ExistingAsync(ct) is { } existing) return Convert.FromBase64String(existing.Secret);
        await using var session = store.LightweightSession();
        try
        {
            session.Insert(new CommitTokenKey { Secret = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)) });
            await session.SaveChangesAsync(ct);
        }
        catch (Exception)
        {
            // Another node made it first and the insert hit its primary key: use theirs. Anything else: fail.
            if (await ExistingAsync(ct) is null) throw;
        }
        return Convert.FromBase64String((await ExistingAsync(ct))!.Secret);
    }

    private async Task<CommitTokenKey?> ExistingAsync(CancellationToken ct)
    {
        await using var reader = store.QuerySession();
        return await reader.LoadAsync<CommitTokenKey>(CommitTokenKey.SingletonId, ct);
    }
}
