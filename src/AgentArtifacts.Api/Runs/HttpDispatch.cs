using System.Buffers;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using AgentArtifacts.Api.Platform;
using AgentArtifacts.Api.StoredSecrets;

namespace AgentArtifacts.Api.Runs;

/// <summary>
/// Dispatch kind <c>http</c>: POST the input as JSON to the artifact's <c>context.endpoint.url</c> with its headers and an
/// <c>Idempotency-Key</c> (the run's id, the same on every attempt); the response body is the output. Timeouts, a response
/// size limit, header rules and the egress policy apply; a failure says whether another attempt is worth it, and how long
/// the endpoint asked to wait (<c>Retry-After</c>).
/// </summary>
[DispatchKind("http")]
public sealed record HttpDispatch(RunContext Run) : IDispatch;

public static class HttpDispatchHandler
{
    public const string Client = "egress";

    /// <summary>The header that carries the run's id to the tool on every attempt, unless the tool's own headers set it.</summary>
    public const string IdempotencyKeyHeader = "Idempotency-Key";

    public static async Task<RunResult> Handle(HttpDispatch message, IHttpClientFactory clients, IConfiguration configuration, SecretResolver secrets,
        TimeProvider clock, CancellationToken ct)
    {
        var run = message.Run;
        var endpoint = run.Artifact.Context["endpoint"] as JsonObject;
        if (endpoint?["url"]?.GetValue<string>() is not { } url || !Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            return RunResult.Failed("invalid_endpoint", "The artifact's context.endpoint.url is not an http(s) URL.");
        }
        var seconds = run.Artifact.Context["timeoutSeconds"]?.GetValue<int>() ?? run.Declaration["timeoutSeconds"]?.GetValue<int>() ?? 30;
        var maxBytes = DispatchLimits.MaxResponseBytes(configuration);

        // {{secret:NAME}} in header values: the invoking caller's secrets, filled in here so no message or event holds them.
        var headers = await secrets.ResolveAsync(endpoint["headers"] as JsonObject, run.Caller.Id, ct);
        if (headers.Failure is { } unresolved) return unresolved;
        if (HeaderProblem(headers.Values) is { } refused) return refused;
        using var request = new HttpRequestMessage(HttpMethod.Post, uri)
        {
            Content = new StringContent(run.Input?.ToJsonString() ?? "null", Encoding.UTF8, "application/json"),
        };
        foreach (var (name, value) in headers.Values)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }
        // The same key on every attempt of the run, so the tool can recognise a call it has already acted on. A key the tool's
        // author configured is theirs to choose, and is sent instead.
        if (!headers.Values.Any(h => string.Equals(h.Key, IdempotencyKeyHeader, StringComparison.OrdinalIgnoreCase)))
        {
            request.Headers.TryAddWithoutValidation(IdempotencyKeyHeader, run.RunId.ToString());
        }
        // An upstream may echo a header back (or name it in an error): no secret value it was sent survives into the run.
        return headers.Redact(await SendAsync(clients, request, seconds, maxBytes, clock, ct));
    }

    private static readonly SearchValues<char> TokenChars =
        SearchValues.Create("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");
    private static readonly SearchValues<char> FieldValueChars =
        SearchValues.Create("\t !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~");

    /// <summary>
    /// Header names must be HTTP tokens and values visible ASCII, space or tab (RFC 9110 §5). Anything else (a CR or LF above
    /// all) would let a value write headers of its own into the request, and values are often secrets, which can hold
    /// anything: so the check is made on the values as sent, after secrets are filled in, and names the header, never its value.
    /// </summary>
    private static RunResult? HeaderProblem(IEnumerable<KeyValuePair<string, string>> headers)
    {
        foreach (var (name, value) in headers)
        {
            if (name.Length == 0 || name.AsSpan().ContainsAnyExcept(TokenChars))
            {
                return RunResult.Failed("invalid_header_name", $"The header name {JsonSerializer.Serialize(name)} is not an HTTP token; nothing was sent.");
            }
            if (value.AsSpan().ContainsAnyExcept(FieldValueChars))
            {
                return RunResult.Failed("invalid_header_value",
                    $"The value of header '{name}', with its secrets filled in, holds a control character (such as CR or LF) or a non-ASCII character; nothing was sent.");
            }
        }
        return null;
    }

    private static async Task<RunResult> SendAsync(IHttpClientFactory clients, HttpRequestMessage request, int seconds, int maxBytes, TimeProvider clock,
        CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(seconds));
        var client = clients.CreateClient(Client);
        client.Timeout = Timeout.InfiniteTimeSpan;  // the tool's own timeout governs, also beyond HttpClient's default 100 s
        try
        {
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            var status = (int)response.StatusCode;
            // A declared length over the limit is refused unread; a body without one (chunked) is counted as it arrives.
            var (body, tooLarge) = response.Content.Headers.ContentLength > maxBytes ? ("", true) : await ReadLimitedAsync(response.Content, maxBytes, timeout.Token);
            if (tooLarge) return RunResult.Failed("response_too_large", $"The endpoint answered more than {maxBytes} bytes.", status);
            if (!response.IsSuccessStatusCode)
            {
                var excerpt = body.Length > 500 ? body[..500] : body;
                return UpstreamError($"The endpoint answered {status}: {excerpt}", status, response.Headers.RetryAfter, clock.GetUtcNow());
            }
            return new RunResult(ParseOutput(body, response.Content.Headers.ContentType?.MediaType), null);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return RunResult.Failed("upstream_timeout", $"The endpoint did not answer within {seconds} s.");
        }
        catch (HttpRequestException e) when (e.InnerException is EgressRefusedException refused)
        {
            return RunResult.Failed("egress_refused", refused.Message);
        }
        catch (HttpRequestException e) when (e.HttpRequestError == HttpRequestError.ResponseEnded)
        {
            return RunResult.Failed("upstream_disconnected", "The endpoint closed the connection before the headers of its answer ended.");
        }
        catch (HttpRequestException e)
        {
            return RunResult.Failed("upstream_unreachable", $"The endpoint could not be reached: {e.Message}");
        }
        catch (IOException) when (!ct.IsCancellationRequested)
        {
            return RunResult.Failed("upstream_disconnected", "The endpoint closed the connection before the body of its answer ended.");
        }
    }

    /// <summary>A non-2xx answer, with how long it asked to wait (<c>Retry-After</c>) when it did, for the retry policy and the caller.</summary>
    public static RunResult UpstreamError(string detail, int status, RetryConditionHeaderValue? retryAfter, DateTimeOffset now)
    {
        var failed = RunResult.Failed("upstream_error", detail, status);
        if (RetryAfter(retryAfter, now) is not { } wait) return failed;
        failed.Error!["retryAfterSeconds"] = (long)Math.Ceiling(wait.TotalSeconds);
        return failed with { RetryAfter = wait };
    }

    /// <summary>How long a <c>Retry-After</c> asks to wait: its seconds, or the time to its date (zero once that has passed).</summary>
    public static TimeSpan? RetryAfter(RetryConditionHeaderValue? header, DateTimeOffset now) => header switch
    {
        { Delta: { } delta } => delta,
        { Date: { } date } => date > now ? date - now : TimeSpan.Zero,
        _ => null,
    };

    /// <summary>
    /// The body, read until it ends or passes <paramref name="maxBytes"/>. The buffer grows with what arrives: a buffer of the
    /// limit's size, allocated per call, would put a megabyte on the large-object heap for every invocation.
    /// </summary>
    private static async Task<(string Body, bool TooLarge)> ReadLimitedAsync(HttpContent content, int maxBytes, CancellationToken ct)
    {
        await using var stream = await content.ReadAsStreamAsync(ct);
        using var body = new MemoryStream();
        var chunk = ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            while (await stream.ReadAsync(chunk, ct) is var n and > 0)
            {
                if (body.Length + n > maxBytes) return ("", true);
                body.Write(chunk, 0, n);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }
        return (Encoding.UTF8.GetString(body.GetBuffer(), 0, (int)body.Length), false);
    }

    private static JsonNode? ParseOutput(string body, string? mediaType)
    {
        if (mediaType is not null && mediaType.Contains("json", StringComparison.OrdinalIgnoreCase))
        {
            try { return JsonNode.Parse(body); } catch (JsonException) { }
        }
        return JsonValue.Create(body);
    }
}

public sealed class EgressRefusedException(string message) : Exception(message);

/// <summary>
/// The one egress decision: the addresses of a host that outbound connections may reach. The egress client asks it on every
/// connection; routes that take a URL to call later (webhooks) ask it up front, so a refused URL is a 400 and not a
/// failure found hours later.
/// </summary>
public sealed class EgressPolicy(IConfiguration configuration, PlatformSettingsCache settings)
{
    private readonly bool _allowPrivate = configuration.GetValue("Egress:AllowPrivateNetworks", false);

    /// <summary>The host's addresses the policy allows (none: refused). Throws <see cref="SocketException"/> when the name does not resolve.</summary>
    public async Task<IPAddress[]> AllowedAddressesAsync(string host, CancellationToken ct)
    {
        var addresses = await Dns.GetHostAddressesAsync(host, ct);
        // The platform's allowed hosts (admins' exceptions, e.g. an internal tool server) may be private.
        var exempt = _allowPrivate || (await settings.GetAsync(ct)).EgressAllowedHosts.Contains(host, StringComparer.OrdinalIgnoreCase);
        return addresses.Where(a => exempt || !Egress.IsPrivate(a)).ToArray();
    }
}

/// <summary>
/// Outbound connections of invocations: private, loopback and link-local addresses are refused unless
/// <c>Egress:AllowPrivateNetworks</c> is true or the host is one of the platform settings' <c>egressAllowedHosts</c>. Checked on the address actually connected to, so DNS cannot swap it afterwards.
/// </summary>
public static class Egress
{
    public static void AddEgress(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddSingleton<EgressPolicy>();
        services.AddHttpClient(HttpDispatchHandler.Client).ConfigurePrimaryHttpMessageHandler(provider => new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            ConnectCallback = async (context, ct) =>
            {
                var allowed = await provider.GetRequiredService<EgressPolicy>().AllowedAddressesAsync(context.DnsEndPoint.Host, ct);
                if (allowed.Length == 0)
                {
                    throw new EgressRefusedException($"{context.DnsEndPoint.Host} resolves only to private or loopback addresses, which invocations may not reach.");
                }
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    await socket.ConnectAsync(allowed, context.DnsEndPoint.Port, ct);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        });
    }

    public static bool IsPrivate(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        if (IPAddress.IsLoopback(address) || address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any)) return true;
        if (address.AddressFamily == AddressFamily.InterNetworkV6)
        {
            return address.IsIPv6LinkLocal || address.IsIPv6SiteLocal || address.IsIPv6UniqueLocal;
        }
        var b = address.GetAddressBytes();
        return b[0] == 10 || (b[0] == 172 && b[1] >= 16 && b[1] <= 31) || (b[0] == 192 && b[1] == 168)
            || (b[0] == 169 && b[1] == 254) || (b[0] == 100 && b[1] >= 64 && b[1] <= 127) || b[0] == 0;
    }
}
