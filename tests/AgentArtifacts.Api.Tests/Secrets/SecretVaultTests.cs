using System.Security.Cryptography;
using System.Text.Json.Nodes;
using AgentArtifacts.Api.Runs;
using AgentArtifacts.Api.StoredSecrets;
using AgentArtifacts.Api.Tests.Infrastructure;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Shouldly;
using Xunit;

namespace AgentArtifacts.Api.Tests.StoredSecrets;

/// <summary>Pure tests of encryption, key configuration and redaction: no database.</summary>
public sealed class SecretVaultTests
{
    private static readonly Guid Owner = Guid.CreateVersion7(), Secret = Guid.CreateVersion7();

    [Fact]
    public void a_value_round_trips_and_the_ciphertext_does_not_contain_it()
    {
        var vault = new SecretVault(SecretVault.NewKey(), []);

        var sealedValue = vault.Encrypt(Secret, Owner, "TOKEN", "päss-wörd");

        vault.Decrypt(sealedValue).ShouldBe("päss-wörd");
        System.Text.Encoding.UTF8.GetString(sealedValue.Sealed).ShouldNotContain("ss-w");
        sealedValue.Nonce.Length.ShouldBe(12);
        vault.Encrypt(Secret, Owner, "TOKEN", "päss-wörd").Nonce.ShouldNotBe(sealedValue.Nonce);
    }

    [Fact]
    public void decrypting_with_a_different_key_fails()
    {
        var sealedValue = new SecretVault(SecretVault.NewKey(), []).Encrypt(Secret, Owner, "TOKEN", "value");
        var other = new SecretVault(SecretVault.NewKey(), []);

        // Unknown key id…
        Should.Throw<CryptographicException>(() => other.Decrypt(sealedValue));
        // …and even under the other key's id, GCM authentication fails.
        var otherKeyId = other.Encrypt(Secret, Owner, "X", "y").KeyId;
        Should.Throw<CryptographicException>(() => other.Decrypt(new SecretCiphertext
        {
            Id = Secret, OwnerId = Owner, Name = "TOKEN", KeyId = otherKeyId, Nonce = sealedValue.Nonce, Sealed = sealedValue.Sealed,
        }));
    }

    [Fact]
    public void a_ciphertext_moved_to_another_secret_or_owner_does_not_decrypt()
    {
        var vault = new SecretVault(SecretVault.NewKey(), []);
        var sealedValue = vault.Encrypt(Secret, Owner, "TOKEN", "value");

        Should.Throw<CryptographicException>(() => vault.Decrypt(Copy(sealedValue, id: Guid.CreateVersion7())));
        Should.Throw<CryptographicException>(() => vault.Decrypt(Copy(sealedValue, owner: Guid.CreateVersion7())));
        var tampered = Copy(sealedValue);
        tampered.Sealed[0] ^= 1;
        Should.Throw<CryptographicException>(() => vault.Decrypt(tampered));
    }

    [Fact]
    public void a_retired_key_still_decrypts_while_new_values_use_the_current_key()
    {
        var (oldKey, newKey) = (SecretVault.NewKey(), SecretVault.NewKey());
        var before = new SecretVault(oldKey, []).Encrypt(Secret, Owner, "TOKEN", "old value");

        var rotated = new SecretVault(newKey, [oldKey]);

        rotated.Decrypt(before).ShouldBe("old value");
        rotated.Encrypt(Secret, Owner, "TOKEN", "new").KeyId.ShouldNotBe(before.KeyId);
        Should.Throw<CryptographicException>(() => new SecretVault(newKey, []).Decrypt(before));
    }

    [Theory]
    [InlineData("not base64!")]
    [InlineData("c2hvcnQ=")]
    public void a_malformed_key_is_a_configuration_error(string key)
    {
        var vault = new SecretVault(key, []);

        vault.IsAvailable.ShouldBeFalse();
        vault.ConfigurationError!.ShouldContain("Secrets:EncryptionKey");
        new SecretVault(SecretVault.NewKey(), [key]).ConfigurationError!.ShouldContain("Secrets:EncryptionKeys");
    }

    [Theory]
    [InlineData("Production", true)]
    [InlineData("Staging", true)]
    [InlineData("Development", false)]
    public async Task without_a_key_the_service_refuses_to_start_outside_development(string environment, bool fails)
    {
        var check = new SecretKeyCheck(new SecretVault(null, []), new Env(environment), NullLogger<SecretKeyCheck>.Instance);

        Func<Task> start = () => check.StartingAsync(CancellationToken.None);

        if (fails) (await Should.ThrowAsync<InvalidOperationException>(start)).Message.ShouldContain("Secrets:EncryptionKey");
        else await start();
    }

    [Fact]
    public async Task a_malformed_key_refuses_to_start_even_in_development()
    {
        var check = new SecretKeyCheck(new SecretVault("short", []), new Env("Development"), NullLogger<SecretKeyCheck>.Instance);

        await Should.ThrowAsync<InvalidOperationException>(() => check.StartingAsync(CancellationToken.None));
    }

    [Fact]
    public void the_test_hosts_key_is_valid()
    {
        new SecretVault(ServiceHost.TestSecretsKey, []).IsAvailable.ShouldBeTrue();
    }

    private static SecretCiphertext Copy(SecretCiphertext c, Guid? id = null, Guid? owner = null) => new()
    {
        Id = id ?? c.Id, OwnerId = owner ?? c.OwnerId, Name = c.Name, KeyId = c.KeyId, Nonce = c.Nonce, Sealed = [.. c.Sealed],
    };

    private sealed class Env(string name) : IHostEnvironment
    {
        public string EnvironmentName { get; set; } = name;
        public string ApplicationName { get; set; } = "test";
        public string ContentRootPath { get; set; } = "/";
        public Microsoft.Extensions.FileProviders.IFileProvider ContentRootFileProvider { get; set; } = null!;
    }
}

public sealed class SecretRedactionTests
{
    [Fact]
    public void every_used_value_is_removed_from_output_and_error_at_any_depth()
    {
        var headers = ResolvedHeadersFor(("TOKEN", "tok-123\"x"), ("SHORT", "tok"));
        var result = new RunResult(
            JsonNode.Parse("""{"auth":"Bearer tok-123\"x","nested":[{"tok-123\"x":"again tok"}],"n":5,"escaped":"tok-123\\u0022x"}"""),
            RunResult.Failed("upstream_error", "The endpoint answered 401: bad token tok-123%22x").Error);

        var redacted = headers.Redact(result);

        var text = redacted.Output!.ToJsonString() + redacted.Error!.ToJsonString();
        text.ShouldNotContain("tok", Case.Sensitive);
        redacted.Output!["auth"]!.GetValue<string>().ShouldBe("Bearer [secret:TOKEN]");
        redacted.Output!["nested"]![0]!["[secret:TOKEN]"]!.GetValue<string>().ShouldBe("again [secret:SHORT]");
        redacted.Output!["n"]!.GetValue<int>().ShouldBe(5);
        redacted.Error!["code"]!.GetValue<string>().ShouldBe("upstream_error");
    }

    [Fact]
    public void without_secrets_the_result_is_unchanged()
    {
        var result = new RunResult(JsonNode.Parse("""{"a":1}"""), null);

        ResolvedHeadersFor().Redact(result).ShouldBeSameAs(result);
    }

    private static ResolvedHeaders ResolvedHeadersFor(params (string Name, string Value)[] used) =>
        new([], used.ToDictionary(u => u.Name, u => u.Value), null);
}

public sealed class SecretResolverTests
{
    // Neither case reaches the database: without references nothing is loaded; a malformed one fails first.
    private static readonly SecretResolver Resolver = new(null!, new SecretVault(SecretVault.NewKey(), []), NullLogger<SecretResolver>.Instance);

    [Fact]
    public async Task headers_without_references_pass_unchanged_and_nothing_is_redacted()
    {
        var headers = await Resolver.ResolveAsync(new JsonObject { ["Authorization"] = "Bearer plain", ["X-Other"] = "{{not a secret}}" }, Guid.NewGuid(), default);

        headers.Failure.ShouldBeNull();
        headers.Values.ShouldBe([new("Authorization", "Bearer plain"), new("X-Other", "{{not a secret}}")]);
        headers.UsedSecretNames.ShouldBeEmpty();
        (await Resolver.ResolveAsync(null, Guid.NewGuid(), default)).Values.ShouldBeEmpty();
    }

    [Theory]
    [InlineData("Bearer {{secret:bad-name}}")]
    [InlineData("{{secret:}}")]
    [InlineData("{{secret:9LIVES}}")]
    public async Task a_malformed_reference_fails_without_sending_anything(string value)
    {
        var headers = await Resolver.ResolveAsync(new JsonObject { ["Authorization"] = value }, Guid.NewGuid(), default);

        headers.Failure!.Error!["code"]!.GetValue<string>().ShouldBe("invalid_secret_reference");
        headers.Values.ShouldBeEmpty();
    }
}
