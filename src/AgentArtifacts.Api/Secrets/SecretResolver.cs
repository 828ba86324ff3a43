using System.Security.Cryptography;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using AgentArtifacts.Api.Runs;
using Marten;

namespace AgentArtifacts.Api.StoredSecrets;

/// <summary>
/// Resolves <c>{{secret:NAME}}</c> references in the header values of an outbound call (HTTP tools, MCP servers) to the
/// <b>invoking caller's</b> secrets — never the artifact owner's: someone who may invoke a shared tool cannot spend its
/// owner's credentials. Resolution happens inside the dispatch handler, so plaintext never enters a message, an event or
/// a queue. Usage:
/// <code>
/// var headers = await resolver.ResolveAsync(context["headers"] as JsonObject, run.Caller.Id, ct);
/// if (headers.Failure is { } failed) return failed;          // secret_not_found, secrets_unavailable, …
/// foreach (var (name, value) in headers.Values) request.Headers.TryAddWithoutValidation(name, value);
/// return headers.Redact(result);                              // no used value survives in output or error
/// </code>
/// </summary>
public sealed partial class SecretResolver(IDocumentStore store, SecretVault vault, ILogger<SecretResolver> logger)
{
    public async Task<ResolvedHeaders> ResolveAsync(JsonObject? headers, Guid callerId, CancellationToken ct)
    {
        var raw = (headers ?? []).Select(h => KeyValuePair.Create(h.Key, h.Value?.GetValueKind() == JsonValueKind.String ? h.Value.GetValue<string>() : h.Value?.ToJsonString() ?? ""))
            .ToList();
        var references = raw.SelectMany(h => Reference().Matches(h.Value).Select(m => (Header: h.Key, Name: m.Groups[1].Value))).ToList();
        if (references.Count == 0) return new ResolvedHeaders(raw, new Dictionary<string, string>(), null);

        if (references.FirstOrDefault(r => !ValidName().IsMatch(r.Name)) is { Header: not null } bad)
        {
            return ResolvedHeaders.Failed(RunResult.Failed("invalid_secret_reference",
                $"Header '{bad.Header}' references a secret by an invalid name; use {{{{secret:NAME}}}} with NAME matching {CreateSecret.NamePattern}."));
        }
        if (!vault.IsAvailable)
        {
            return ResolvedHeaders.Failed(RunResult.Failed("secrets_unavailable", "Secrets are unavailable: no encryption key is configured on the service."));
        }

        var names = references.Select(r => r.Name).Distinct().ToList();
        IReadOnlyList<SecretCiphertext> rows;
        await using (var session = store.QuerySession())
        {
            rows = await session.Query<SecretCiphertext>().Where(c => c.OwnerId == callerId && names.Contains(c.Name)).ToListAsync(ct);
        }
        if (names.FirstOrDefault(n => rows.All(r => r.Name != n)) is { } missing)
        {
            return ResolvedHeaders.Failed(RunResult.Failed("secret_not_found",
                $"The secret '{missing}' (header '{references.First(r => r.Name == missing).Header}') is not one of your secrets. Secrets are used only by their owner's invocations."));
        }

        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var row in rows)
        {
            try
            {
                values[row.Name] = vault.Decrypt(row);
            }
            catch (CryptographicException e)
            {
                logger.LogWarning("Secret {SecretId} (key {KeyId}) could not be decrypted: {Reason}", row.Id, row.KeyId, e.GetType().Name);
                return ResolvedHeaders.Failed(RunResult.Failed("secret_unreadable",
                    $"The secret '{row.Name}' cannot be decrypted with the configured keys; create it again."));
            }
        }

        var resolved = raw.Select(h => KeyValuePair.Create(h.Key, Reference().Replace(h.Value, m => values[m.Groups[1].Value]))).ToList();
        if (resolved.FirstOrDefault(h => h.Value.AsSpan().IndexOfAny('\r', '\n', '\0') >= 0) is { Key: not null } broken)
        {
            return ResolvedHeaders.Failed(RunResult.Failed("invalid_header_value",
                $"Header '{broken.Key}' would contain a line break or NUL after its secrets are filled in."));
        }
        return new ResolvedHeaders(resolved, values, null);
    }

    [GeneratedRegex(@"\{\{\s*secret:\s*([^}\s]*)\s*\}\}")]
    private static partial Regex Reference();

    [GeneratedRegex(CreateSecret.NamePattern)]
    private static partial Regex ValidName();
}

/// <summary>
/// Header values with their secrets filled in (<see cref="Values"/>), or why not (<see cref="Failure"/>, a failed
/// <see cref="RunResult"/> naming the secret, never a value). <see cref="Redact(RunResult)"/> removes every value used
/// from what a call produced, so an upstream that echoes a header back cannot leak it into a run.
/// </summary>
public sealed class ResolvedHeaders
{
    private readonly IReadOnlyList<(string Text, string Replacement)> _redactions;

    /// <param name="values">The headers to send.</param>
    /// <param name="used">The secrets filled in, by name: their values are what <see cref="Redact(string)"/> removes.</param>
    /// <param name="failure">Why the headers could not be resolved, or null.</param>
    public ResolvedHeaders(IReadOnlyList<KeyValuePair<string, string>> values, IReadOnlyDictionary<string, string> used, RunResult? failure)
    {
        Values = values;
        Failure = failure;
        UsedSecretNames = used.Keys.ToList();
        // Each value as sent, and as it appears once JSON- or URL-encoded; longest first, so no shorter value splits a longer one.
        _redactions = used.SelectMany(u => Forms(u.Value).Select(f => (Text: f, Replacement: $"[secret:{u.Key}]")))
            .Where(r => r.Text.Length > 0).DistinctBy(r => r.Text).OrderByDescending(r => r.Text.Length).ToList();
    }

    internal static ResolvedHeaders Failed(RunResult failure) => new([], new Dictionary<string, string>(), failure);

    /// <summary>The headers to send, in order, with secret references replaced. Empty when <see cref="Failure"/> is set.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Values { get; }

    /// <summary>Set when a reference cannot be resolved: return it as the run's result.</summary>
    public RunResult? Failure { get; }

    /// <summary>The names of the secrets filled in (for diagnostics; their values are never exposed).</summary>
    public IReadOnlyList<string> UsedSecretNames { get; }

    /// <summary>Replaces every secret value used (and its JSON- and URL-encoded forms) with <c>[secret:NAME]</c>.</summary>
    public string Redact(string text)
    {
        foreach (var (secret, replacement) in _redactions) text = text.Replace(secret, replacement, StringComparison.Ordinal);
        return text;
    }

    /// <summary>The result with every used secret value removed from its output and error, at any depth, keys included.</summary>
    public RunResult Redact(RunResult result) =>
        _redactions.Count == 0 ? result : result with { Output = Redact(result.Output), Error = Redact(result.Error) as JsonObject };

    public JsonNode? Redact(JsonNode? node)
    {
        switch (node)
        {
            case null:
                return null;
            case JsonObject obj:
                var copy = new JsonObject();
                foreach (var (key, value) in obj) copy[Redact(key)] = Redact(value);
                return copy;
            case JsonArray array:
                return new JsonArray(array.Select(Redact).ToArray());
            case JsonValue value when value.TryGetValue<string>(out var text):
                return JsonValue.Create(Redact(text));
            default:
                return node.DeepClone();
        }
    }

    private static IEnumerable<string> Forms(string value)
    {
        yield return value;
        yield return JsonEncodedText.Encode(value).Value;
        yield return JsonEncodedText.Encode(value, JavaScriptEncoder.UnsafeRelaxedJsonEscaping).Value;
        yield return Uri.EscapeDataString(value);
    }
}
