using System.Security.Cryptography;
using System.Text;

namespace AgentArtifacts.Api.StoredSecrets;

/// <summary>
/// Encrypts secret values with AES-256-GCM under a key from configuration, never from the database:
/// <c>Secrets:EncryptionKey</c> (base64, 32 bytes) encrypts; <c>Secrets:EncryptionKeys</c> (a list, or comma-separated)
/// holds retired keys that still decrypt. Each ciphertext names its key by fingerprint, and binds owner and secret id as
/// associated data, so a ciphertext copied onto another row (or another owner) fails to decrypt.
/// </summary>
public sealed class SecretVault
{
    public const int KeyBytes = 32;
    private const int NonceBytes = 12;
    private const int TagBytes = 16;

    private readonly string? _currentKeyId;
    private readonly Dictionary<string, byte[]> _keys = new(StringComparer.Ordinal);

    /// <summary>Why the configuration is unusable (a key that is not 32 bytes of base64); null when it is fine or absent.</summary>
    public string? ConfigurationError { get; }

    /// <summary>Whether a current key is configured, so secrets can be created and used.</summary>
    public bool IsAvailable => _currentKeyId is not null;

    public SecretVault(IConfiguration configuration)
        : this(configuration["Secrets:EncryptionKey"], RetiredKeys(configuration.GetSection("Secrets:EncryptionKeys")))
    {
    }

    public SecretVault(string? currentKey, IEnumerable<string> retiredKeys)
    {
        foreach (var retired in retiredKeys)
        {
            if (TryReadKey(retired, "Secrets:EncryptionKeys", out var key, out var error)) _keys[KeyId(key)] = key;
            else ConfigurationError ??= error;
        }
        if (string.IsNullOrWhiteSpace(currentKey)) return;
        if (TryReadKey(currentKey, "Secrets:EncryptionKey", out var current, out var currentError))
        {
            _currentKeyId = KeyId(current);
            _keys[_currentKeyId] = current;
        }
        else
        {
            ConfigurationError = currentError;
        }
    }

    /// <summary>A fresh random key, base64: what <c>build/run.sh</c> generates once into <c>.local/</c>.</summary>
    public static string NewKey() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(KeyBytes));

    /// <summary>Encrypts a value for the secret <paramref name="secretId"/> of <paramref name="ownerId"/> under the current key.</summary>
    public SecretCiphertext Encrypt(Guid secretId, Guid ownerId, string name, string value)
    {
        if (_currentKeyId is null) throw new InvalidOperationException("No secrets encryption key is configured.");
        var plaintext = Encoding.UTF8.GetBytes(value);
        var nonce = RandomNumberGenerator.GetBytes(NonceBytes);
        var sealedBytes = new byte[plaintext.Length + TagBytes];
        using var aes = new AesGcm(_keys[_currentKeyId], TagBytes);
        aes.Encrypt(nonce, plaintext, sealedBytes.AsSpan(0, plaintext.Length), sealedBytes.AsSpan(plaintext.Length), AssociatedData(secretId, ownerId));
        CryptographicOperations.ZeroMemory(plaintext);
        return new SecretCiphertext { Id = secretId, OwnerId = ownerId, Name = name, KeyId = _currentKeyId, Nonce = nonce, Sealed = sealedBytes };
    }

    /// <summary>
    /// The value of a stored secret. Throws <see cref="CryptographicException"/> when its key is not configured here, or when
    /// the ciphertext, its owner or its id were tampered with (GCM authentication fails).
    /// </summary>
    public string Decrypt(SecretCiphertext ciphertext)
    {
        if (!_keys.TryGetValue(ciphertext.KeyId, out var key))
        {
            throw new CryptographicException($"Secret {ciphertext.Id} was encrypted with key {ciphertext.KeyId}, which is not configured.");
        }
        if (ciphertext.Nonce.Length != NonceBytes || ciphertext.Sealed.Length < TagBytes)
        {
            throw new CryptographicException($"Secret {ciphertext.Id} has a malformed ciphertext.");
        }
        var length = ciphertext.Sealed.Length - TagBytes;
        var plaintext = new byte[length];
        using var aes = new AesGcm(key, TagBytes);
        aes.Decrypt(ciphertext.Nonce, ciphertext.Sealed.AsSpan(0, length), ciphertext.Sealed.AsSpan(length), plaintext,
            AssociatedData(ciphertext.Id, ciphertext.OwnerId));
        var value = Encoding.UTF8.GetString(plaintext);
        CryptographicOperations.ZeroMemory(plaintext);
        return value;
    }

    /// <summary>The fingerprint stored beside each ciphertext: 8 bytes of a SHA-256 of the key, which reveals nothing usable about it.</summary>
    public static string KeyId(byte[] key)
    {
        byte[] input = [.. "agentartifacts-secret-key:"u8, .. key];
        return Convert.ToHexStringLower(SHA256.HashData(input).AsSpan(0, 8));
    }

    private static byte[] AssociatedData(Guid secretId, Guid ownerId) => Encoding.UTF8.GetBytes($"agentartifacts-secret-v1:{ownerId:N}:{secretId:N}");

    private static IEnumerable<string> RetiredKeys(IConfigurationSection section) =>
        section.GetChildren().Select(c => c.Value).Append(section.Value)
            .SelectMany(v => (v ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

    private static bool TryReadKey(string text, string setting, out byte[] key, out string error)
    {
        key = [];
        error = $"{setting} must be {KeyBytes} random bytes in base64 (e.g. `openssl rand -base64 32`).";
        try
        {
            key = Convert.FromBase64String(text.Trim());
        }
        catch (FormatException)
        {
            return false;
        }
        return key.Length == KeyBytes;
    }
}

public static class SecretsSetup
{
    /// <summary>The vault, the resolver invocations use, and the start-up check of the key configuration.</summary>
    public static void AddSecrets(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<SecretVault>();
        builder.Services.AddSingleton<SecretResolver>();
        builder.Services.AddHostedService<SecretKeyCheck>();
    }
}

/// <summary>
/// Fails the start (before any other hosted service starts) when the key configuration is invalid, or when no key is
/// configured outside Development. In Development a missing key only makes secrets unavailable (503 <c>secrets_unavailable</c>).
/// </summary>
public sealed class SecretKeyCheck(SecretVault vault, IHostEnvironment environment, ILogger<SecretKeyCheck> logger) : IHostedLifecycleService
{
    public Task StartingAsync(CancellationToken cancellationToken)
    {
        if (vault.ConfigurationError is { } error) throw new InvalidOperationException(error);
        if (vault.IsAvailable) return Task.CompletedTask;
        if (!environment.IsDevelopment())
        {
            throw new InvalidOperationException(
                "Secrets:EncryptionKey is not configured: set it to 32 random bytes in base64 (build/run.sh generates one into .local/).");
        }
        logger.LogWarning("Secrets:EncryptionKey is not configured: creating and using secrets is unavailable (503 secrets_unavailable)");
        return Task.CompletedTask;
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
