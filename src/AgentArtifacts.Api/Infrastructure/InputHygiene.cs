using System.Buffers;
using System.Text.Json;
using System.Text.Unicode;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Mvc;

namespace AgentArtifacts.Api.Infrastructure;

/// <summary>
/// Refuses, once and before any endpoint runs, text that PostgreSQL cannot store or that no client means to send:
/// NUL and the other control characters (C0 but tab, line feed and carriage return; DEL; C1) in the path, the query string,
/// url-encoded form fields and every JSON string, and any control character in a JSON member name. JSON bodies are also
/// checked for invalid UTF-8, unpaired surrogates, duplicate member names, syntax and a scalar at the top. The body is read
/// once into memory (it is at most <c>Limits:MaxRequestBodyBytes</c>) and handed on, so the endpoint reads the same bytes.
/// Bodies of other media types (binary content) and endpoints marked <see cref="RawBodyAttribute"/> are not inspected.
/// </summary>
public sealed class InputHygiene(RequestDelegate next)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var endpoint = context.GetEndpoint();
        if (endpoint is null)
        {
            await next(context);
            return;
        }

        var problem = CheckPath(context.Request) ?? CheckQuery(context.Request.Query)
            ?? CheckEnumQuery(context.Request.Query, endpoint.Metadata.GetMetadata<EnumQueryParameters>());
        if (problem is null && endpoint.Metadata.GetMetadata<RawBodyAttribute>() is null && HasBody(context.Request))
        {
            // Wolverine would read a body without a media type as JSON; a client that does not say what it sends is refused.
            if (string.IsNullOrEmpty(context.Request.ContentType) && endpoint.Metadata.GetMetadata<IAcceptsMetadata>() is not null)
            {
                problem = Problems.Create(415, "unsupported_media_type", "The request has a body but no Content-Type; send application/json.");
            }
            else if (IsJson(context.Request.ContentType)) problem = await CheckJsonBodyAsync(context);
            else if (context.Request.HasFormContentType && !context.Request.ContentType!.StartsWith("multipart/", StringComparison.OrdinalIgnoreCase))
            {
                problem = await CheckFormAsync(context);
            }
        }

        if (problem is not null)
        {
            await Problems.Result(problem).ExecuteAsync(context);
            return;
        }
        await next(context);
    }

    private static bool HasBody(HttpRequest request) =>
        request.HttpContext.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpRequestBodyDetectionFeature>()?.CanHaveBody
        ?? request.ContentLength > 0;

    /// <summary>application/json and every application/*+json (merge-patch, problem, …).</summary>
    public static bool IsJson(string? contentType)
    {
        var mediaType = contentType?.Split(';')[0].Trim();
        return mediaType is not null && (mediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)
            || (mediaType.StartsWith("application/", StringComparison.OrdinalIgnoreCase) && mediaType.EndsWith("+json", StringComparison.OrdinalIgnoreCase)));
    }

    private static ProblemDetails? CheckPath(HttpRequest request) =>
        IndexOfControl(request.Path.Value, allowLineBreaks: false) >= 0 ? InvalidCharacter("The path") : null;

    private static ProblemDetails? CheckQuery(IQueryCollection query)
    {
        foreach (var (key, values) in query)
        {
            if (IndexOfControl(key, allowLineBreaks: false) >= 0) return InvalidCharacter("A query parameter name");
            foreach (var value in values)
            {
                if (IndexOfControl(value, allowLineBreaks: true) >= 0) return InvalidCharacter($"The query parameter '{Clip(key)}'");
            }
        }
        return null;
    }

    /// <summary>An enum is named, never numbered: <c>?state=1</c> would otherwise parse as whatever member has that number.</summary>
    private static ProblemDetails? CheckEnumQuery(IQueryCollection query, EnumQueryParameters? enums)
    {
        if (enums is null) return null;
        foreach (var (name, names) in enums.Parameters)
        {
            foreach (var value in query[name])
            {
                if (value is null || names.Contains(value.Trim(), StringComparer.OrdinalIgnoreCase)) continue;
                return Problems.Create(400, "invalid_query_parameter", $"The query parameter '{name}' must be one of: {string.Join(", ", names)}.");
            }
        }
        return null;
    }

    private static async Task<ProblemDetails?> CheckFormAsync(HttpContext context)
    {
        IFormCollection form;
        try
        {
            // The form is cached on the request: the endpoint's own ReadFormAsync does not read the body again.
            form = await context.Request.ReadFormAsync(context.RequestAborted);
        }
        catch (InvalidDataException)
        {
            return WithOAuthError(Problems.Create(400, "invalid_form", "The form body is malformed or exceeds the form limits."));
        }
        foreach (var (key, values) in form)
        {
            if (IndexOfControl(key, allowLineBreaks: false) >= 0) return WithOAuthError(InvalidCharacter("A form field name"));
            foreach (var value in values)
            {
                if (IndexOfControl(value, allowLineBreaks: true) >= 0) return WithOAuthError(InvalidCharacter($"The form field '{Clip(key)}'"));
            }
        }
        return null;
    }

    /// <summary>The only form endpoint is the OAuth token endpoint: its clients read RFC 6749's <c>error</c> member.</summary>
    private static ProblemDetails WithOAuthError(ProblemDetails problem)
    {
        problem.Extensions["error"] = "invalid_request";
        problem.Extensions["error_description"] = problem.Detail;
        return problem;
    }

    private static async Task<ProblemDetails?> CheckJsonBodyAsync(HttpContext context)
    {
        var request = context.Request;
        var buffer = new MemoryStream(request.ContentLength is { } length and <= int.MaxValue ? (int)length : 4096);
        try
        {
            await request.Body.CopyToAsync(buffer, context.RequestAborted);
        }
        catch (BadHttpRequestException tooLarge) when (tooLarge.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return Problems.Create(413, "payload_too_large", "The request body exceeds the allowed size.");
        }
        // The endpoint reads the very bytes that were checked, from memory.
        var body = new ArraySegment<byte>(buffer.GetBuffer(), 0, (int)buffer.Length);
        request.Body = new MemoryStream(body.Array!, 0, body.Count, writable: false);
        context.Response.RegisterForDispose(buffer);
        return body.Count == 0 ? null : CheckJson(body);
    }

    /// <summary>One forward pass of the JSON reader over the body: no document is built.</summary>
    public static ProblemDetails? CheckJson(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = MaxDepth });
        // The member names seen so far in each open object (null for arrays); a set is made only for objects with members.
        var open = new Stack<HashSet<string>?>();
        try
        {
            while (reader.Read())
            {
                switch (reader.TokenType)
                {
                    case JsonTokenType.StartObject:
                    case JsonTokenType.StartArray:
                        open.Push(null);
                        break;
                    case JsonTokenType.EndObject:
                    case JsonTokenType.EndArray:
                        open.Pop();
                        break;
                    case JsonTokenType.PropertyName:
                        var name = reader.GetString()!;
                        if (IndexOfControl(name, allowLineBreaks: false) >= 0) return InvalidCharacter("A member name");
                        var names = open.Pop() ?? new HashSet<string>(StringComparer.Ordinal);
                        if (!names.Add(name))
                        {
                            return Problems.Create(400, "duplicate_field", $"The member '{Clip(name)}' appears twice in one object.");
                        }
                        open.Push(names);
                        break;
                    case JsonTokenType.String:
                        if (CheckString(ref reader) is { } problem) return problem;
                        break;
                    default:
                        if (reader.CurrentDepth == 0) return Problems.Create(400, "invalid_json", "The body must be a JSON object or array.");
                        break;
                }
            }
        }
        catch (JsonException e)
        {
            var detail = e.Message.Contains("depth", StringComparison.OrdinalIgnoreCase)
                ? $"The JSON is nested deeper than {MaxDepth} levels."
                : $"The body is not valid JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1}).";
            return Problems.Create(400, "invalid_json", detail);
        }
        catch (InvalidOperationException)
        {
            return InvalidUnicode();
        }
        return null;
    }

    public const int MaxDepth = 64;

    private static ProblemDetails? CheckString(ref Utf8JsonReader reader)
    {
        if (reader.CurrentDepth == 0) return Problems.Create(400, "invalid_json", "The body must be a JSON object or array.");
        if (!reader.ValueIsEscaped && !reader.HasValueSequence)
        {
            // The common case, without decoding: the reader has already refused raw C0 characters inside a string.
            var raw = reader.ValueSpan;
            if (!Utf8.IsValid(raw)) return InvalidUnicode();
            return raw.IndexOfAny(DelOrC1Lead) >= 0 && HasDelOrC1(raw) ? InvalidCharacter("A string") : null;
        }
        // Escapes (\u0000, \ud800) need decoding, into a pooled buffer; an unpaired surrogate or invalid UTF-8 makes CopyString throw.
        var length = reader.HasValueSequence ? checked((int)reader.ValueSequence.Length) : reader.ValueSpan.Length;
        var buffer = ArrayPool<char>.Shared.Rent(length);
        try
        {
            var text = buffer.AsSpan(0, reader.CopyString(buffer));
            return text.IndexOfAny(ControlsButLineBreaks) >= 0 ? InvalidCharacter("A string") : null;
        }
        finally
        {
            ArrayPool<char>.Shared.Return(buffer);
        }
    }

    private static readonly SearchValues<byte> DelOrC1Lead = SearchValues.Create([0x7F, 0xC2]);

    private static bool HasDelOrC1(ReadOnlySpan<byte> utf8)
    {
        for (var i = 0; i < utf8.Length; i++)
        {
            if (utf8[i] == 0x7F || (utf8[i] == 0xC2 && i + 1 < utf8.Length && utf8[i + 1] is >= 0x80 and <= 0x9F)) return true;
        }
        return false;
    }

    /// <summary>
    /// The first refused character: C0 controls (tab, line feed and carriage return only where line breaks are allowed),
    /// DEL and C1 controls. -1 when there is none.
    /// </summary>
    public static int IndexOfControl(string? text, bool allowLineBreaks)
    {
        if (text is null) return -1;
        var refused = allowLineBreaks ? ControlsButLineBreaks : AllControls;
        return text.AsSpan().IndexOfAny(refused);
    }

    private static readonly SearchValues<char> AllControls = SearchValues.Create(Controls(allowLineBreaks: false));
    private static readonly SearchValues<char> ControlsButLineBreaks = SearchValues.Create(Controls(allowLineBreaks: true));

    private static string Controls(bool allowLineBreaks) => new(Enumerable.Range(0, 0xA0)
        .Where(c => c < 0x20 || c >= 0x7F)
        .Where(c => !allowLineBreaks || c is not ('\t' or '\n' or '\r'))
        .Select(c => (char)c).ToArray());

    private static ProblemDetails InvalidCharacter(string where) => Problems.Create(400, "invalid_character",
        $"{where} contains a control character (such as NUL). Only tab, line feed and carriage return are accepted, and only inside text values.");

    private static ProblemDetails InvalidUnicode() => Problems.Create(400, "invalid_unicode",
        "The body is not valid UTF-8 JSON text: it has an invalid byte sequence or an unpaired surrogate escape (such as \\ud800).");

    private static string Clip(string text) => text.Length <= 40 ? text : text[..40] + "…";
}

/// <summary>Marks an endpoint whose request body is raw content (e.g. binary uploads): <see cref="InputHygiene"/> does not read it.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class RawBodyAttribute : Attribute;

/// <summary>Endpoint metadata: the query parameters of an enum type, with the names each accepts.</summary>
public sealed record EnumQueryParameters(IReadOnlyDictionary<string, string[]> Parameters);

/// <summary>Marks every endpoint that takes enum query parameters with <see cref="EnumQueryParameters"/>, for <see cref="InputHygiene"/>.</summary>
public sealed class EnumQueryPolicy : Wolverine.Http.IHttpPolicy
{
    public void Apply(IReadOnlyList<Wolverine.Http.HttpChain> chains, JasperFx.CodeGeneration.GenerationRules rules, JasperFx.IServiceContainer container)
    {
        foreach (var chain in chains)
        {
            var route = chain.RoutePattern?.Parameters.Select(p => p.Name).ToHashSet(StringComparer.OrdinalIgnoreCase) ?? [];
            var enums = chain.Method.Method.GetParameters()
                .Select(p => (p.Name!, Type: Nullable.GetUnderlyingType(p.ParameterType) ?? p.ParameterType))
                .Where(p => p.Type.IsEnum && !route.Contains(p.Item1))
                .ToDictionary(p => p.Item1, p => Enum.GetNames(p.Type).Select(n => JsonNamingPolicy.SnakeCaseLower.ConvertName(n))
                    .Concat(Enum.GetNames(p.Type)).Distinct(StringComparer.OrdinalIgnoreCase).ToArray());
            if (enums.Count > 0) chain.Metadata.Add(builder => builder.Metadata.Add(new EnumQueryParameters(enums)));
        }
    }
}
